/// What a section that answered OK but has no figures says, in a sentence
/// (its `no_data_message`): a reader told "no data" plainly never takes an
/// empty section for zeros that were counted. `country` is nil for the
/// partnership overview.
enum NoDataMessage {
    static func trade(country: String?, year: UInt32) -> String {
        "No trade figures for \(Self.place(country)) in \(year): no flows are recorded and no figure is published."
    }

    static func logistics(country: String?) -> String {
        "No freight network figures for \(Self.place(country)): no rail cities, links or shipments are held."
    }

    static func training(country: String?) -> String {
        country.map { "No training programs are hosted in \($0)." } ?? "No training programs are held."
    }

    static func hub(country: String?, year: UInt32) -> String {
        country.map { "No live-streaming sessions by creators from \($0) were recorded in \(year)." }
            ?? "No live-streaming sessions were recorded in \(year), and no hub figure is published."
    }

    static func energy(country: String?) -> String {
        "No energy cooperation projects are recorded for \(Self.place(country))."
    }

    private static func place(_ country: String?) -> String { country ?? "the partnership" }
}

import CaravanDomain
import CaravanLogisticsAPI

/// The network shipped as seed data: real cities and terminals where the
/// names are known, hand-entered links between them with approximate
/// figures, and generated ("synthetic") stations, links and category names
/// that bring the held counts up to the published figures.
///
/// Deterministic (a fixed random seed), so every fresh database holds the
/// same network.
public enum SeedNetwork {
    /// Average freight speed used to turn kilometres into transit hours,
    /// including stops: China–Europe trains cover ~10,000 km in 12–18 days.
    static let kilometresPerHour = 40.0
    /// Border formalities and gauge change at a crossing, in hours.
    static let crossingHours = 18.0

    static let approximateNote = "real cities; approximate distance and transit time, not from the published source"
    static let generatedStationNote = "synthetic: generated station to reach the published city counts"
    static let generatedLinkNote = "synthetic: generated link to a generated station"
    static let syntheticCrossingNote =
        "real city; its role as a border crossing is not named in the published source (synthetic)"

    /// A real place: id, name, ISO country; `crossing` names a border
    /// station, `namedCrossing` one the published source names.
    struct Place {
        var id: String
        var name: String
        var country: String
        var crossing = false
        var namedCrossing = false
    }

    static let chinese: [Place] = [
        Place(id: "xian", name: "Xi'an", country: "CN"),
        Place(id: "chongqing", name: "Chongqing", country: "CN"),
        Place(id: "chengdu", name: "Chengdu", country: "CN"),
        Place(id: "yiwu", name: "Yiwu", country: "CN"),
        Place(id: "zhengzhou", name: "Zhengzhou", country: "CN"),
        Place(id: "wuhan", name: "Wuhan", country: "CN"),
        Place(id: "urumqi", name: "Urumqi", country: "CN"),
        Place(id: "horgos", name: "Horgos", country: "CN", crossing: true, namedCrossing: true),
        Place(id: "alashankou", name: "Alashankou", country: "CN", crossing: true),
        Place(id: "erenhot", name: "Erenhot", country: "CN", crossing: true),
        Place(id: "lanzhou", name: "Lanzhou", country: "CN"),
        Place(id: "changsha", name: "Changsha", country: "CN"),
        Place(id: "hefei", name: "Hefei", country: "CN"),
        Place(id: "suzhou", name: "Suzhou", country: "CN"),
        Place(id: "guangzhou", name: "Guangzhou", country: "CN"),
        Place(id: "xiamen", name: "Xiamen", country: "CN"),
        Place(id: "jinan", name: "Jinan", country: "CN"),
        Place(id: "qingdao", name: "Qingdao", country: "CN"),
        Place(id: "tianjin", name: "Tianjin", country: "CN"),
        Place(id: "shenyang", name: "Shenyang", country: "CN"),
        Place(id: "harbin", name: "Harbin", country: "CN"),
        Place(id: "kashgar", name: "Kashgar", country: "CN"),
        Place(id: "kunming", name: "Kunming", country: "CN"),
        Place(id: "nanning", name: "Nanning", country: "CN"),
    ]

    static let asian: [Place] = [
        Place(id: "khorgos", name: "Khorgos (Altynkol)", country: "KZ", crossing: true, namedCrossing: true),
        Place(id: "dostyk", name: "Dostyk", country: "KZ", crossing: true),
        Place(id: "almaty", name: "Almaty", country: "KZ"),
        Place(id: "astana", name: "Astana", country: "KZ"),
        Place(id: "aktogay", name: "Aktogay", country: "KZ"),
        Place(id: "karaganda", name: "Karaganda", country: "KZ"),
        Place(id: "shymkent", name: "Shymkent", country: "KZ"),
        Place(id: "kyzylorda", name: "Kyzylorda", country: "KZ"),
        Place(id: "aktobe", name: "Aktobe", country: "KZ"),
        Place(id: "petropavl", name: "Petropavl", country: "KZ"),
        Place(id: "tashkent", name: "Tashkent", country: "UZ"),
        Place(id: "samarkand", name: "Samarkand", country: "UZ"),
        Place(id: "navoi", name: "Navoi", country: "UZ"),
        Place(id: "bukhara", name: "Bukhara", country: "UZ"),
        Place(id: "termez", name: "Termez", country: "UZ"),
        Place(id: "andijan", name: "Andijan", country: "UZ"),
        Place(id: "bishkek", name: "Bishkek", country: "KG"),
        Place(id: "osh", name: "Osh", country: "KG"),
        Place(id: "dushanbe", name: "Dushanbe", country: "TJ"),
        Place(id: "khujand", name: "Khujand", country: "TJ"),
        Place(id: "ashgabat", name: "Ashgabat", country: "TM"),
        Place(id: "turkmenabat", name: "Turkmenabat", country: "TM"),
        Place(id: "mary", name: "Mary", country: "TM"),
        Place(id: "turkmenbashi", name: "Turkmenbashi", country: "TM"),
        Place(id: "zamyn-uud", name: "Zamyn-Uud", country: "MN", crossing: true),
        Place(id: "ulaanbaatar", name: "Ulaanbaatar", country: "MN"),
        Place(id: "hanoi", name: "Hanoi", country: "VN"),
        Place(id: "vientiane", name: "Vientiane", country: "LA"),
        Place(id: "bangkok", name: "Bangkok", country: "TH"),
        Place(id: "mashhad", name: "Mashhad", country: "IR"),
        Place(id: "tehran", name: "Tehran", country: "IR"),
        Place(id: "mazar-i-sharif", name: "Mazar-i-Sharif", country: "AF"),
    ]

    static let european: [Place] = [
        Place(id: "yekaterinburg", name: "Yekaterinburg", country: "RU"),
        Place(id: "kazan", name: "Kazan", country: "RU"),
        Place(id: "samara", name: "Samara", country: "RU"),
        Place(id: "orenburg", name: "Orenburg", country: "RU"),
        Place(id: "moscow", name: "Moscow", country: "RU"),
        Place(id: "smolensk", name: "Smolensk", country: "RU"),
        Place(id: "minsk", name: "Minsk", country: "BY"),
        Place(id: "brest", name: "Brest", country: "BY", crossing: true),
        Place(id: "malaszewicze", name: "Małaszewicze", country: "PL", crossing: true),
        Place(id: "warsaw", name: "Warsaw", country: "PL"),
        Place(id: "lodz", name: "Łódź", country: "PL"),
        Place(id: "poznan", name: "Poznań", country: "PL"),
        Place(id: "berlin", name: "Berlin", country: "DE"),
        Place(id: "hamburg", name: "Hamburg", country: "DE"),
        Place(id: "duisburg", name: "Duisburg", country: "DE"),
        Place(id: "nuremberg", name: "Nuremberg", country: "DE"),
        Place(id: "munich", name: "Munich", country: "DE"),
        Place(id: "rotterdam", name: "Rotterdam", country: "NL"),
        Place(id: "lyon", name: "Lyon", country: "FR"),
        Place(id: "madrid", name: "Madrid", country: "ES"),
        Place(id: "milan", name: "Milan", country: "IT"),
        Place(id: "prague", name: "Prague", country: "CZ"),
        Place(id: "vienna", name: "Vienna", country: "AT"),
        Place(id: "budapest", name: "Budapest", country: "HU"),
        Place(id: "vilnius", name: "Vilnius", country: "LT"),
        Place(id: "kaunas", name: "Kaunas", country: "LT"),
    ]

    /// Hand-entered links: ends, approximate rail km, crossing station ("" none).
    static let backbone: [(String, String, Double, String)] = [
        // China
        ("xian", "zhengzhou", 480, ""), ("zhengzhou", "wuhan", 540, ""), ("wuhan", "chongqing", 950, ""),
        ("chongqing", "chengdu", 310, ""), ("chengdu", "xian", 700, ""), ("xian", "lanzhou", 680, ""),
        ("lanzhou", "urumqi", 1900, ""), ("urumqi", "horgos", 670, ""), ("urumqi", "alashankou", 480, ""),
        ("yiwu", "wuhan", 900, ""), ("yiwu", "suzhou", 330, ""), ("suzhou", "hefei", 400, ""),
        ("hefei", "zhengzhou", 600, ""), ("hefei", "wuhan", 380, ""), ("changsha", "wuhan", 360, ""),
        ("guangzhou", "changsha", 700, ""), ("xiamen", "yiwu", 880, ""), ("jinan", "zhengzhou", 660, ""),
        ("qingdao", "jinan", 390, ""), ("tianjin", "jinan", 360, ""), ("shenyang", "tianjin", 700, ""),
        ("harbin", "shenyang", 550, ""), ("kashgar", "urumqi", 1590, ""), ("chengdu", "kunming", 1100, ""),
        ("kunming", "nanning", 830, ""), ("nanning", "guangzhou", 600, ""), ("tianjin", "erenhot", 900, ""),
        // China ↔ neighbours
        ("horgos", "khorgos", 10, "horgos"), ("alashankou", "dostyk", 12, "alashankou"),
        ("erenhot", "zamyn-uud", 10, "erenhot"), ("kunming", "vientiane", 1035, ""), ("nanning", "hanoi", 400, ""),
        // Central Asia
        ("khorgos", "almaty", 370, ""), ("dostyk", "aktogay", 300, ""), ("aktogay", "almaty", 590, ""),
        ("aktogay", "karaganda", 720, ""), ("karaganda", "astana", 220, ""), ("astana", "petropavl", 520, ""),
        ("almaty", "bishkek", 400, ""), ("almaty", "shymkent", 700, ""), ("shymkent", "tashkent", 120, ""),
        ("shymkent", "kyzylorda", 450, ""), ("kyzylorda", "aktobe", 1100, ""), ("tashkent", "samarkand", 300, ""),
        ("samarkand", "navoi", 170, ""), ("navoi", "bukhara", 100, ""), ("bukhara", "turkmenabat", 120, ""),
        ("turkmenabat", "mary", 230, ""), ("mary", "ashgabat", 350, ""), ("ashgabat", "turkmenbashi", 550, ""),
        ("tashkent", "khujand", 160, ""), ("khujand", "dushanbe", 600, ""), ("samarkand", "termez", 400, ""),
        ("termez", "dushanbe", 250, ""), ("termez", "mazar-i-sharif", 75, ""), ("andijan", "tashkent", 350, ""),
        ("andijan", "osh", 60, ""), ("mary", "mashhad", 320, ""), ("mashhad", "tehran", 900, ""),
        ("zamyn-uud", "ulaanbaatar", 700, ""), ("vientiane", "bangkok", 640, ""),
        // To Europe through Russia and Belarus
        ("petropavl", "yekaterinburg", 650, ""), ("aktobe", "orenburg", 280, ""), ("orenburg", "samara", 420, ""),
        ("samara", "moscow", 1050, ""), ("yekaterinburg", "kazan", 900, ""), ("kazan", "moscow", 800, ""),
        ("moscow", "smolensk", 400, ""), ("smolensk", "minsk", 330, ""), ("minsk", "brest", 350, ""),
        ("brest", "malaszewicze", 10, "brest"), ("malaszewicze", "warsaw", 190, ""), ("warsaw", "lodz", 130, ""),
        ("warsaw", "poznan", 300, ""), ("lodz", "poznan", 210, ""), ("poznan", "berlin", 270, ""),
        ("berlin", "hamburg", 290, ""), ("berlin", "duisburg", 560, ""), ("hamburg", "duisburg", 370, ""),
        ("duisburg", "rotterdam", 230, ""), ("duisburg", "lyon", 900, ""), ("lyon", "madrid", 1200, ""),
        ("lyon", "milan", 440, ""), ("berlin", "prague", 350, ""), ("prague", "vienna", 330, ""),
        ("vienna", "budapest", 250, ""), ("prague", "nuremberg", 300, ""), ("nuremberg", "duisburg", 500, ""),
        ("munich", "nuremberg", 170, ""), ("munich", "milan", 550, ""), ("vienna", "munich", 400, ""),
        ("minsk", "vilnius", 190, ""), ("vilnius", "kaunas", 100, ""), ("lodz", "prague", 450, ""),
    ]

    /// Generated stations per country, chosen so the held counts reach the
    /// published ones: 128 Chinese cities, more than 100 Asian cities in 11
    /// countries, more than 229 European destinations.
    static let generatedChinese = 128 - 24
    static let generatedAsian: [(String, Int)] = [
        ("KZ", 15), ("UZ", 10), ("KG", 6), ("TJ", 6), ("TM", 6), ("MN", 6), ("VN", 6), ("LA", 4), ("TH", 6),
        ("IR", 5), ("AF", 3),
    ]
    static let generatedEuropean: [(String, Int)] = [
        ("RU", 30), ("BY", 8), ("PL", 30), ("DE", 40), ("NL", 12), ("FR", 20), ("ES", 12), ("IT", 18), ("CZ", 10),
        ("AT", 8), ("HU", 10), ("LT", 8),
    ]

    /// The 53 cargo categories: the ones the published source names, then
    /// generated names for the rest (flagged synthetic). The source names
    /// them in two places, and the note says which: auto parts, electronics
    /// and industrial machinery as the freight trains' central (high-value)
    /// exports; the other three in its trade section, not as freight-train
    /// cargo.
    static let namedCategories: [(id: String, name: String, highValue: Bool, note: String)] = [
        ("auto-parts", "Auto parts", true, Self.freightTrainExportNote),
        ("electronics", "Electronics", true, Self.freightTrainExportNote),
        ("industrial-machinery", "Industrial machinery", true, Self.freightTrainExportNote),
        ("agricultural-products", "Agricultural products", false, Self.tradeGrowthAreaNote),
        ("renewable-energy-equipment", "Renewable-energy equipment", false, Self.tradeGrowthAreaNote),
        (
            "wind-turbine-generators", "Wind turbine generators", false,
            "named in the published source as trade, not as freight-train cargo: Uzbekistan is the region's "
                + "largest destination for Chinese wind turbine generators"
        ),
    ]
    static let freightTrainExportNote =
        "named in the published source for the freight trains: a high-value export central to them"
    static let tradeGrowthAreaNote =
        "named in the published source as a growth area of China–Central Asia trade, not as freight-train cargo"
    static let generatedCategoryNames: [String] = [
        "Textiles and garments", "Footwear", "Furniture", "Household appliances", "Toys", "Sporting goods",
        "Chemicals", "Plastics", "Rubber products", "Steel products", "Aluminium products", "Copper products",
        "Timber", "Paper and pulp", "Glassware", "Ceramics", "Building materials", "Medical supplies",
        "Pharmaceuticals", "Cosmetics", "Processed food", "Beverages", "Frozen food", "Fruit and vegetables",
        "Grain", "Cotton", "Wool", "Leather goods", "Optical instruments", "Telecommunications equipment",
        "Computers", "Solar panels", "Lithium batteries", "Tyres", "Agricultural machinery",
        "Construction machinery", "Rail equipment", "Tools and hardware", "Cables and wire", "Lighting",
        "Stationery", "E-commerce parcels", "Postal mail", "Fertilisers", "Mineral ores", "Paints and coatings",
        "Musical instruments",
    ]

    /// The whole seed, as the store will hold it (version 1).
    public static func build() -> NetworkData {
        var random = SplitMix64(seed: 0xCA2A_5A11_2024)
        var cities: [RailCity] = []
        var region: [String: Region] = [:]
        for code in CountryCode.centralAsia { region[code] = .centralAsia }

        func add(_ place: Place, _ placeRegion: Region) {
            let syntheticRole = place.crossing && !place.namedCrossing
            cities.append(
                RailCity(
                    id: place.id, name: place.name, country: place.country, region: placeRegion,
                    isBorderCrossing: place.crossing, synthetic: syntheticRole,
                    note: syntheticRole
                        ? Self.syntheticCrossingNote
                        : place.namedCrossing
                            ? "real city; Horgos/Khorgos border crossing (China–Kazakhstan), named in the published source"
                            : "real city"))
        }
        for place in Self.chinese { add(place, .china) }
        for place in Self.asian { add(place, region[place.country] ?? .otherAsia) }
        for place in Self.european { add(place, .europe) }

        var links: [StoredLink] = []
        func link(_ a: String, _ b: String, km: Double, crossing: String, synthetic: Bool, note: String) {
            let seq = Int64(links.count + 1)
            var hours = max(1, (km / Self.kilometresPerHour * 2).rounded() / 2)
            if !crossing.isEmpty { hours += Self.crossingHours }
            links.append(
                StoredLink(
                    seq: seq,
                    link: RailLink(
                        id: "lnk-\(seq)", fromCityId: a, toCityId: b, transitHours: hours, distanceKm: km,
                        crossingCityId: crossing, active: true, synthetic: synthetic, note: note)))
        }
        let syntheticCities = Set(cities.filter(\.synthetic).map(\.id))
        for (a, b, km, crossing) in Self.backbone {
            let synthetic = !crossing.isEmpty && syntheticCities.contains(crossing)
            link(
                a, b, km: km, crossing: crossing, synthetic: synthetic,
                note: synthetic ? "crossing link; \(Self.syntheticCrossingNote)" : Self.approximateNote)
        }

        // Generated stations hang off a real (non-crossing) city of their
        // country; half also link to a station of the same cluster. A
        // cluster touches the network at its anchor only, so generated
        // stations never become shortcuts between real cities, and no
        // crossing is invented.
        func generate(country: String, count: Int, region: Region) {
            let anchors = cities.filter { $0.country == country && !$0.isBorderCrossing && !$0.synthetic }.map(\.id)
            precondition(!anchors.isEmpty, "no real city in \(country) to anchor generated stations")
            var clusters: [String: [String]] = [:]
            for number in 1...count {
                let padded = (number < 10 ? "00" : number < 100 ? "0" : "") + String(number)
                let id = "syn-\(country.lowercased())-\(padded)"
                cities.append(
                    RailCity(
                        id: id, name: "Synthetic station \(country)-\(padded)", country: country, region: region,
                        isBorderCrossing: false, synthetic: true, note: Self.generatedStationNote))
                let anchor = anchors.randomElement(using: &random)!
                link(
                    anchor, id, km: Double(Int.random(in: 60...450, using: &random)), crossing: "",
                    synthetic: true, note: Self.generatedLinkNote)
                if let neighbour = clusters[anchor]?.randomElement(using: &random), Bool.random(using: &random) {
                    link(
                        neighbour, id, km: Double(Int.random(in: 40...200, using: &random)), crossing: "",
                        synthetic: true, note: Self.generatedLinkNote)
                }
                clusters[anchor, default: []].append(id)
            }
        }
        generate(country: "CN", count: Self.generatedChinese, region: .china)
        for (country, count) in Self.generatedAsian {
            generate(country: country, count: count, region: region[country] ?? .otherAsia)
        }
        for (country, count) in Self.generatedEuropean {
            generate(country: country, count: count, region: .europe)
        }

        var categories = Self.namedCategories.map { named in
            CargoCategory(
                id: named.id, name: named.name, highValue: named.highValue, synthetic: false, note: named.note)
        }
        for name in Self.generatedCategoryNames {
            let id = name.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).joined(separator: "-")
            categories.append(
                CargoCategory(
                    id: id, name: name, highValue: false, synthetic: true,
                    note: "synthetic: the published source counts 53 categories but names only a few"))
        }
        precondition(categories.count == Int(PublishedFigures.cargoCategories), "53 cargo categories")
        return NetworkData(version: 1, cities: cities, links: links, categories: categories)
    }
}

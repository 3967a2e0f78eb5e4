import CaravanTradeAPI

/// The columns of `energy_project` as both stores read them, in one order,
/// and the one query they run (placeholders numbered, as each store spells them).
extension EnergyProject {
    static let storedColumns =
        "id, name, country, kind, status, capacity_mw, chinese_partner, description, source, synthetic"

    /// One row of ``storedColumns``, as the databases hand it over.
    typealias StoredColumns = (
        id: String, name: String, country: String, kind: Int64, status: Int64, capacityMW: Double?,
        chinesePartner: String, description: String, source: String, synthetic: Bool
    )

    /// Every project, or one country's (`$1`), by country, then name.
    /// Compared as "C" on PostgreSQL: SQLite compares text bytewise.
    static func storedQuery(byCountry: Bool, collate: String = "") -> String {
        """
        SELECT \(Self.storedColumns) FROM energy_project\(byCountry ? " WHERE country = $1" : "")
        ORDER BY country\(collate), name\(collate), position
        """
    }

    /// The project a stored row describes.
    static func stored(_ row: StoredColumns) -> EnergyProject {
        EnergyProject(
            id: row.id, name: row.name, country: row.country, kind: EnergyProjectKind(rawValue: Int32(row.kind)),
            status: EnergyProjectStatus(rawValue: Int32(row.status)), capacityMw: row.capacityMW,
            chinesePartner: row.chinesePartner, description: row.description, source: row.source,
            synthetic: row.synthetic)
    }
}

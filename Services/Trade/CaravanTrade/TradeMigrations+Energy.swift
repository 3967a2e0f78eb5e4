import CaravanSQLite
import CaravanTradeAPI

extension TradeMigrations {
    /// The energy cooperation projects (``EnergySeed``): reported facts,
    /// kept in their own table beside the trade figures. `position` keeps
    /// the seed's order for ties; a NULL capacity is one not published.
    static let energyV3 = SQLiteMigration("trade-energy-v3") { db in
        try db.executeScript(
            """
            CREATE TABLE energy_project (
                id TEXT PRIMARY KEY,
                position INTEGER NOT NULL,
                name TEXT NOT NULL,
                country TEXT NOT NULL,
                kind INTEGER NOT NULL CHECK (kind > 0),
                status INTEGER NOT NULL CHECK (status > 0),
                capacity_mw REAL CHECK (capacity_mw > 0),
                chinese_partner TEXT NOT NULL,
                description TEXT NOT NULL,
                source TEXT NOT NULL CHECK (source <> ''),
                synthetic INTEGER NOT NULL CHECK (synthetic IN (0, 1))
            );
            CREATE INDEX energy_project_by_country ON energy_project(country, name);
            """)
        for (position, project) in EnergySeed.projects.enumerated() {
            try db.execute(
                """
                INSERT OR IGNORE INTO energy_project (id, position, name, country, kind, status, capacity_mw,
                    chinese_partner, description, source, synthetic)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                project.id, position, project.name, project.country, project.kind.rawValue, project.status.rawValue,
                project.capacityMw, project.chinesePartner, project.description, project.source, project.synthetic)
        }
    }

    /// Names the publication as the source of the figures seeded before it
    /// was named (``TradeSeed/sourceOfSeedV1``), so that stored answers name it too.
    static let publishedSourceV4 = SQLiteMigration("trade-published-source-v4") { db in
        for table in TradeSeed.tablesWithSource {
            try db.execute(
                "UPDATE \(table) SET source = ? WHERE source = ?", TradeSeed.source, TradeSeed.sourceOfSeedV1)
        }
    }
}

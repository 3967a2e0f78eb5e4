import CaravanPostgres
import CaravanTradeAPI
import PostgresNIO

extension TradePostgresMigrations {
    /// As ``TradeMigrations/energyV3`` on SQLite: the energy cooperation
    /// projects of ``EnergySeed``.
    static let energyV3 = PostgresMigration("trade-energy-v3") { connection, logger in
        try await connection.query(
            """
            CREATE TABLE energy_project (
                id TEXT PRIMARY KEY,
                position BIGINT NOT NULL,
                name TEXT NOT NULL,
                country TEXT NOT NULL,
                kind BIGINT NOT NULL CHECK (kind > 0),
                status BIGINT NOT NULL CHECK (status > 0),
                capacity_mw DOUBLE PRECISION CHECK (capacity_mw > 0),
                chinese_partner TEXT NOT NULL,
                description TEXT NOT NULL,
                source TEXT NOT NULL CHECK (source <> ''),
                synthetic BOOLEAN NOT NULL
            )
            """, logger: logger)
        // "C": the order SQLite's bytewise text comparison gives.
        try await connection.query(
            #"CREATE INDEX energy_project_by_country ON energy_project (country COLLATE "C", name COLLATE "C")"#,
            logger: logger)
        for (position, project) in EnergySeed.projects.enumerated() {
            try await connection.query(
                """
                INSERT INTO energy_project (id, position, name, country, kind, status, capacity_mw,
                    chinese_partner, description, source, synthetic)
                VALUES (\(project.id), \(Int64(position)), \(project.name), \(project.country),
                    \(Int64(project.kind.rawValue)), \(Int64(project.status.rawValue)), \(project.capacityMw),
                    \(project.chinesePartner), \(project.description), \(project.source), \(project.synthetic))
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    /// As ``TradeMigrations/publishedSourceV4`` on SQLite.
    static let publishedSourceV4 = PostgresMigration("trade-published-source-v4") { connection, logger in
        for table in TradeSeed.tablesWithSource {
            try await connection.query(
                "UPDATE \(unescaped: table) SET source = \(TradeSeed.source) WHERE source = \(TradeSeed.sourceOfSeedV1)",
                logger: logger)
        }
    }
}

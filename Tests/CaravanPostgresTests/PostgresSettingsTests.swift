import CaravanPostgres
import PostgresNIO
import Testing

@Suite("PostgreSQL settings from a URL")
struct PostgresSettingsTests {
    @Test("A full URL: user, percent-decoded password, host, port, database, TLS")
    func fullURL() throws {
        let settings = try PostgresSettings(
            url:
                "postgres://trade%40svc:p%2Fss@db.internal:6432/caravan_trade?sslmode=verify-full&sslrootcert=/etc/ca.pem"
        )
        #expect(settings.username == "trade@svc")
        #expect(settings.password == "p/ss")
        #expect(settings.host == "db.internal")
        #expect(settings.port == 6432)
        #expect(settings.database == "caravan_trade")
        #expect(settings.tls == .verifyFull)
        #expect(settings.rootCertificatePath == "/etc/ca.pem")
        #expect(!settings.redactedURL.contains("p%2Fss"))
        #expect(settings.redactedURL.contains("***"))
    }

    @Test("Defaults: port 5432, database named after the user, no TLS")
    func defaults() throws {
        let settings = try PostgresSettings(url: "postgresql://caravan@127.0.0.1")
        #expect(settings.port == 5432)
        #expect(settings.database == "caravan")
        #expect(settings.password == nil)
        #expect(settings.tls == .disable)
        #expect(settings.redactedURL == "postgresql://caravan@127.0.0.1")
    }

    @Test("A Unix socket directory in ?host=")
    func unixSocket() throws {
        let settings = try PostgresSettings(url: "postgres://caravan@/trade?host=/run/postgresql")
        #expect(settings.unixSocketPath == "/run/postgresql/.s.PGSQL.5432")
        #expect(settings.database == "trade")
    }

    @Test(
        "Refused, with the reason and never the password",
        arguments: [
            ("mysql://u:secret@h/db", "postgres://"),
            ("postgres://u:secret@h/db?sslmode=prefer", "sslmode"),
            ("postgres://u:secret@h/db?sslmod=disable", "unknown parameter 'sslmod'"),
            ("postgres://u:secret@/db", "names no host"),
        ])
    func refused(url: String, reason: String) {
        do {
            _ = try PostgresSettings(url: url)
            Issue.record("\(url) was accepted")
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
            #expect(!error.description.contains("secret"), "\(error.description)")
        }
    }

    @Test("Pool limit and timeouts reach the client's configuration")
    func clientConfiguration() throws {
        var settings = try PostgresSettings(url: "postgres://u:p@127.0.0.1:5433/db")
        settings.maximumConnections = 3
        settings.callTimeout = .milliseconds(1500)
        let configuration = try settings.clientConfiguration()
        #expect(configuration.options.maximumConnections == 3)
        #expect(configuration.options.connectTimeout == .milliseconds(1500))
        let parameters = Dictionary(uniqueKeysWithValues: configuration.options.additionalStartupParameters)
        #expect(parameters["statement_timeout"] == "1500")
        #expect(parameters["lock_timeout"] == "1500")
    }
}

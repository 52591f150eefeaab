import CRMServer
import Testing

@Suite("Server configuration")
struct ServerConfigurationTests {
    /// A file system of one configuration file.
    func files(_ contents: [String: String]) -> (String) throws -> String? {
        { path in contents[path] }
    }

    @Test("defaults: 127.0.0.1:7443, ./crmd-data, metrics on 9464, info, development certificates")
    func defaults() throws {
        let (configuration, file) = try ServerConfiguration.resolve(flags: [:], environment: [:], readFile: files([:]))
        #expect(file == nil)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 7443)
        #expect(configuration.dataDirectory == "crmd-data")
        #expect(configuration.metricsPort == 9464)
        #expect(configuration.logLevel == "info")
        #expect(configuration.certificateFile == nil)
        #expect(!configuration.requireClientCertificate)
    }

    @Test("precedence: flag > environment > file > default, key by key")
    func precedence() throws {
        let file = """
            # crmd.conf
            host = 10.0.0.1
            port = 7000
            metrics-port = 9000
            log-level = debug   # comment after a value
            require-client-cert = true
            cert = "/file/server.pem"
            key = /file/server.key
            ca = /file/ca.pem
            """
        let environment = ["CRMD_PORT": "7100", "CRMD_LOG_LEVEL": "warning", "CRMD_CERT": "/env/server.pem", "CRMD_UNRELATED": "x"]
        let flags: [ConfigurationKey: String] = [.port: "7200", .requireClientCert: "false"]
        let (configuration, used) = try ServerConfiguration.resolve(
            flags: flags, environment: environment, readFile: files(["crmd-data/crmd.conf": file]))
        #expect(used == "crmd-data/crmd.conf")
        #expect(configuration.port == 7200)  // flag over environment and file
        #expect(configuration.logLevel == "warning")  // environment over file
        #expect(configuration.certificateFile == "/env/server.pem")  // environment over file
        #expect(configuration.host == "10.0.0.1")  // file over default
        #expect(configuration.metricsPort == 9000)
        #expect(configuration.privateKeyFile == "/file/server.key")
        #expect(configuration.clientCAFile == "/file/ca.pem")
        #expect(!configuration.requireClientCertificate)  // flag false over file true
    }

    @Test("the file is --config, else $CRMD_CONFIG, else crmd.conf in the data directory named by flag or environment")
    func whichFile() throws {
        let fs = files([
            "/a.conf": "port = 1", "/b.conf": "port = 2", "/env-data/crmd.conf": "port = 3", "/flag-data/crmd.conf": "port = 4",
        ])
        #expect(try ServerConfiguration.resolve(flags: [:], configFile: "/a.conf", environment: ["CRMD_CONFIG": "/b.conf"], readFile: fs)
            .configuration.port == 1)
        #expect(try ServerConfiguration.resolve(flags: [:], environment: ["CRMD_CONFIG": "/b.conf"], readFile: fs).configuration.port == 2)
        #expect(try ServerConfiguration.resolve(flags: [:], environment: ["CRMD_DATA_DIR": "/env-data"], readFile: fs).configuration.port == 3)
        let flagged = try ServerConfiguration.resolve(
            flags: [.dataDir: "/flag-data"], environment: ["CRMD_DATA_DIR": "/env-data"], readFile: fs)
        #expect(flagged.configuration.port == 4)
        #expect(flagged.configuration.dataDirectory == "/flag-data")
        #expect(throws: ConfigurationError.self) {
            _ = try ServerConfiguration.resolve(flags: [:], configFile: "/missing.conf", environment: [:], readFile: fs)
        }
    }

    @Test("bad values name the setting and where it came from")
    func errors() throws {
        func message(_ flags: [ConfigurationKey: String] = [:], env: [String: String] = [:], file: String? = nil) -> String {
            do {
                _ = try ServerConfiguration.resolve(
                    flags: flags, environment: env, readFile: { path in path == "crmd-data/crmd.conf" ? file : nil })
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message([.port: "70000"]).contains("--port"))
        #expect(message(env: ["CRMD_METRICS_PORT": "x"]).contains("CRMD_METRICS_PORT"))
        #expect(message(file: "log-level = loud").contains("log-level in crmd-data/crmd.conf"))
        #expect(message(file: "colour = blue").contains("crmd-data/crmd.conf:1: unknown key \"colour\""))
        #expect(message(file: "\nport 7443").contains(":2:"))
        #expect(message([.cert: "/x.pem"]).contains("key"))
        #expect(message([.requireClientCert: "maybe"]).contains("true or false"))
        #expect(try ServerConfiguration.resolve(flags: [.metricsPort: "off"], environment: [:], readFile: { _ in nil })
            .configuration.metricsPort == nil)
    }

    @Test("environment variable names")
    func environmentNames() {
        #expect(ConfigurationKey.allCases.map(\.environmentVariable) == [
            "CRMD_HOST", "CRMD_PORT", "CRMD_DATA_DIR", "CRMD_DATABASE", "CRMD_STANDBY_LOST", "CRMD_CERT", "CRMD_KEY", "CRMD_CA", "CRMD_REQUIRE_CLIENT_CERT",
            "CRMD_METRICS_PORT", "CRMD_LOG_LEVEL",
        ])
    }

    @Test("a PostgreSQL database comes from --database, CRMD_DATABASE or the file's database key; a bad URL names its source")
    func database() throws {
        func resolve(_ flags: [ConfigurationKey: String], _ environment: [String: String] = [:], file: String? = nil) throws -> ServerConfiguration {
            try ServerConfiguration.resolve(flags: flags, environment: environment, readFile: { _ in file }).configuration
        }
        #expect(try resolve([:]).database == nil, "the embedded SQLite store by default")
        let flagged = try #require(try resolve([.database: "postgres://crm@db.example:6543/crm"], ["PGPASSWORD": "s3cret"]).database)
        #expect(flagged.host == "db.example" && flagged.port == 6543 && flagged.password == "s3cret")
        #expect(!flagged.description.contains("s3cret"))
        #expect(try resolve([:], ["CRMD_DATABASE": "postgres://crm@env.example/crm"]).database?.host == "env.example")
        #expect(try resolve([:], file: "database = postgres://crm@file.example/crm\n").database?.host == "file.example")
        #expect(try resolve([.database: "postgres://crm@flag.example/crm"], ["CRMD_DATABASE": "postgres://crm@env.example/crm"]).database?.host == "flag.example")
        #expect {
            _ = try resolve([:], ["CRMD_DATABASE": "mysql://crm@db/crm"])
        } throws: { error in
            "\(error)".hasPrefix("CRMD_DATABASE: the database URL mysql://crm@db/crm does not start with postgres://")
        }
    }

    @Test("standby-lost: refuse-writes unless accept-writes is asked; a bad value, or one without a database, names its source")
    func standbyLost() throws {
        func resolve(_ flags: [ConfigurationKey: String], _ environment: [String: String] = [:], file: String? = nil) throws -> ServerConfiguration {
            try ServerConfiguration.resolve(flags: flags, environment: environment, readFile: { _ in file }).configuration
        }
        let sites = "postgres://crm@a:5432,b:5432/crm"
        #expect(try resolve([.database: sites]).database?.onStandbyLoss == .refuseWrites)
        #expect(try resolve([.database: sites], ["CRMD_STANDBY_LOST": "accept-writes"]).database?.onStandbyLoss == .acceptWrites)
        #expect(try resolve([.database: sites, .standbyLost: "refuse-writes"], file: "standby-lost = accept-writes\n").database?.onStandbyLoss == .refuseWrites)
        #expect {
            _ = try resolve([.database: sites, .standbyLost: "wait"])
        } throws: { error in
            "\(error)" == "--standby-lost is \"wait\"; write refuse-writes or accept-writes"
        }
        #expect {
            _ = try resolve([:], file: "standby-lost = accept-writes\n")
        } throws: { error in
            "\(error)".contains("there is no database")
        }
    }
}

import ArgumentParser
import CRMServer
import CRMStore
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `crmd serve`: runs the server until SIGINT or SIGTERM, then shuts down gracefully and exits 0.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the server (TLS; the embedded SQLite store in the data directory, or PostgreSQL with --database).",
        discussion: """
            Settings come from flags, then environment variables, then the configuration file, then defaults.
            Without --cert and --key, development certificates are made in <data-dir>/certs on first run.
            With --database postgres://USER@HOST:PORT/DATABASE several crmd nodes serve one database as one server; \
            crmd stops at start when the URL is wrong, the server cannot be reached, refuses the user or password, or \
            holds a newer schema, and reconnects by itself when the database is lost while serving (calls meanwhile \
            fail with UNAVAILABLE, to be retried). With postgres://USER@HOST1:PORT1,HOST2:PORT2/DATABASE (a primary and \
            its standby) crmd writes to the one that accepts writes and, after a failover, finds the promoted one by \
            itself; until it has, calls fail with UNAVAILABLE.
            """
    )

    @Option(help: "The address to listen on (env CRMD_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "The TCP port to listen on, 0 for any free one (env CRMD_PORT; default 7443).")
    var port: String?

    @OptionGroup var data: DataOptions

    @Option(help: "The server certificate chain, PEM (env CRMD_CERT; default: development certificates).")
    var cert: String?

    @Option(help: "The server certificate's private key, PEM (env CRMD_KEY).")
    var key: String?

    @Option(help: "The CA bundle that signs adapters' client certificates, PEM (env CRMD_CA; default with development certificates: their CA).")
    var ca: String?

    @Flag(inversion: .prefixedNo, help: "Whether every client must present a client certificate (env CRMD_REQUIRE_CLIENT_CERT; default no).")
    var requireClientCert: Bool?

    @Option(help: "The loopback port of the Prometheus endpoint GET /metrics, 0 for any free one, or off (env CRMD_METRICS_PORT; default 9464).")
    var metricsPort: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env CRMD_LOG_LEVEL; default info).")
    var logLevel: String?

    func run() async throws {
        var flags: [ConfigurationKey: String] = [:]
        flags[.host] = host
        flags[.port] = port
        flags[.cert] = cert
        flags[.key] = key
        flags[.ca] = ca
        flags[.requireClientCert] = requireClientCert.map { $0 ? "true" : "false" }
        flags[.metricsPort] = metricsPort
        flags[.logLevel] = logLevel
        let (configuration, configFile) = try data.resolve(extra: flags)
        FreedMemory.limitArenas()

        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "crmd")

        // Held until the process ends: `crmd restore` never replaces the database under a running server.
        guard let directoryLock = try DataDirectoryLock(configuration.store, exclusive: false) else {
            throw CommandFailure("\(configuration.store.directory) is being restored (crmd restore holds it); start crmd when the restore has finished")
        }
        defer { withExtendedLifetime(directoryLock) {} }
        print(CRMDVersion.text)
        if let configFile { print("config:   \(configFile)") }
        let app = CRMServerApp(configuration: configuration, logger: logger, openStore: StoreOpening.open, onServing: Self.announce) { store in
            try ServedServices.make(store: store)
        }
        var services: [any Service] = []
        if let metricsPort = configuration.metricsPort {
            services.append(MetricsEndpoint(port: metricsPort, registry: registry, logger: logger))
        }
        services.append(app)
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }

    /// Says where the server listens, with what certificates, and how to make a token.
    @Sendable private static func announce(_ app: CRMServerApp) {
        let configuration = app.configuration
        print("listen:   \(configuration.host):\(app.port ?? configuration.port) (TLS, ALPN crm/1)")
        print("database: \(app.store?.whereabouts ?? configuration.store.databasePath)")
        if let tls = app.tls {
            if let development = tls.development {
                print("TLS:      development certificates in \(development.directory) (for development only)")
                print("          CA for clients: \(development.caFile)")
                print("          adapter client certificate: \(development.adapterCertificateFile) and \(development.adapterKeyFile)")
            } else {
                print("TLS:      \(configuration.certificateFile ?? "")")
            }
            print("mTLS:     client certificates \(tls.configuration.clientCertificateMode.rawValue)")
        }
        let database = configuration.database.map { " --database '\($0)'" } ?? ""
        print("tokens:   crmd token create --role agent --team sales --name NAME --data-dir \(configuration.dataDirectory)\(database)")
        print("Stop with Ctrl-C or SIGTERM.")
        fflush(nil)
    }
}

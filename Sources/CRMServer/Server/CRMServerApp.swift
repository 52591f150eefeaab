public import CRMRPC
public import CRMStore
public import CRMTLS
import CRMWire
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// What the server serves, made once the store is open: the RPC services and the background
/// sweeps that go with them.
public struct ServerComponents: Sendable {
    /// The services (health and reflection are added by the RPC server itself).
    public var services: [any RPCService]
    /// Periodic background jobs, run by a ``Sweeper`` while the server runs.
    public var sweeps: [SweepTask]
    /// The hub the services' watch streams listen to; shutdown finishes it, which ends those streams, so a
    /// graceful stop does not wait for the grace period on open watches.
    public var events: EventHub?

    public init(services: [any RPCService], sweeps: [SweepTask] = [], events: EventHub? = nil) {
        self.services = services
        self.sweeps = sweeps
        self.events = events
    }
}

/// The CRM server assembled: the store (SQLite in the data directory, or what `openStore` opens), TLS (configured or
/// development certificates), the RPC server with the interceptors [metrics, logging,
/// authentication], and the sweeper of the services' periodic jobs.
///
/// It is a ServiceLifecycle `Service`, as `crmd serve` runs it: in a `ServiceGroup`, ``run()`` starts it, serves
/// until the group's graceful shutdown, then shuts it down, with the ``Sweeper`` running beside the server as a
/// sibling service. Embedded (tests, tools) it is started and stopped by hand:
///
/// ```swift
/// let app = CRMServerApp(configuration: configuration, logger: logger) { store in
///     let services = CRMServices(store: store, events: EventHub(), now: unixMillisecondsNow)
///     return ServerComponents(services: services.all)
/// }
/// try await ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// // or: try await app.start(); ...; await app.shutdown()
/// ```
public final class CRMServerApp: Service, Sendable {
    /// Makes the services once the store is open.
    public typealias MakeComponents = @Sendable (any Store) throws -> ServerComponents
    /// Opens the store the configuration names, logging a long migration's progress.
    public typealias OpenStore = @Sendable (ServerConfiguration, @escaping MigrationProgress) async throws -> any ServableStore

    private struct Running {
        let store: any ServableStore
        let server: RPCServer
        let background: Task<Void, Never>
        let tls: ResolvedTLS
        let events: EventHub?
    }

    private enum State {
        case idle
        case starting
        case running(Running)
        case stopped
    }

    /// The configuration the server was made with.
    public let configuration: ServerConfiguration
    private let logger: Logger
    private let makeComponents: MakeComponents
    private let openStore: OpenStore
    private let onServing: @Sendable (CRMServerApp) -> Void
    private let state = Mutex(State.idle)

    /// A server whose services `makeComponents` makes from the store `openStore` opens (by default the embedded
    /// SQLite store in the data directory). It logs through `logger`, at `configuration.logLevel` or above, and calls
    /// `onServing` once it listens (to say where, for example).
    public init(
        configuration: ServerConfiguration, logger: Logger = Logger(label: "crmd"),
        openStore: @escaping OpenStore = CRMServerApp.openEmbeddedStore,
        onServing: @escaping @Sendable (CRMServerApp) -> Void = { _ in }, makeComponents: @escaping MakeComponents
    ) {
        self.configuration = configuration
        self.openStore = openStore
        var logger = logger
        if let level = Logger.Level(rawValue: configuration.logLevel), level > logger.logLevel { logger.logLevel = level }
        self.logger = logger
        self.onServing = onServing
        self.makeComponents = makeComponents
    }

    /// A server of `makeServices`' services, without background sweeps.
    public convenience init(
        configuration: ServerConfiguration, logger: Logger = Logger(label: "crmd"),
        makeServices: @escaping @Sendable (any Store) -> [any RPCService]
    ) {
        self.init(configuration: configuration, logger: logger) { store in ServerComponents(services: makeServices(store)) }
    }

    /// Opens the embedded SQLite store in the configuration's data directory. A configured PostgreSQL database is
    /// opened by the `openStore` `crmd` passes (CRMServer does not link the PostgreSQL driver).
    ///
    /// - Throws: ``StoreError`` when the file cannot be opened, ``ServerStartError`` when a database is configured.
    @Sendable public static func openEmbeddedStore(
        _ configuration: ServerConfiguration, progress: @escaping MigrationProgress
    ) async throws -> any ServableStore {
        if let database = configuration.database {
            throw ServerStartError(
                "this server opens only the embedded SQLite store, and \(database) is configured; run crmd serve for PostgreSQL")
        }
        return try SQLiteStore(location: configuration.store, progress: progress)
    }

    /// Logs a long migration's progress (the read model's backfill of an existing store) at every tenth of it.
    static func migrationLog(_ logger: Logger) -> MigrationProgress {
        let logged = Mutex(-1)
        return { migration, done, total in
            let tenth = total == 0 ? 10 : done * 10 / total
            guard logged.withLock({ last in defer { last = max(last, tenth) }; return tenth > last }) else { return }
            logger.notice(
                "migrating the store", metadata: ["step": "\(migration)", "done": "\(done)", "total": "\(total)", "percent": "\(tenth * 10)"])
        }
    }

    /// The TLS files in use, and whether they are development ones.
    public struct ResolvedTLS: Sendable, Hashable {
        /// The server's TLS configuration.
        public var configuration: TLSConfiguration
        /// The development set, when no certificate was configured.
        public var development: DevelopmentCertificates?
        /// Whether the development set was made by this start.
        public var developmentCreated: Bool
    }

    /// Runs the server as a service: starts it, serves until the service group's graceful shutdown (or until the
    /// task is cancelled), then shuts it down. The sweeps run as a sibling service that stops first.
    ///
    /// - Throws: what ``start()`` throws.
    public func run() async throws {
        let sweeps = try await start(sweepingInBackground: false)
        // A service group shuts its services down in reverse order: the sweeper before the server and its store.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: Serving(app: self)), .init(service: Sweeper(tasks: sweeps, logger: logger))],
                logger: logger))
        do {
            try await group.run()
        } catch {
            await shutdown()
            throw error
        }
    }

    /// The server's part of ``run()``: serves until the graceful shutdown, then shuts the server down.
    private struct Serving: Service {
        let app: CRMServerApp

        func run() async throws {
            try? await gracefulShutdown()
            await app.shutdown()
        }
    }

    /// Opens the store, makes the development certificates if needed, binds and starts serving; the sweeps run in
    /// the background until ``shutdown(gracePeriod:)``.
    ///
    /// - Throws: ``StoreError`` when the store cannot be opened, ``DevelopmentCertificateError`` or
    ///   `TLSError` for certificates, or the bind error.
    public func start() async throws {
        _ = try await start(sweepingInBackground: true)
    }

    /// Starts serving; returns the services' sweeps, which run in the background when `sweepingInBackground`.
    private func start(sweepingInBackground: Bool) async throws -> [SweepTask] {
        try state.withLock { state in
            guard case .idle = state else {
                throw RPCStatus(code: .failedPrecondition, message: "the server was already started; make a new CRMServerApp")
            }
            state = .starting
        }
        do {
            let tls = try Self.resolveTLS(configuration)
            if let development = tls.development {
                logger.notice(
                    tls.developmentCreated ? "made development certificates" : "using development certificates",
                    metadata: [
                        "ca": "\(development.caFile)", "adapter_certificate": "\(development.adapterCertificateFile)",
                        "note": "for development only: configure --cert, --key and --ca for anything else",
                    ])
            }
            let store = try await openStore(configuration, Self.migrationLog(logger))
            let components: ServerComponents
            let server: RPCServer
            do {
                components = try makeComponents(store)
                let tokens = TokenRegistry(store: store)
                var access = logger
                access[metadataKey: "component"] = "access"
                server = try RPCServer(
                    configuration: .init(host: configuration.host, port: configuration.port, tls: tls.configuration),
                    services: components.services,
                    interceptors: [
                        CallMetricsInterceptor(), CallLoggingInterceptor(logger: logger),
                        AuthenticationInterceptor(tokens: tokens, logger: access), StoreFailureInterceptor(),
                    ])
                do {
                    try await server.start()
                } catch {
                    throw ServerStartError(
                        "cannot listen on \(configuration.host):\(configuration.port) (\(error)); choose another port (--port, CRMD_PORT) or stop the process that holds it")
                }
            } catch {
                try? await store.close()
                throw error
            }
            // Run as a service, the sweeper is a sibling of the server (run()); embedded, it runs in the background.
            let sweeper: Sweeper? = sweepingInBackground ? Sweeper(tasks: components.sweeps, logger: logger) : nil
            let background = Task { [logger] in
                await withDiscardingTaskGroup { group in
                    if let sweeper { group.addTask { await sweeper.run() } }
                    group.addTask { await Self.sampleGauges(server: server, store: store) }
                    group.addTask { await FreedMemory.releasePeriodically() }
                }
                logger.debug("background tasks stopped")
            }
            let running = Running(store: store, server: server, background: background, tls: tls, events: components.events)
            let stillWanted = state.withLock { state -> Bool in
                guard case .starting = state else { return false }
                state = .running(running)
                return true
            }
            guard stillWanted else {
                // shutdown() was called while starting: undo the start.
                await components.events?.finishAll()
                await server.shutdown(gracePeriod: .zero)
                background.cancel()
                await background.value
                try? await store.close()
                throw ServerStartError("the server was shut down while it was starting")
            }
            logger.notice(
                "serving",
                metadata: [
                    "address": "\(configuration.host):\(server.localAddress?.port ?? configuration.port)", "database": "\(store.whereabouts)",
                    "client_certificates": "\(tls.configuration.clientCertificateMode.rawValue)",
                ])
            onServing(self)
            return components.sweeps
        } catch {
            state.withLock { $0 = .stopped }
            throw error
        }
    }

    /// The port the server listens on (the one chosen when configured with 0); nil unless running.
    public var port: Int? {
        state.withLock { state in
            if case .running(let running) = state { return running.server.localAddress?.port }
            return nil
        }
    }

    /// The open store; nil unless running.
    public var store: (any ServableStore)? {
        state.withLock { state in
            if case .running(let running) = state { return running.store }
            return nil
        }
    }

    /// The TLS in use; nil unless running.
    public var tls: ResolvedTLS? {
        state.withLock { state in
            if case .running(let running) = state { return running.tls }
            return nil
        }
    }

    /// The RPC server's health service; nil unless running.
    public var health: HealthService? {
        state.withLock { state in
            if case .running(let running) = state { return running.server.health }
            return nil
        }
    }

    /// Shuts down gracefully: stops accepting connections, sends GOAWAY, lets calls in flight
    /// finish for the grace period (`configuration.shutdownGracePeriod` unless given), stops the
    /// sweeper, and closes the store after its last commit. Watch streams (``ServerComponents/events``)
    /// end at once, as if complete, rather than running until the grace period is over. Safe to call
    /// more than once.
    public func shutdown(gracePeriod: Duration? = nil) async {
        let running = state.withLock { state -> Running? in
            defer { state = .stopped }
            if case .running(let running) = state { return running }
            return nil
        }
        guard let running else { return }
        logger.notice("shutting down: no new connections; calls in flight may finish")
        await running.events?.finishAll()
        await running.server.shutdown(gracePeriod: gracePeriod ?? configuration.shutdownGracePeriod)
        running.background.cancel()
        await running.background.value
        do {
            try await running.store.close()
        } catch {
            logger.error("closing the store failed", metadata: ["error": "\(error)"])
        }
        logger.notice("stopped")
    }

    /// The TLS configuration `configuration` asks for: the configured files, or the development
    /// set in `<data>/certs` (made on first use). Clients may present a certificate signed by
    /// the CA (adapters); `requireClientCertificate` makes it mandatory.
    public static func resolveTLS(_ configuration: ServerConfiguration) throws -> ResolvedTLS {
        if let certificate = configuration.certificateFile, let key = configuration.privateKeyFile {
            let mode: TLSConfiguration.ClientCertificateMode =
                configuration.clientCAFile == nil ? .none : (configuration.requireClientCertificate ? .required : .optional)
            let tls = TLSConfiguration.server(
                certificateChainFile: certificate, privateKeyFile: key, clientCertificateMode: mode,
                trustRootsFile: configuration.clientCAFile)
            return ResolvedTLS(configuration: tls, development: nil, developmentCreated: false)
        }
        let (development, created) = try DevelopmentCertificates.ensure(in: configuration.developmentCertificatesDirectory)
        let tls = TLSConfiguration.server(
            certificateChainFile: development.serverCertificateFile, privateKeyFile: development.serverKeyFile,
            clientCertificateMode: configuration.requireClientCertificate ? .required : .optional,
            trustRootsFile: configuration.clientCAFile ?? development.caFile)
        return ResolvedTLS(configuration: tls, development: development, developmentCreated: created)
    }

    /// Every second: the open connections (`crm_rpc_open_connections`) and the store's group
    /// commits (`crm_store_commits_total`, `crm_store_commit_writes_total`, and the average
    /// batch of each second in `crm_store_commit_batch_size`).
    private static func sampleGauges(server: RPCServer, store: any ServableStore) async {
        let connections = Gauge(label: "crm_rpc_open_connections")
        let commits = Counter(label: "crm_store_commits_total")
        let writes = Counter(label: "crm_store_commit_writes_total")
        let batch = Recorder(label: "crm_store_commit_batch_size", aggregate: true)
        var last = store.writerStatistics
        while !Task.isCancelled {
            connections.record(server.connectionCount)
            let now = store.writerStatistics
            let newCommits = now.transactions - last.transactions
            let newWrites = now.writes - last.writes
            if newCommits > 0 {
                commits.increment(by: newCommits)
                writes.increment(by: newWrites)
                batch.record(Double(newWrites) / Double(newCommits))
            }
            last = now
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
        }
    }
}

/// The server could not start, saying what to change.
public struct ServerStartError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

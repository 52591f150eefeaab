import CRMPostgresStore
import CRMServer
import CRMStore
import Foundation
import Logging

/// Opens the store a configuration names: the PostgreSQL database of `--database` when one is set, else the embedded
/// SQLite store in the data directory.
enum StoreOpening {
    /// `crmd serve`'s opener (``CRMServerApp/OpenStore``).
    @Sendable static func open(_ configuration: ServerConfiguration, progress: @escaping MigrationProgress) async throws -> any ServableStore {
        guard let database = configuration.database else {
            return try SQLiteStore(location: configuration.store, progress: progress)
        }
        return try await PostgresStore.open(database, logger: Logger(label: "crm.store.postgres"))
    }

    /// Opens the store for a command that is not the server, with a progress line for a long migration; a store that
    /// cannot be opened is a ``CommandFailure`` with the store's own words (what failed, and what to do).
    static func openForCommand(_ configuration: ServerConfiguration, progress: TerminalProgress) async throws -> any ServableStore {
        do {
            let store = try await open(configuration, progress: progress.report)
            progress.finish()
            return store
        } catch let error as StoreError {
            progress.finish()
            throw CommandFailure(error.description)
        }
    }

    /// Opens the PostgreSQL store for a command that is not the server; a database that cannot be opened is a
    /// ``CommandFailure`` saying what failed and what to do.
    static func openPostgres(_ database: PostgresLocation) async throws -> PostgresStore {
        do {
            return try await PostgresStore.open(database, logger: Logger(label: "crm.store.postgres"))
        } catch let error as StoreError {
            throw CommandFailure(error.description)
        }
    }

    /// Refuses a command that works on the SQLite file when PostgreSQL is configured.
    static func requireEmbedded(_ configuration: ServerConfiguration, command: String, instead: String) throws {
        if let database = configuration.database {
            throw CommandFailure("crmd \(command) works on the embedded SQLite store, and \(database) is configured; \(instead)")
        }
    }
}

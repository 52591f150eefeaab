import ArgumentParser
import CRMStore
import Foundation

/// `crmd backup --to FILE`: a consistent copy of the database while crmd serves.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to a new file, consistently, while crmd keeps serving.",
        discussion: """
            The copy is one snapshot: every write committed before it began, none after. It is written beside FILE and \
            renamed into place once synced, so FILE is a whole database or absent; an existing FILE is never overwritten. \
            Restore it with `crmd restore --from FILE`.
            Example: crmd backup --to /backups/crm-2026-12-05.sqlite
            """
    )

    @Option(help: ArgumentHelp("The new file to write.", valueName: "file"))
    var to: String

    @OptionGroup var data: DataOptions

    func run() async throws {
        let configuration = try data.resolve().configuration
        try StoreOpening.requireEmbedded(
            configuration, command: "backup",
            instead: "back PostgreSQL up with its own tools (pg_dump, or pg_basebackup with WAL archiving)")
        guard FileManager.default.fileExists(atPath: configuration.store.databasePath) else {
            throw CommandFailure("\(configuration.store.databasePath) does not exist; give the --data-dir crmd serves")
        }
        let progress = TerminalProgress()
        let store = try SQLiteStore(location: configuration.store, progress: progress.report)
        let summary: BackupSummary
        do {
            summary = try store.backup(to: to, progress: progress.report)
            progress.finish()
            try await store.close()
        } catch let error as StoreError {
            progress.finish()
            try? await store.close()
            throw CommandFailure(error.description)
        }
        print("backed up \(summary.customers) customers (\(summary.facts) facts, \(summary.bytes) bytes) to \(summary.path)")
    }
}

/// `crmd restore --from FILE`: puts a backup in place of the data directory's database.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the data directory's database with a backup (crmd must be stopped).",
        discussion: """
            The backup is checked first (SQLite's integrity check, a crm store, no newer than this crmd). The database \
            it replaces is kept beside it as crm.sqlite.replaced-<time>, never deleted. crmd must not be serving the \
            directory: the restore refuses to start while it does, and crmd refuses to start while a restore runs.
            Example: crmd restore --from /backups/crm-2026-12-05.sqlite --data-dir ./crmd-data
            """
    )

    @Option(help: ArgumentHelp("The backup file `crmd backup --to` wrote.", valueName: "file"))
    var from: String

    @OptionGroup var data: DataOptions

    func run() async throws {
        let configuration = try data.resolve().configuration
        try StoreOpening.requireEmbedded(
            configuration, command: "restore", instead: "restore PostgreSQL with its own tools (pg_restore, or a base backup and its WAL)")
        do {
            guard let lock = try DataDirectoryLock(configuration.store, exclusive: true) else {
                throw CommandFailure("crmd serves \(configuration.store.directory); stop it (SIGTERM), then restore")
            }
            // Held through the migration below, so no crmd starts on a half-restored directory.
            defer { withExtendedLifetime(lock) {} }
            let (restored, aside) = try StoreRestore.restore(from: from, into: configuration.store)
            // Opening migrates a backup written by an earlier version, before any server reads it.
            let progress = TerminalProgress()
            let store = try SQLiteStore(location: configuration.store, progress: progress.report)
            progress.finish()
            try await store.close()
            print("restored \(restored.customers) customers (\(restored.facts) facts) from \(from) into \(restored.path)")
            if let aside { print("the database it replaced is kept as \(aside)") }
        } catch let error as StoreError {
            throw CommandFailure(error.description)
        }
    }
}

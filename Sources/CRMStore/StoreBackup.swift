public import Foundation
import GRDB

/// What a backup holds: its file, its size, and the facts and customers in it.
public struct BackupSummary: Sendable, Hashable {
    /// The database file.
    public let path: String
    /// Its size in bytes.
    public let bytes: Int64
    /// Facts stored.
    public let facts: Int
    /// Customers known.
    public let customers: Int
}

extension SQLiteStore {
    /// Copies the whole database to a new file at `path` while the store keeps serving: SQLite's online backup,
    /// reading one snapshot (the database as the last commit before the copy began left it; later commits are not in
    /// it), into `path.partial`, which is synced and then renamed to `path`, so `path` is always a whole database or
    /// absent. The copy is one self-contained file (rollback journal, not WAL). `progress` hears of pages copied.
    ///
    /// - Throws: ``StoreError/invalidArgument(_:)`` when `path` exists (a backup never overwrites a file),
    ///   ``StoreError/diskFull(reason:)`` when the copy does not fit, ``StoreError/writeFailed(reason:)`` otherwise.
    public func backup(to path: String, progress: MigrationProgress? = nil) throws -> BackupSummary {
        let files = FileManager.default
        guard !files.fileExists(atPath: path) else {
            throw StoreError.invalidArgument("\(path) exists already; a backup never overwrites a file: name a new one")
        }
        let partial = path + ".partial"
        try? files.removeItem(atPath: partial)
        do {
            let destination = try DatabaseQueue(path: partial)
            try pool.backup(to: destination, pagesPerStep: 1024) { step in
                progress?("backup", step.completedPageCount, step.totalPageCount)
            }
            try destination.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            let counts = try StoreFile.counts(destination)
            try destination.close()
            try StoreFile.sync(partial)
            guard rename(partial, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            try StoreFile.sync((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
            return BackupSummary(path: path, bytes: StoreFile.size(path), facts: counts.facts, customers: counts.customers)
        } catch {
            try? files.removeItem(atPath: partial)
            if StoreFile.isDiskFull(error) { throw StoreError.diskFull(reason: "no room for the backup at \(path): \(error)") }
            throw StoreError.writeFailed(reason: "backing up to \(path): \(error)")
        }
    }
}

/// Restores a data directory from a backup made by ``SQLiteStore/backup(to:progress:)``.
public enum StoreRestore {
    /// Checks that `path` is a whole crm database this build can open: SQLite's integrity check passes, it holds the
    /// store's tables, and it was written by no newer version than this one.
    public static func check(backup path: String) throws(StoreError) -> BackupSummary {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .invalidArgument("\(path) does not exist; give the file `crmd backup --to` wrote")
        }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let database = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? database.close() }
            let problems = try database.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
            guard problems == ["ok"] else {
                throw StoreError.invalidArgument("\(path) is damaged (SQLite's integrity check: \(problems.prefix(3).joined(separator: "; "))); restore another backup")
            }
            let known = Set(Migrations.migrator(progress: nil).migrations)
            let applied = try database.read { db -> Set<String>? in
                guard try db.tableExists("grdb_migrations"), try db.tableExists("facts") else { return nil }
                return Set(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
            }
            guard let applied else { throw StoreError.invalidArgument("\(path) is an SQLite database but not a crm store; give a file `crmd backup` wrote") }
            let newer = applied.subtracting(known)
            guard newer.isEmpty else {
                throw StoreError.invalidArgument("\(path) was written by a newer crmd (it has \(newer.sorted().joined(separator: ", "))); restore it with that version or later")
            }
            let counts = try StoreFile.counts(database)
            return BackupSummary(path: path, bytes: StoreFile.size(path), facts: counts.facts, customers: counts.customers)
        } catch let error as StoreError {
            throw error
        } catch {
            throw .invalidArgument("\(path) cannot be read as a database (\(error)); give the file `crmd backup --to` wrote")
        }
    }

    /// Replaces the database of `location` with a copy of the checked backup at `path`. The replaced database is not
    /// deleted: its files are renamed `crm.sqlite.replaced-<time>` (with their `-wal` and `-shm`), and their name is
    /// returned. The caller holds the data directory's exclusive lock (``DataDirectoryLock``), so no crmd serves it.
    public static func restore(from path: String, into location: StoreLocation, now: Date = Date()) throws(StoreError) -> (restored: BackupSummary, keptAside: String?) {
        let backup = try check(backup: path)
        let files = FileManager.default
        let target = location.databasePath
        let partial = target + ".partial"
        var keptAside: String?
        do {
            try files.createDirectory(atPath: location.directory, withIntermediateDirectories: true)
            try? files.removeItem(atPath: partial)
            try files.copyItem(atPath: path, toPath: partial)
            try StoreFile.sync(partial)
            if files.fileExists(atPath: target) {
                let formatter = DateFormatter()
                formatter.locale = Locale(identifier: "en_US_POSIX")
                formatter.timeZone = TimeZone(identifier: "UTC")
                formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
                let aside = target + ".replaced-" + formatter.string(from: now)
                // The WAL and shared-memory files go with their database, so the replaced one stays whole and openable.
                for suffix in ["", "-wal", "-shm"] where files.fileExists(atPath: target + suffix) {
                    try files.moveItem(atPath: target + suffix, toPath: aside + suffix)
                }
                keptAside = aside
            }
            guard rename(partial, target) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            try StoreFile.sync(location.directory)
        } catch {
            try? files.removeItem(atPath: partial)
            if StoreFile.isDiskFull(error) { throw .diskFull(reason: "no room to restore \(path) into \(location.directory): \(error)") }
            throw .writeFailed(reason: "restoring \(path) into \(location.directory): \(error)")
        }
        return (BackupSummary(path: target, bytes: backup.bytes, facts: backup.facts, customers: backup.customers), keptAside)
    }
}

/// An advisory lock on a data directory (`crmd.lock` inside it, `flock(2)`): `crmd serve` holds it shared for as long
/// as it runs, and `crmd restore` needs it exclusive, so a database is never replaced under a running server.
/// The kernel drops the lock when the process ends, however it ends.
public final class DataDirectoryLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock of `location`'s directory without waiting; nil when another process holds it in a way that
    /// excludes this one (anyone, for `exclusive`; an exclusive holder otherwise).
    public init?(_ location: StoreLocation, exclusive: Bool) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(atPath: location.directory, withIntermediateDirectories: true)
        } catch {
            throw .openFailed(path: location.directory, reason: "cannot create the directory (\(error.localizedDescription))")
        }
        let path = (location.directory as NSString).appendingPathComponent("crmd.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .openFailed(path: path, reason: String(cString: strerror(errno))) }
        guard flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        descriptor = fd
    }

    deinit { close(descriptor) }
}

/// File operations backup and restore share.
enum StoreFile {
    static func counts(_ database: some DatabaseReader) throws -> (facts: Int, customers: Int) {
        try database.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM facts") ?? 0, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customers") ?? 0)
        }
    }

    /// Forces a file's or a directory's contents to the disk.
    static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    static func size(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    static func isDiskFull(_ error: any Error) -> Bool {
        if let posix = error as? POSIXError, posix.code == .ENOSPC { return true }
        if let sqlite = error as? DatabaseError, sqlite.resultCode == .SQLITE_FULL { return true }
        let cocoa = error as NSError
        return (cocoa.userInfo[NSUnderlyingErrorKey] as? NSError)?.code == Int(ENOSPC) || cocoa.code == NSFileWriteOutOfSpaceError
    }
}

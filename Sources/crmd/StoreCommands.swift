import ArgumentParser
import CRMPostgresStore
import CRMStore
import Foundation

/// `crmd store …`: moving a store between databases.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Move a store between databases.",
        subcommands: [StoreCopyCommand.self]
    )
}

/// `crmd store copy --from sqlite:PATH --to postgres://…`: the embedded store into PostgreSQL.
struct StoreCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy the embedded SQLite store into an empty PostgreSQL database, then verify every customer.",
        discussion: """
            Every table is copied as it is, in chunks in key order (PostgreSQL's COPY): the facts with their \
            positions, the derived tables and read models, the audit trail, the access tokens and the sent notices; \
            a progress line shows each step. Stop crmd on the data directory first: the copy holds its lock, so \
            crmd cannot serve it meanwhile; start no crmd on the new database either until the copy has finished. A \
            copy that stopped (Ctrl-C, a lost connection) resumes sending rows where it stopped when run again with \
            the same --from and --to (making the indexes and the verification start again); until it finishes, crmd \
            refuses to serve the database.
            Afterwards every customer is verified: the row counts of every table, each customer's read model byte \
            for byte, and each read model against the domain's projection of the copied facts. Then serve the copy \
            with `crmd serve --database URL`.
            The target must be a new database (createdb); the password comes from PGPASSWORD or the password file \
            (PGPASSFILE, default ~/.pgpass).
            Exit status: 0 when the copy is complete and verified; 1 when it cannot copy (the reason is printed: the \
            target not empty, the source changed, the database unreachable, …) or verification found differences \
            (each is printed; the copy stays unfinished).
            Example: crmd store copy --from sqlite:./crmd-data --to postgres://crm@db1:5432/crm
            """
    )

    @Option(help: ArgumentHelp("The SQLite store: sqlite:DATA-DIR (or sqlite:FILE for its crm.sqlite).", valueName: "sqlite:path"))
    var from: String

    @Option(
        help: ArgumentHelp(
            "The PostgreSQL database: postgres://USER@HOST:PORT/DATABASE, with ?sslmode=disable, require or verify-full&sslrootcert=CA-FILE.",
            valueName: "url"))
    var to: String

    func validate() throws {
        _ = try sourceLocation()
        _ = try targetLocation()
    }

    func run() async throws {
        let (location, given) = try sourceLocation()
        // One name for one file, whichever way it is written, so that a resumed copy knows its source.
        let file = URL(fileURLWithPath: given).standardizedFileURL.resolvingSymlinksInPath().path
        guard FileManager.default.fileExists(atPath: file) else {
            throw CommandFailure("there is no SQLite store at \(file): give the data directory crmd serves (sqlite:DATA-DIR)")
        }
        guard let lock = try DataDirectoryLock(location, exclusive: true) else {
            throw CommandFailure("crmd is serving \(location.directory); stop it first, so that the store does not change while it is copied")
        }
        let progress = TerminalProgress()
        let report: StoreCopy.Report
        do {
            report = try await StoreCopy(source: file, target: try targetLocation()).run(progress: progress.isShown ? progress.report : nil)
            progress.finish()
        } catch let error as StoreError {
            progress.finish()
            throw CommandFailure(error.description)
        } catch let error as StoreCopyError {
            progress.finish()
            throw CommandFailure(error.description)
        }
        withExtendedLifetime(lock) {}
        for problem in report.problems { print(problem) }
        let rows = report.copied.filter { $0.rows > 0 }.map { "\($0.rows) \($0.table)" }.joined(separator: ", ")
        let target = try targetLocation()
        if report.problems.isEmpty {
            FileHandle.standardError.write(Data("""
                \(report.resumed ? "resumed and finished the copy" : "copied") \(file) into \(target)\(rows.isEmpty ? "" : " (\(rows))"); \
                verified \(report.customers) customers. Serve it with: crmd serve --database '\(target)'

                """.utf8))
        } else {
            FileHandle.standardError.write(Data("""
                copied \(file) into \(target), but verification found \(report.problems.count) differences (above); the copy is left \
                unfinished and crmd will not serve it

                """.utf8))
            throw ExitCode(1)
        }
    }

    /// The data directory and database file `--from` names.
    private func sourceLocation() throws -> (StoreLocation, file: String) {
        guard from.hasPrefix("sqlite:"), from.count > "sqlite:".count else {
            throw ValidationError("--from takes sqlite:DATA-DIR (the directory crmd serves from), for example sqlite:./crmd-data; got \(from)")
        }
        let path = String(from.dropFirst("sqlite:".count))
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            let directory = (path as NSString).deletingLastPathComponent
            return (StoreLocation(directory: directory.isEmpty ? "." : directory), path)
        }
        let location = StoreLocation(directory: path)
        return (location, location.databasePath)
    }

    private func targetLocation() throws -> PostgresLocation {
        do {
            return try PostgresLocation(url: to, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("--to: \(error.description)")
        }
    }
}

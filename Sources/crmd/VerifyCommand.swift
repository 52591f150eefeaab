import ArgumentParser
import CRMPostgresStore
import CRMServer
import CRMStore
import Foundation

/// `crmd verify`: recomputes every customer's read model from the facts and reports each difference.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the store: recompute every customer's read model from the facts and report each difference.",
        discussion: """
            The facts are the truth; each customer's read model (what caller snapshots and profiles are read from) is \
            kept from them as they arrive. This command recomputes it for every customer with the domain's projection, \
            one customer at a time, and lists each customer whose stored read model differs. With --repair the \
            differing ones are rewritten from the facts; this is safe while crmd serves the same data directory (or, \
            with --database, while crmd nodes serve the same PostgreSQL database: each rewrite holds the lock appends \
            take). With --derived-tables it also recomputes the identity, order and complaint tables from every fact \
            at once (SQLite only; this holds every fact in memory: for stores of up to a few million facts).
            Exit status: 0 when everything matches (or was repaired), 1 when differences remain.
            """
    )

    @Flag(help: "Rewrite every differing read model from the facts.")
    var repair = false

    @Flag(name: .customLong("derived-tables"), help: "Also recompute the identity, order and complaint tables from all the facts.")
    var derivedTables = false

    @OptionGroup var data: DataOptions

    func run() async throws {
        let configuration = try data.resolve().configuration
        let progress = TerminalProgress()
        let differences: [String]
        let report: ReadModelReport
        if let database = configuration.database {
            if derivedTables {
                throw ValidationError("--derived-tables works on the embedded SQLite store only; on PostgreSQL (\(database)) run crmd verify without it")
            }
            let store = try await StoreOpening.openPostgres(database)
            do {
                report = try await store.verifyReadModel(repair: repair, progress: progress.report)
                progress.finish()
                await store.close()
            } catch {
                progress.finish()
                await store.close()
                throw error
            }
            differences = report.differences
        } else {
            let store = try SQLiteStore(location: configuration.store, progress: progress.report)
            do {
                report = try await store.verifyReadModel(repair: repair, progress: progress.report)
                progress.finish()
                differences = report.differences + (derivedTables ? try await store.verifyDerivedState() : [])
                try await store.close()
            } catch {
                progress.finish()
                try? await store.close()
                throw error
            }
        }
        for line in differences { print(line) }
        var summary = "checked \(report.checked) customers: \(report.differences.count) read models differ from their facts"
        if repair { summary += ", \(report.repaired) rewritten" }
        if derivedTables { summary += "; derived tables: \(differences.count - report.differences.count) differences" }
        FileHandle.standardError.write(Data((summary + "\n").utf8))
        let remaining = (repair ? 0 : report.differences.count) + (differences.count - report.differences.count)
        if remaining > 0 { throw ExitCode(1) }
    }
}

/// A progress line on standard error while a long step runs (a migration, a check), redrawn in place; nothing when
/// standard error is not a terminal.
final class TerminalProgress: Sendable {
    private let enabled = isatty(STDERR_FILENO) == 1

    /// Whether the line is drawn (standard error is a terminal).
    var isShown: Bool { enabled }

    /// Draws `step: done of total (percent)`.
    var report: MigrationProgress {
        { [enabled] step, done, total in
            guard enabled else { return }
            let percent = total == 0 ? 100 : done * 100 / total
            FileHandle.standardError.write(Data("\r\(step): \(done) of \(total) (\(percent) %)\u{1B}[K".utf8))
        }
    }

    /// Ends the line.
    func finish() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

import ArgumentParser
import CRMClient
import CRMMessages
import CRMWire
import Foundation

/// `crm watch complaints`: a live stream.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow live changes until Ctrl-C.",
        subcommands: [Complaints.self]
    )

    struct Complaints: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a line per complaint change (opened, moved, quality check, SLA at risk or breached) until Ctrl-C.",
            discussion: "With --json, one JSON object per line. Example: crm watch complaints --category broken --since 2024-05-01"
        )

        @Option(help: ArgumentHelp("Only this category; repeat for several.", valueName: "category"))
        var category: [EnumArgument<ComplaintCategory>] = []

        @Option(help: ArgumentHelp("Only complaints in this state after the change; repeat for several.", valueName: "state"))
        var state: [EnumArgument<ComplaintState>] = []

        @Option(help: ArgumentHelp("Replay changes since this day (YYYY-MM-DD) before live ones.", valueName: "date"))
        var since: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { if let since { _ = try BusinessTime.startOfDay(since) } }

        struct Line: Encodable {
            var kind: String
            var changed: TimeView?
            var complaint: ComplaintSummaryView?
            var from: String?
            var to: String?
            var actor: String?
            var note: String?
        }

        func run() async throws {
            let request = WatchComplaintsRequest(
                categories: category.map(\.value), states: state.map(\.value), sinceMs: try since.map(BusinessTime.startOfDay) ?? 0)
            let json = output.json
            try await connection.withClient { client in
                let watch = Task {
                    let stream = try await client.complaints.watchComplaints(request)
                    for try await change in stream {
                        let line = Line(
                            kind: enumLabel(change.kind), changed: TimeView(change.changedMs),
                            complaint: change.complaint.map(ComplaintSummaryView.init),
                            from: change.transition.map { enumLabel($0.fromState) }, to: change.transition.map { enumLabel($0.toState) },
                            actor: change.transition?.actor.map(actorText), note: change.transition?.note)
                        print(json ? try jsonLine(line) : Self.watchLine(line))
                        flushStandardOutput()
                    }
                }
                // Ctrl-C cancels the stream; the watch then ends cleanly (exit 0).
                let interrupt = InterruptHandler { watch.cancel() }
                defer { interrupt.stop() }
                do {
                    try await watch.value
                } catch where watch.isCancelled {
                }
            }
        }

        static func watchLine(_ l: Line) -> String {
            let time = l.changed.map { BusinessTime.minute($0.ms) } ?? ""
            let c = l.complaint
            var text = "\(Style.dim(time))  \(l.kind.padding(toLength: 22, withPad: " ", startingAt: 0)) \(Style.bold(c?.complaintID ?? "?"))"
            if let c { text += "  \(c.category)  order \(c.orderNumber)  " + stateText(c.state) }
            if let from = l.from, let to = l.to { text += "  (\(from) → \(to)\(l.actor.map { " by \($0)" } ?? ""))" }
            if let note = l.note, !note.isEmpty { text += "  " + Style.dim(oneLine(note, limit: 40)) }
            return text
        }
    }
}

/// Runs `action` at SIGINT (Ctrl-C) instead of dying, until stopped.
final class InterruptHandler: @unchecked Sendable {
    private let source: DispatchSourceSignal

    init(_ action: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler(handler: action)
        source.resume()
    }

    func stop() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}

/// One JSON object on one line, for streams.
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire
import Foundation

/// `crm watch …`: live streams, until Ctrl-C.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow live changes until Ctrl-C: complaints, new interactions in a queue, proactive notices.",
        subcommands: [Complaints.self, Interactions.self, Notices.self]
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
                try await untilInterrupted {
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

extension WatchCommand {
    struct Interactions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a line per new interaction routed to a queue (all queues without --queue) until Ctrl-C.",
            discussion: """
                Complaints go to after-sales, orders to sales, everything else to customer-service. Diamond customers \
                are marked VVIP. With --json, one JSON object per line.
                Example: crm watch interactions --queue after-sales --channel whatsapp
                """
        )

        @Option(help: ArgumentHelp("The queue: sales, after-sales or customer-service.", valueName: "queue"))
        var queue: EnumArgument<RoutingQueue>?

        @Option(help: ArgumentHelp("Only this channel; repeat for several.", valueName: "channel"))
        var channel: [EnumArgument<Channel>] = []

        @Option(help: ArgumentHelp("Replay interactions since this day (YYYY-MM-DD) before live ones.", valueName: "date"))
        var since: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { if let since { _ = try BusinessTime.startOfDay(since) } }

        struct Line: Encodable {
            var queue: String
            var priority: String
            var customerName: String
            var interaction: InteractionView
        }

        func run() async throws {
            let request = WatchInteractionsRequest(
                queue: queue?.value ?? .unspecified, channels: channel.map(\.value), sinceMs: try since.map(BusinessTime.startOfDay) ?? 0)
            let json = output.json
            try await connection.withClient { client in
                try await untilInterrupted {
                    let stream = try await client.interactions.watchInteractions(request)
                    for try await arrival in stream {
                        guard let interaction = arrival.interaction else { continue }
                        let line = Line(
                            queue: enumLabel(interaction.queue), priority: enumLabel(arrival.priority),
                            customerName: arrival.customerDisplayName, interaction: InteractionView(interaction))
                        print(json ? try jsonLine(line) : Self.watchLine(line))
                        flushStandardOutput()
                    }
                }
            }
        }

        static func watchLine(_ l: Line) -> String {
            let i = l.interaction
            let time = i.occurred.map { BusinessTime.minute($0.ms) } ?? ""
            let priority = l.priority == "vvip" ? Style.bad("VVIP") + "  " : l.priority == "high" ? Style.warn("high") + "  " : ""
            let who = l.customerName.isEmpty ? i.handle : "\(l.customerName) (\(i.handle))"
            return "\(Style.dim(time))  \(l.queue.padding(toLength: 16, withPad: " ", startingAt: 0)) \(priority)\(i.channel)  \(Style.bold(who))  "
                + oneLine(i.gist)
        }
    }

    struct Notices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print proactive notices (late orders, complaint updates, service-level warnings) until Ctrl-C.",
            discussion: """
                With a customer's token, only that customer's own notices. Staff see every customer's, or one \
                customer's with an argument. With --json, one JSON object per line.
                Example: crm watch notices --kind complaint-updated
                """
        )

        @Argument(help: ArgumentHelp("Staff only: just this customer (\(HandleSyntax.help)).", valueName: "customer"), transform: CustomerArgument.parse)
        var customer: CustomerArgument?

        @Option(help: ArgumentHelp("Only this kind; repeat for several.", valueName: "kind"))
        var kind: [EnumArgument<NoticeKind>] = []

        @Option(help: ArgumentHelp("Replay notices since this day (YYYY-MM-DD) before live ones.", valueName: "date"))
        var since: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { if let since { _ = try BusinessTime.startOfDay(since) } }

        struct Line: Encodable {
            var noticeID: String
            var kind: String
            var audience: String
            var customerID: String
            var orderNumber: String?
            var complaintID: String?
            var created: TimeView?
            var due: TimeView?
            var headline: String
            var body: String
        }

        func run() async throws {
            let request = WatchMyNoticesRequest(
                customer: customer?.selector, kinds: kind.map(\.value), sinceMs: try since.map(BusinessTime.startOfDay) ?? 0)
            let json = output.json
            try await connection.withClient { client in
                try await untilInterrupted {
                    let stream = try await client.complaints.watchMyNotices(request)
                    for try await message in stream {
                        guard let n = message.notice else { continue }
                        var line = Line(
                            noticeID: n.noticeID, kind: enumLabel(n.kind), audience: enumLabel(n.audience), customerID: n.customerID,
                            created: TimeView(n.createdMs), due: TimeView(n.dueMs), headline: n.headline, body: n.body)
                        switch n.subject {
                        case .orderNumber(let number)?: line.orderNumber = number
                        case .complaintID(let id)?: line.complaintID = id
                        case nil: break
                        }
                        print(json ? try jsonLine(line) : Self.watchLine(line))
                        flushStandardOutput()
                    }
                }
            }
        }

        static func watchLine(_ l: Line) -> String {
            let time = l.created.map { BusinessTime.minute($0.ms) } ?? ""
            let subject = l.complaintID.map { "complaint \($0)" } ?? l.orderNumber.map { "order \($0)" } ?? ""
            return "\(Style.dim(time))  \(l.kind.padding(toLength: 20, withPad: " ", startingAt: 0)) \(Style.bold(l.headline))"
                + (subject.isEmpty ? "" : Style.dim("  (\(subject))"))
        }
    }
}

/// Runs `follow` (reading a stream) until it ends or Ctrl-C; Ctrl-C ends it cleanly (exit 0).
func untilInterrupted(_ follow: @escaping @Sendable () async throws -> Void) async throws {
    let watch = Task { try await follow() }
    let interrupt = InterruptHandler { watch.cancel() }
    defer { interrupt.stop() }
    do {
        try await watch.value
    } catch where watch.isCancelled {
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

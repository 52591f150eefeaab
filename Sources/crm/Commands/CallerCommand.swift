import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire

/// `crm caller HANDLE`: what the agent's screen shows the moment a customer calls.
struct Caller: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show who is calling and which queue and priority the call goes to.",
        discussion: """
            Name, tier and tenure; complaints and information requests, all time and in the last 90 days; open \
            complaints; the last contact on each channel; recent orders; and the queue (sales, after-sales, \
            customer-service) and priority (normal, high, vvip) with the reason.
            An unknown handle is not an error: the answer says so and still gives the queue.
            Example: crm caller phone:0812-3456-789 --intent complaint
            """
    )

    @Argument(help: ArgumentHelp("The caller: \(HandleSyntax.help).", valueName: "customer"), transform: CustomerArgument.parse)
    var customer: CustomerArgument

    @Option(help: ArgumentHelp("The channel of the call.", valueName: "channel"))
    var channel: EnumArgument<Channel> = EnumArgument(.phoneCall)

    @Option(help: ArgumentHelp("What the caller chose in the phone menu; decides the queue.", valueName: "intent"))
    var intent: EnumArgument<Intent>?

    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let request = GetCallerSnapshotRequest(customer: customer.selector, channel: channel.value, statedIntent: intent?.value ?? .unspecified)
        let response = try await connection.withClient { try await $0.profiles.getCallerSnapshot(request) }
        try emit(CallerView(response), json: output.json, human: Self.render)
    }

    static func render(_ c: CallerView) -> String {
        var out: [String] = []
        if c.known {
            let tier = c.isVvip ? "\(c.tier) (VVIP)" : c.tier
            out.append(Style.bold(c.displayName.isEmpty ? "(no name)" : c.displayName) + "  " + Style.dim(c.customerID))
            out.append(keyValues([
                ("matched by", c.matchedHandle ?? "-"),
                ("tier", tier),
                ("customer since", c.customerSince.map { "\(BusinessTime.day($0.ms)) (\(c.tenureDays) days)" } ?? "-"),
                ("complaints", "\(c.counts.complaints) total, \(c.counts.complaintsLast90Days) in 90 days, \(c.counts.complaintsOpen) open"),
                ("info requests", "\(c.counts.infoRequests) total, \(c.counts.infoRequestsLast90Days) in 90 days"),
                ("route to", routeText(c)),
            ]))
        } else {
            out.append(Style.warn("Unknown caller") + " (no customer has this handle)")
            out.append(keyValues([("route to", routeText(c))]))
        }
        if !c.openComplaints.isEmpty {
            out.append("\n" + Style.bold("Open complaints") + "\n" + complaintTable(c.openComplaints))
        }
        if !c.lastContacts.isEmpty {
            var table = Table(["CHANNEL", "LAST CONTACT", "DIR", "INTENT", "SUMMARY"])
            for l in c.lastContacts {
                table.add([l.channel, l.occurred.map { BusinessTime.minute($0.ms) } ?? "", l.direction == "inbound" ? "in" : "out",
                    l.intent, oneLine(l.summary)])
            }
            out.append("\n" + Style.bold("Last contact per channel") + "\n" + table.render())
        }
        if !c.recentOrders.isEmpty {
            out.append("\n" + Style.bold("Recent orders") + "\n" + orderTable(c.recentOrders))
        }
        return out.joined(separator: "\n")
    }

    static func routeText(_ c: CallerView) -> String {
        let priority = c.priority == "vvip" ? Style.bad("VVIP") : c.priority == "high" ? Style.warn("high") : c.priority
        return "\(c.queue) queue, \(priority) priority" + (c.routingReason.isEmpty ? "" : Style.dim(" (\(c.routingReason))"))
    }
}

/// `crm caller --json`.
struct CallerView: Encodable {
    struct Counts: Encodable {
        var complaints: UInt32
        var complaintsLast90Days: UInt32
        var complaintsOpen: UInt32
        var infoRequests: UInt32
        var infoRequestsLast90Days: UInt32

        /// The proto's names (`complaints_last_90_days`), which the snake-case conversion would spell `last90`.
        enum CodingKeys: String, CodingKey {
            case complaints, complaintsOpen, infoRequests
            case complaintsLast90Days = "complaints_last_90_days"
            case infoRequestsLast90Days = "info_requests_last_90_days"
        }
    }

    struct LastContact: Encodable {
        var channel: String
        var interactionID: String
        var occurred: TimeView?
        var direction: String
        var intent: String
        var summary: String
    }

    var known: Bool
    var customerID: String
    var displayName: String
    var matchedHandle: String?
    var tier: String
    var isVvip: Bool
    var customerSince: TimeView?
    var tenureDays: UInt32
    var counts: Counts
    var openComplaints: [ComplaintSummaryView]
    var lastContacts: [LastContact]
    var recentOrders: [OrderSummaryView]
    var queue: String
    var priority: String
    var routingReason: String

    init(_ response: GetCallerSnapshotResponse) {
        let s = response.snapshot ?? CallerSnapshot()
        known = response.known
        customerID = s.customerID
        displayName = s.displayName
        matchedHandle = s.matchedHandle.map(HandleSyntax.format)
        tier = enumLabel(s.tier)
        isVvip = s.isVvip
        customerSince = TimeView(s.customerSinceMs)
        tenureDays = s.tenureDays
        let c = s.counters ?? ProfileCounters()
        counts = Counts(
            complaints: c.complaintsTotal, complaintsLast90Days: c.complaintsLast90Days, complaintsOpen: c.complaintsOpen,
            infoRequests: c.infoRequestsTotal, infoRequestsLast90Days: c.infoRequestsLast90Days)
        openComplaints = s.openComplaints.map(ComplaintSummaryView.init)
        lastContacts = s.lastContacts.map {
            LastContact(
                channel: enumLabel($0.channel), interactionID: $0.interactionID, occurred: TimeView($0.occurredMs),
                direction: enumLabel($0.direction), intent: enumLabel($0.intent), summary: $0.summary)
        }
        recentOrders = s.recentOrders.map(OrderSummaryView.init)
        queue = enumLabel(s.routingQueue)
        priority = enumLabel(s.routingPriority)
        routingReason = s.routingReason
    }
}

import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire

/// `crm profile …`: the convergent customer profile.
struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Look up, search, link and unlink customers.",
        subcommands: [Show.self, Search.self, Link.self, Unlink.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a customer's profile: identities, tier, counters, open complaints, orders, recent contacts.",
            discussion: "Example: crm profile show phone:0812-3456-789"
        )

        @Argument(help: ArgumentHelp("The customer: \(HandleSyntax.help).", valueName: "customer"), transform: CustomerArgument.parse)
        var customer: CustomerArgument

        @Option(help: "How many recent interactions to include (default 10, at most 200).")
        var interactions: UInt32 = 10

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.profiles.getProfile(GetProfileRequest(customer: customer.selector, interactionLimit: interactions))
            }
            guard let profile = response.profile else { throw CLIFailure(.failure, "the server sent no profile") }
            try emit(ProfileView(profile), json: output.json, human: render)
        }

        func render(_ p: ProfileView) -> String {
            var out: [String] = []
            let tier = p.isVvip ? "\(p.tier) (VVIP)" : p.tier
            out.append(Style.bold(p.displayName.isEmpty ? "(no name)" : p.displayName) + "  " + Style.dim(p.customerID))
            out.append(keyValues([
                ("tier", tier),
                ("customer since", p.customerSince.map { "\(BusinessTime.day($0.ms)) (\(p.tenureDays) days)" } ?? "-"),
                ("orders", "\(p.counters.orders), \(formatRupiah(p.counters.spendRupiah)) spent"),
                ("complaints", "\(p.counters.complaints) total, \(p.counters.complaintsLast90Days) in 90 days, \(p.counters.complaintsOpen) open"),
                ("info requests", "\(p.counters.infoRequests) total, \(p.counters.infoRequestsLast90Days) in 90 days"),
                ("interactions", "\(p.counters.interactions)"),
            ] + p.fields.map { ($0.field, "\($0.value) " + Style.dim("(\($0.source))")) }))
            if !p.identities.isEmpty {
                var table = Table(["HANDLE", "AS WRITTEN", "CHANNELS", "LAST SEEN"])
                for i in p.identities {
                    table.add([i.handle, i.raw, i.channels.joined(separator: ","), i.lastSeen.map { BusinessTime.minute($0.ms) } ?? ""])
                }
                out.append("\n" + Style.bold("Identities") + "\n" + table.render())
            }
            if !p.openComplaints.isEmpty {
                out.append("\n" + Style.bold("Open complaints") + "\n" + complaintTable(p.openComplaints))
            }
            if !p.recentOrders.isEmpty {
                out.append("\n" + Style.bold("Recent orders") + "\n" + orderTable(p.recentOrders))
            }
            if !p.recentInteractions.isEmpty {
                out.append("\n" + Style.bold("Recent interactions") + "\n" + interactionTable(p.recentInteractions))
            }
            return out.joined(separator: "\n")
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find customers by name (case- and accent-insensitive).",
            discussion: "Example: crm profile search \"budi santoso\""
        )

        @Argument(help: ArgumentHelp("Words of the name, at least 2 characters.", valueName: "name"))
        var name: String

        @Option(help: "Matches per page (default 20, at most 500).")
        var limit: UInt32 = 20

        @Option(help: ArgumentHelp("The token printed after the previous page.", valueName: "token"))
        var pageToken: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if name.trimmingCharacters(in: .whitespaces).count < 2 {
                throw ValidationError("the name must have at least 2 characters, e.g. crm profile search budi")
            }
        }

        func run() async throws {
            let request = SearchProfilesRequest(nameQuery: name, page: PageRequest(pageSize: limit, pageToken: pageToken ?? ""))
            let response = try await connection.withClient { try await $0.profiles.searchProfiles(request) }
            let view = PageView(items: response.matches.map(ProfileMatchView.init), nextPageToken: nextToken(response.page))
            try emit(view, json: output.json) { v in
                guard !v.items.isEmpty else { return "No customer matches '\(name)'." }
                var table = Table(["CUSTOMER", "NAME", "TIER", "HANDLES", "LAST CONTACT"])
                for m in v.items {
                    table.add([m.customerID, m.displayName, m.tier, m.handles.joined(separator: " "),
                        m.lastContact.map { BusinessTime.minute($0.ms) } ?? "-"])
                }
                return table.render() + pageHint(v.nextPageToken)
            }
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "State that two handles belong to one person (merges their profiles).",
            discussion: "Example: crm profile link phone:0812-3456-789 email:budi@example.co.id --evidence customer-verified"
        )

        @Argument(help: ArgumentHelp("One handle, as kind:value.", valueName: "handle"), transform: HandleSyntax.handle)
        var first: Handle

        @Argument(help: ArgumentHelp("The other handle, as kind:value.", valueName: "handle"), transform: HandleSyntax.handle)
        var second: Handle

        @Option(help: ArgumentHelp("What proves it.", valueName: "evidence"))
        var evidence: EnumArgument<LinkEvidence> = EnumArgument(.agentAsserted)

        @Option(help: "A note for the record.")
        var note: String = ""

        @Option(help: ArgumentHelp("The interaction that proves it.", valueName: "interaction-id"))
        var interaction: String?

        @Option(help: ArgumentHelp("Idempotency key, to retry safely (default: a new one).", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let request = LinkIdentitiesRequest(
                key: commandKey(idempotencyKey), firstHandle: first, secondHandle: second, evidence: evidence.value,
                interactionID: interaction.map { StringValue(value: $0) }, note: note)
            let response = try await connection.withClient { try await $0.profiles.linkIdentities(request) }
            struct View: Encodable {
                var outcome: String
                var customerID: String
                var factID: String
            }
            let view = View(outcome: enumLabel(response.outcome), customerID: response.customerID, factID: response.fact?.factID ?? "")
            try emit(view, json: output.json) { v in
                "\(outcomeText(v.outcome)): \(HandleSyntax.format(first)) and \(HandleSyntax.format(second)) are now customer \(Style.bold(v.customerID))."
            }
        }
    }

    struct Unlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "State that two handles belong to two people (splits a wrong merge).",
            discussion: "Example: crm profile unlink phone:0812-3456-789 email:other@example.com --note \"shared family phone\""
        )

        @Argument(help: ArgumentHelp("One handle, as kind:value.", valueName: "handle"), transform: HandleSyntax.handle)
        var first: Handle

        @Argument(help: ArgumentHelp("The other handle, as kind:value.", valueName: "handle"), transform: HandleSyntax.handle)
        var second: Handle

        @Option(help: "Why they are two people.")
        var note: String = ""

        @Option(help: ArgumentHelp("Idempotency key, to retry safely (default: a new one).", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let request = UnlinkIdentitiesRequest(key: commandKey(idempotencyKey), firstHandle: first, secondHandle: second, note: note)
            let response = try await connection.withClient { try await $0.profiles.unlinkIdentities(request) }
            struct View: Encodable {
                var outcome: String
                var firstCustomerID: String
                var secondCustomerID: String
            }
            let view = View(outcome: enumLabel(response.outcome), firstCustomerID: response.firstCustomerID, secondCustomerID: response.secondCustomerID)
            try emit(view, json: output.json) { v in
                var text = "\(outcomeText(v.outcome)): \(HandleSyntax.format(first)) → \(v.firstCustomerID), \(HandleSyntax.format(second)) → \(v.secondCustomerID)"
                if v.firstCustomerID == v.secondCustomerID {
                    text += "\n" + Style.warn("Other links still join them into one customer.")
                }
                return text
            }
        }
    }
}

/// `crm timeline`: one customer's interactions across channels.
struct Timeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a customer's interactions across every channel, newest first.",
        discussion: "Example: crm timeline phone:0812-3456-789 --channel whatsapp --channel email --limit 20"
    )

    @Argument(help: ArgumentHelp("The customer: \(HandleSyntax.help).", valueName: "customer"), transform: CustomerArgument.parse)
    var customer: CustomerArgument

    @Option(help: ArgumentHelp("Only this channel; repeat for several.", valueName: "channel"))
    var channel: [EnumArgument<Channel>] = []

    @Option(help: "Interactions per page (default 20, at most 500).")
    var limit: UInt32 = 20

    @Option(help: ArgumentHelp("The token printed after the previous page.", valueName: "token"))
    var pageToken: String?

    @Option(help: ArgumentHelp("Only from this day (YYYY-MM-DD).", valueName: "date"))
    var from: String?

    @Option(help: ArgumentHelp("Only up to and including this day (YYYY-MM-DD).", valueName: "date"))
    var to: String?

    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { _ = try timeRange(from: from, to: to) }

    func run() async throws {
        let request = GetTimelineRequest(
            customer: customer.selector, channels: channel.map(\.value), window: try timeRange(from: from, to: to),
            page: PageRequest(pageSize: limit, pageToken: pageToken ?? ""))
        let response = try await connection.withClient { try await $0.interactions.getTimeline(request) }
        let view = PageView(items: response.interactions.map(InteractionView.init), nextPageToken: nextToken(response.page))
        try emit(view, json: output.json) { v in
            guard !v.items.isEmpty else { return "No interactions for \(customer.text)." }
            return interactionTable(v.items) + pageHint(v.nextPageToken)
        }
    }
}

// MARK: Shared renderings

func interactionTable(_ items: [InteractionView]) -> String {
    var table = Table(["TIME", "CHANNEL", "DIR", "INTENT", "SUMMARY"])
    for i in items {
        table.add([i.occurred.map { BusinessTime.minute($0.ms) } ?? "", i.channel, i.direction == "inbound" ? "in" : "out",
            i.intent, oneLine(i.gist)])
    }
    return table.render()
}

func orderTable(_ orders: [OrderSummaryView]) -> String {
    var table = Table(["ORDER", "STATUS", "PLACED", "TOTAL", "LINES", "ESTIMATE"], rightAligned: [3, 4])
    for o in orders {
        let estimate = o.estimatedDelivery.map { BusinessTime.day($0.ms) } ?? "-"
        table.add([o.orderNumber, o.status, o.placed.map { BusinessTime.day($0.ms) } ?? "", formatRupiah(o.totalRupiah),
            String(o.lineCount), o.pastEstimate ? Style.bad(estimate + " late") : estimate])
    }
    return table.render()
}

func complaintTable(_ complaints: [ComplaintSummaryView]) -> String {
    var table = Table(["COMPLAINT", "ORDER", "CATEGORY", "STATE", "OPENED", "SLA", "COMPENSATION"], rightAligned: [6])
    for c in complaints {
        table.add([c.complaintID, c.orderNumber, c.category, stateText(c.state), c.opened.map { BusinessTime.day($0.ms) } ?? "",
            c.slaBreached ? Style.bad("breached") : Style.good("ok"),
            c.compensationTotalRupiah == 0 ? "-" : formatRupiah(c.compensationTotalRupiah)])
    }
    return table.render()
}

func nextToken(_ page: PageInfo?) -> String? {
    guard let token = page?.nextPageToken, !token.isEmpty else { return nil }
    return token
}

func pageHint(_ token: String?) -> String {
    token.map { "\n" + Style.dim("More: --page-token \($0)") } ?? ""
}

func outcomeText(_ outcome: String) -> String {
    switch outcome {
    case "accepted": Style.good("Accepted")
    case "duplicate": Style.warn("Already recorded")
    case "rejected": Style.bad("Rejected")
    default: outcome
    }
}

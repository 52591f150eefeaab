import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire

/// `crm complaint …`: the after-sales complaint flow.
struct ComplaintCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "complaint",
        abstract: "Open, follow and move complaints through the after-sales flow; import past ones.",
        discussion: """
            The flow: open → review (in-review) → escalate (waiting-on-supplier) → decide (decided) → \
            inform (customer-informed) → close (closed); reject (rejected) and reopen (reopened) from where the \
            server allows. `crm complaint show ID` lists the moves allowed next.
            """,
        subcommands: [
            Open.self, Show.self, List.self, Review.self, Escalate.self, Decide.self, Inform.self, Close.self,
            Reject.self, Reopen.self, Quote.self, Import.self,
        ]
    )

    // MARK: open, show, list

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a complaint about an order.",
            discussion: """
                Items are SKU:ORDERED:RECEIVED:BROKEN:PAID_UNIT_PRICE[:CORRECT_UNIT_PRICE], prices in whole rupiah.
                Example: crm complaint open phone:0812-3456-789 --order SO-2024-00123 --category broken \
                --summary "2 mugs arrived broken" --item MUG-01:10:10:2:45000
                """
        )

        @Argument(help: ArgumentHelp("The customer: \(HandleSyntax.help).", valueName: "customer"), transform: CustomerArgument.parse)
        var customer: CustomerArgument

        @Option(help: ArgumentHelp("The order it is about (must be the customer's).", valueName: "number"))
        var order: String

        @Option(help: ArgumentHelp("The complaint category.", valueName: "category"))
        var category: EnumArgument<ComplaintCategory>

        @Option(help: ArgumentHelp("Why goods are returned; required for --category return.", valueName: "reason"))
        var returnReason: EnumArgument<ReturnReason>?

        @Option(help: "The customer's problem in a few words.")
        var summary: String

        @Option(name: .customLong("item"), help: ArgumentHelp("An affected item SKU:ORDERED:RECEIVED:BROKEN:PAID[:CORRECT]; repeat for several.", valueName: "item"), transform: parseAffectedItem)
        var items: [AffectedItem] = []

        @Option(help: ArgumentHelp("The interaction in which the customer reported it.", valueName: "interaction-id"))
        var interaction: String?

        @Option(help: ArgumentHelp("Idempotency key, to retry safely (default: a new one).", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if category.value == .return && returnReason == nil {
                throw ValidationError("--category return needs --return-reason (\(EnumArgument<ReturnReason>.allValueStrings.joined(separator: ", ")))")
            }
            if category.value != .return && returnReason != nil {
                throw ValidationError("--return-reason is only for --category return")
            }
        }

        func run() async throws {
            let request = OpenComplaintRequest(
                key: commandKey(idempotencyKey), customer: customer.selector, orderNumber: order, category: category.value,
                returnReason: returnReason?.value ?? .unspecified, summary: summary, items: items,
                interactionID: interaction.map { StringValue(value: $0) })
            let response = try await connection.withClient { try await $0.complaints.openComplaint(request) }
            guard let complaint = response.complaint else { throw CLIFailure(.failure, "the server sent no complaint") }
            try printComplaint(complaint, outcome: response.outcome, json: output.json)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a complaint with its items, history, decision, service levels and next moves.",
            discussion: "Example: crm complaint show CMP-7F3A"
        )

        @Argument(help: ArgumentHelp("The complaint's id.", valueName: "id"))
        var id: String

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let response = try await connection.withClient { try await $0.complaints.getComplaint(GetComplaintRequest(complaintID: id)) }
            guard let complaint = response.complaint else { throw CLIFailure(.failure, "the server sent no complaint") }
            try printComplaint(complaint, outcome: nil, json: output.json)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List complaints matching every filter given, oldest first.",
            discussion: "Example: crm complaint list --state opened --state in-review --breached"
        )

        @Option(help: ArgumentHelp("Only this customer's: \(HandleSyntax.help).", valueName: "customer"), transform: CustomerArgument.parse)
        var customer: CustomerArgument?

        @Option(help: ArgumentHelp("Only complaints about this order.", valueName: "number"))
        var order: String?

        @Option(help: ArgumentHelp("Only this category; repeat for several.", valueName: "category"))
        var category: [EnumArgument<ComplaintCategory>] = []

        @Option(help: ArgumentHelp("Only this state; repeat for several.", valueName: "state"))
        var state: [EnumArgument<ComplaintState>] = []

        @Option(help: ArgumentHelp("Only opened from this day (YYYY-MM-DD).", valueName: "date"))
        var from: String?

        @Option(help: ArgumentHelp("Only opened up to and including this day (YYYY-MM-DD).", valueName: "date"))
        var to: String?

        @Flag(help: "Only complaints past a service-level deadline.")
        var breached = false

        @Flag(help: "Only complaints within their service levels.")
        var notBreached = false

        @Option(help: "Complaints per page (default 50).")
        var limit: UInt32 = 50

        @Option(help: ArgumentHelp("The token printed after the previous page.", valueName: "token"))
        var pageToken: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if breached && notBreached { throw ValidationError("give --breached or --not-breached, not both") }
            _ = try timeRange(from: from, to: to)
        }

        func run() async throws {
            let request = ListComplaintsRequest(
                customer: customer?.selector, orderNumber: order.map { StringValue(value: $0) },
                categories: category.map(\.value), states: state.map(\.value), opened: try timeRange(from: from, to: to),
                slaBreached: breached ? BoolValue(value: true) : notBreached ? BoolValue(value: false) : nil,
                page: PageRequest(pageSize: limit, pageToken: pageToken ?? ""))
            let response = try await connection.withClient { try await $0.complaints.listComplaints(request) }
            let view = PageView(items: response.complaints.map(ComplaintSummaryView.init), nextPageToken: nextToken(response.page))
            try emit(view, json: output.json) { v in
                v.items.isEmpty ? "No complaints match." : complaintTable(v.items) + pageHint(v.nextPageToken)
            }
        }
    }

    // MARK: transitions

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start After-Sales review (→ in-review).")
        @OptionGroup var move: TransitionOptions
        func run() async throws { try await move.transition(to: .inReview) }
    }

    struct Escalate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Wait on the supplier or the China team (→ waiting-on-supplier).")
        @OptionGroup var move: TransitionOptions
        func run() async throws { try await move.transition(to: .waitingOnSupplier) }
    }

    struct Decide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decide the outcome and compensation (→ decided).",
            discussion: """
                Example: crm complaint decide CMP-7F3A --resolution refund --rationale "2 of 10 broken, photos match" \
                --item MUG-01:10:10:2:45000 --goodwill "25000:apology for the delay"
                """
        )

        @OptionGroup var move: TransitionOptions

        @Option(help: ArgumentHelp("How it is settled.", valueName: "resolution"))
        var resolution: EnumArgument<ResolutionKind>

        @Option(help: "Why, in After-Sales' words.")
        var rationale: String

        @Option(name: .customLong("item"), help: ArgumentHelp("A verified item SKU:ORDERED:RECEIVED:BROKEN:PAID[:CORRECT] (default: the items it was opened with); repeat for several.", valueName: "item"), transform: parseAffectedItem)
        var items: [AffectedItem] = []

        @Option(help: ArgumentHelp("Local shipping cost of a return to cover, rupiah.", valueName: "rupiah"))
        var returnShipping: String?

        @Option(help: ArgumentHelp("An extra amount by judgement as AMOUNT:EXPLANATION; repeat for several.", valueName: "amount:why"))
        var goodwill: [String] = []

        func run() async throws {
            var decision = ComplaintDecisionInput(resolution: resolution.value, confirmedItems: items, rationale: rationale)
            decision.returnShippingRupiah = try returnShipping.map { try parseRupiah($0, field: "--return-shipping") } ?? 0
            for g in goodwill {
                guard let colon = g.firstIndex(of: ":"), !g[g.index(after: colon)...].trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("--goodwill '\(g)' needs AMOUNT:EXPLANATION, e.g. --goodwill \"25000:apology for the delay\"")
                }
                let amount = try parseRupiah(String(g[..<colon]), field: "--goodwill amount")
                decision.adjustments.append(CompensationLine(
                    kind: .goodwill, amountRupiah: amount, explanation: String(g[g.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
            }
            try await move.transition(to: .decided, decision: decision)
        }
    }

    struct Inform: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record that Sales told the customer the decision (→ customer-informed).")
        @OptionGroup var move: TransitionOptions
        func run() async throws { try await move.transition(to: .customerInformed) }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a complaint (→ closed).")
        @OptionGroup var move: TransitionOptions
        func run() async throws { try await move.transition(to: .closed) }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a complaint as unfounded (→ rejected); --note is required.")
        @OptionGroup var move: TransitionOptions
        func validate() throws {
            if move.note.isEmpty { throw ValidationError("say why with --note, e.g. --note \"photos show the box intact\"") }
        }
        func run() async throws { try await move.transition(to: .rejected) }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reopen a closed complaint, or one the customer was just informed of (→ reopened); --note is required.")
        @OptionGroup var move: TransitionOptions
        func validate() throws {
            if move.note.isEmpty { throw ValidationError("say why with --note, e.g. --note \"customer found more broken units\"") }
        }
        func run() async throws { try await move.transition(to: .reopened) }
    }

    // MARK: quote

    struct Quote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute compensation for a complaint, or a what-if, without storing anything.",
            discussion: """
                Examples: crm complaint quote CMP-7F3A
                          crm complaint quote --category broken --item MUG-01:10:10:2:45000 --return-shipping 30000
                """
        )

        @Argument(help: ArgumentHelp("A stored complaint's id; omit it for a what-if.", valueName: "id"))
        var id: String?

        @Option(help: ArgumentHelp("What-if: the category.", valueName: "category"))
        var category: EnumArgument<ComplaintCategory>?

        @Option(name: .customLong("item"), help: ArgumentHelp("What-if: an item SKU:ORDERED:RECEIVED:BROKEN:PAID[:CORRECT]; repeat for several.", valueName: "item"), transform: parseAffectedItem)
        var items: [AffectedItem] = []

        @Option(help: ArgumentHelp("What-if: local shipping cost of a return, rupiah.", valueName: "rupiah"))
        var returnShipping: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if id == nil && (category == nil || items.isEmpty) {
                throw ValidationError("give a complaint id, or a what-if with --category and at least one --item SKU:ORDERED:RECEIVED:BROKEN:PAID")
            }
            if id != nil && (category != nil || !items.isEmpty || returnShipping != nil) {
                throw ValidationError("give either a complaint id or the what-if options (--category, --item, --return-shipping), not both")
            }
        }

        func run() async throws {
            let request: QuoteCompensationRequest
            if let id {
                request = QuoteCompensationRequest(subject: .complaintID(id))
            } else {
                let shipping = try returnShipping.map { try parseRupiah($0, field: "--return-shipping") } ?? 0
                request = QuoteCompensationRequest(subject: .whatIf(CompensationQuoteInput(
                    category: category!.value, items: items, returnShippingRupiah: shipping)))
            }
            let response = try await connection.withClient { try await $0.complaints.quoteCompensation(request) }
            try emit(CompensationView(response.quote ?? CompensationQuote()), json: output.json) { $0.render() }
        }
    }
}

/// The options of every complaint move.
struct TransitionOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The complaint's id.", valueName: "id"))
    var id: String

    @Option(help: "A note for the record (required for reject and reopen).")
    var note: String = ""

    @Option(help: ArgumentHelp("Fail unless the complaint is in this state now (guards against a colleague's move).", valueName: "state"))
    var expect: EnumArgument<ComplaintState>?

    @Option(help: ArgumentHelp("Idempotency key, to retry safely (default: a new one).", valueName: "key"))
    var idempotencyKey: String?

    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions

    /// The request that moves the complaint to `state`.
    func request(to state: ComplaintState, decision: ComplaintDecisionInput? = nil) -> TransitionComplaintRequest {
        TransitionComplaintRequest(
            key: commandKey(idempotencyKey), complaintID: id, toState: state, expectedState: expect?.value ?? .unspecified,
            note: note, decision: decision)
    }

    func transition(to state: ComplaintState, decision: ComplaintDecisionInput? = nil) async throws {
        let request = request(to: state, decision: decision)
        let response = try await connection.withClient { try await $0.complaints.transitionComplaint(request) }
        guard let complaint = response.complaint else { throw CLIFailure(.failure, "the server sent no complaint") }
        try printComplaint(complaint, outcome: response.outcome, json: output.json)
    }
}

/// Prints a complaint (after a change, with its outcome first).
func printComplaint(_ complaint: Complaint, outcome: ItemOutcome?, json: Bool) throws {
    struct Changed: Encodable {
        var outcome: String
        var complaint: ComplaintView
    }
    let view = ComplaintView(complaint)
    if json {
        if let outcome {
            print(try jsonText(Changed(outcome: enumLabel(outcome), complaint: view)))
        } else {
            print(try jsonText(view))
        }
        return
    }
    if let outcome { print("\(outcomeText(enumLabel(outcome))): complaint \(view.complaintID) is \(stateText(view.state)).\n") }
    print(renderComplaint(view))
}

func renderComplaint(_ c: ComplaintView) -> String {
    var out: [String] = []
    out.append(Style.bold("Complaint \(c.complaintID)") + "  " + stateText(c.state) + "  " + Style.dim(c.category))
    var pairs: [(String, String)] = [
        ("customer", c.customerID),
        ("order", c.orderNumber),
        ("summary", c.summary),
        ("opened", (c.opened.map { BusinessTime.minute($0.ms) } ?? "-") + (c.openedBy.isEmpty ? "" : " by \(c.openedBy)")),
    ]
    if c.priority != "unspecified" { pairs.append(("priority", c.priority)) }
    if c.returnReason != "unspecified" { pairs.append(("return reason", c.returnReason)) }
    if let sla = c.sla {
        let first = sla.firstResponseBreached ? Style.bad("breached") : sla.firstResponseAt != nil ? Style.good("met") : "due \(sla.firstResponseDue.map { BusinessTime.minute($0.ms) } ?? "-")"
        let resolution = sla.resolutionBreached ? Style.bad("breached") : sla.resolvedAt != nil ? Style.good("met") : "due \(sla.resolutionDue.map { BusinessTime.minute($0.ms) } ?? "-")"
        pairs.append(("first response", first))
        pairs.append(("resolution", resolution))
    }
    pairs.append(("next", c.allowedNextStates.isEmpty ? "-" : c.allowedNextStates.joined(separator: ", ")))
    out.append(keyValues(pairs))
    if !c.items.isEmpty {
        var table = Table(["SKU", "NAME", "ORDERED", "RECEIVED", "BROKEN", "PAID", "CORRECT"], rightAligned: [2, 3, 4, 5, 6])
        for i in c.items {
            table.add([i.sku, i.name, String(i.ordered), String(i.received), String(i.broken), formatRupiah(i.paidUnitPriceRupiah), formatRupiah(i.correctUnitPriceRupiah)])
        }
        out.append("\n" + table.render())
    }
    if let d = c.decision {
        out.append("\n" + Style.bold("Decision: \(d.resolution)") + (d.decidedBy.isEmpty ? "" : " by \(d.decidedBy)") + (d.rationale.isEmpty ? "" : " — \(d.rationale)"))
        if let compensation = d.compensation { out.append(compensation.render()) }
    }
    if !c.transitions.isEmpty {
        var table = Table(["TIME", "FROM", "TO", "BY", "NOTE"])
        for t in c.transitions {
            table.add([t.at.map { BusinessTime.minute($0.ms) } ?? "", t.from, t.to, t.actor, oneLine(t.note, limit: 50)])
        }
        out.append("\n" + Style.bold("History") + "\n" + table.render())
    }
    return out.joined(separator: "\n")
}

import CRMDomain
import CRMMessages
import CRMRPC
import CRMStore
import CRMWire

/// crm.v1.OrderService: orders from the order management system, imports and tracking.
struct OrderServiceProvider: RPCService {
    let env: ServiceEnvironment

    init(env: ServiceEnvironment) { self.env = env }

    func registerMethods(with router: inout MethodRouter) {
        router.register(CRMMessages.OrderService.upsertOrder) { request, _ in try await upsert(request) }
        router.registerClientStreaming(CRMMessages.OrderService.importOrders) { requests, _ in try await importOrders(requests) }
        router.register(CRMMessages.OrderService.getOrder, idempotent: true) { request, _ in try await getOrder(request) }
        router.register(CRMMessages.OrderService.listOrders, idempotent: true) { request, _ in try await listOrders(request) }
        router.register(CRMMessages.OrderService.addTrackingEvent) { request, _ in try await addTracking(request) }
    }

    /// Decision: orders upserted one by one come from the order system (source ORDER_SYSTEM); imported rows are a
    /// bulk import, the least trusted source, so a live order-system revision at the same time wins over a row.
    func upsert(_ request: UpsertOrderRequest) async throws -> UpsertOrderResponse {
        let submission = try validated {
            try OrderSubmission(wire: request.order, key: request.key, field: "order", keyField: "key", source: .orderSystem)
        }
        let receipt = try await env.write(
            [submission.fact] + submission.extraFacts, audit: "UpsertOrder", subject: .text(submission.record.orderNumber.rawValue),
            "order of \(submission.record.items.count) lines, total \(Rupiah.format(submission.record.total))")
        let outcome = receipt.outcomes[0].wire
        let customer = receipt.customers[0]?.rawValue ?? ""
        guard let view = try await env.store.order(submission.record.orderNumber) else {
            throw RPCStatus(code: .internal, message: "order \(submission.record.orderNumber) was stored but cannot be read back")
        }
        return UpsertOrderResponse(outcome: outcome, order: CRMMessages.Order(view: view, customerID: customer, now: env.now()))
    }

    /// Rows appended together while an import's stream is still open: the stream is consumed as it arrives, so a
    /// million-row import holds at most one chunk of rows in memory, and every chunk appended before a failure stays
    /// stored (its rows answer DUPLICATE when imported again).
    static let chunkSize = 1_000

    func importOrders(_ requests: RequestStream<ImportOrdersRequest>) async throws -> ImportOrdersResponse {
        var results = BulkResults<ImportOrderRowResult>()
        var pending: [(position: Int, row: UInt64, number: String, submission: OrderSubmission)] = []
        var rejected: [(position: Int, result: ImportOrderRowResult)] = []
        var position = 0
        for try await row in requests {
            defer { position += 1 }
            do throws(RequestFieldError) {
                let submission = try OrderSubmission(wire: row.order, key: row.key, field: "order", keyField: "key", source: .bulkImport)
                pending.append((position, row.rowNumber, row.order?.orderNumber ?? "", submission))
            } catch {
                var result = ImportOrderRowResult(rowNumber: row.rowNumber, orderNumber: row.order?.orderNumber ?? "")
                result.outcome = .rejected
                result.violations = [error.violation]
                rejected.append((position, result))
            }
            if pending.count + rejected.count == Self.chunkSize {
                try await importChunk(pending, rejected: rejected, into: &results, items: position + 1)
                pending.removeAll(keepingCapacity: true)
                rejected.removeAll(keepingCapacity: true)
            }
        }
        try await importChunk(pending, rejected: rejected, into: &results, items: position)
        var response = ImportOrdersResponse(results: results.inStreamOrder)
        response.acceptedCount = UInt64(response.results.count { $0.outcome == .accepted })
        response.duplicateCount = UInt64(response.results.count { $0.outcome == .duplicate })
        response.rejectedCount = UInt64(response.results.count { $0.outcome == .rejected })
        return response
    }

    /// Appends one chunk of an import with its audit entry, then records every row's result, the ones refused before
    /// the append included: when the results outgrow one response, every row the stream carried up to here is
    /// stored before the call ends. A fact the store refuses fails the chunk's append; the chunk is then appended
    /// row by row, so only that row is rejected.
    private func importChunk(
        _ chunk: [(position: Int, row: UInt64, number: String, submission: OrderSubmission)],
        rejected: [(position: Int, result: ImportOrderRowResult)], into results: inout BulkResults<ImportOrderRowResult>, items: Int
    ) async throws {
        var chunkResults = rejected
        if !chunk.isEmpty {
            let rows = Dictionary(uniqueKeysWithValues: chunk.map { ($0.position, $0.row) })
            let outcomes = try await env.writeChunk(
                chunk.map { ($0.position, [$0.submission.fact] + $0.submission.extraFacts) }, audit: "ImportOrders", subject: "orders",
                "\(chunk.count) rows, orders \(Set(chunk.map(\.submission.record.orderNumber)).count)"
            ) { position in "row \(rows[position] ?? 0)" }
            for item in chunk {
                var result = ImportOrderRowResult(rowNumber: item.row, orderNumber: item.number)
                switch outcomes[item.position]! {
                case .success(let (outcome, _)):
                    result.outcome = outcome
                case .failure(let status):
                    result.outcome = .rejected
                    result.violations = [CRMMessages.FieldViolation(field: "order", reason: status.message)]
                }
                chunkResults.append((item.position, result))
            }
        }
        for (position, result) in chunkResults { try results.add(result, at: position, items: items) }
    }

    func getOrder(_ request: GetOrderRequest) async throws -> GetOrderResponse {
        let number = try validated { try Check.orderNumber(request.orderNumber, "order_number") }
        guard let view = try await env.store.order(number) else {
            throw RPCStatus.notFound("no order has number \(number)")
        }
        let customer = try await env.store.customerID(for: view.record.customer)
        return GetOrderResponse(order: CRMMessages.Order(view: view, customerID: customer?.rawValue ?? "", now: env.now()))
    }

    func listOrders(_ request: ListOrdersRequest) async throws -> ListOrdersResponse {
        let (statuses, placed, page) = try validated {
            var statuses: Set<OrderStatus>? = nil
            for (i, s) in request.statuses.enumerated() {
                if case .unrecognized(let n) = s { throw RequestFieldError("statuses[\(i)]", "is \(n), an order status this server does not know") }
                statuses = (statuses ?? []).union([s])
            }
            return (statuses, try Check.timeRange(request.placed, "placed"), try Page(request.page))
        }
        let customer = try await env.resolve(request.customer, field: "customer")
        let now = env.now()
        let views = try await env.store.orders(of: customer)
            .filter { view in
                if let statuses, !statuses.contains(view.status.orderStatus) { return false }
                if let placed, !placed.contains(view.record.placedAt) { return false }
                if request.pastEstimateOnly && !view.isOverdue(now: now) { return false }
                return true
            }
            .sorted { ($0.record.placedAt, $1.orderNumber) > ($1.record.placedAt, $0.orderNumber) }
        let (slice, info) = page.slice(views)
        return ListOrdersResponse(customerID: customer.rawValue, orders: slice.map { CRMMessages.OrderSummary(view: $0, now: now) }, page: info)
    }

    func addTracking(_ request: AddTrackingEventRequest) async throws -> AddTrackingEventResponse {
        let (fact, number) = try validated {
            let event = try Check.present(request.event, "event")
            _ = try Check.bounded(event.location, "event.location", maximum: 500)
            _ = try Check.bounded(event.note, "event.note", maximum: 2_000)
            return try TrackingSubmission.fact(event, field: "event", source: .orderSystem)
        }
        guard try await env.store.order(number) != nil else {
            throw RPCStatus.notFound("no order has number \(number); upsert the order before its tracking events")
        }
        let event = request.event!
        let outcome = try await env.write(
            [fact], audit: "AddTrackingEvent", subject: .text(number.rawValue), "\(event.stage.protoName) at \(event.location); \(event.note)"
        ).outcomes[0].wire
        guard let view = try await env.store.order(number) else { throw RPCStatus.notFound("no order has number \(number)") }
        return AddTrackingEventResponse(outcome: outcome, factID: fact.id.rawValue, order: CRMMessages.OrderSummary(view: view, now: env.now()))
    }
}

import CRMDomain
import CRMMessages
import CRMRPC
import CRMStore
import CRMWire

/// crm.v1.OrderService: orders from the order management system, imports and tracking.
public struct OrderServiceProvider: RPCService {
    let env: ServiceEnvironment

    init(env: ServiceEnvironment) { self.env = env }

    public func registerMethods(with router: inout MethodRouter) {
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
        let outcome: ItemOutcome = try await env.isKnown(submission.fact.id)
            ? .duplicate : try await env.append([submission.fact] + submission.extraFacts)[0].wire
        let customer = try await env.store.customerID(for: submission.record.customer)?.rawValue ?? ""
        if outcome == .accepted {
            try await env.audit("UpsertOrder", subject: submission.record.orderNumber.rawValue, "order for \(customer), total \(Rupiah.format(submission.record.total))")
        }
        guard let view = try await env.store.order(submission.record.orderNumber) else {
            throw RPCStatus(code: .internal, message: "order \(submission.record.orderNumber) was stored but cannot be read back")
        }
        return UpsertOrderResponse(outcome: outcome, order: CRMMessages.Order(view: view, customerID: customer, now: env.now()))
    }

    func importOrders(_ requests: RequestStream<ImportOrdersRequest>) async throws -> ImportOrdersResponse {
        var response = ImportOrdersResponse()
        var pending: [(result: Int, submission: OrderSubmission)] = []
        for try await row in requests {
            var result = ImportOrderRowResult(rowNumber: row.rowNumber, orderNumber: row.order?.orderNumber ?? "")
            do throws(RequestFieldError) {
                let submission = try OrderSubmission(wire: row.order, key: row.key, field: "order", keyField: "key", source: .bulkImport)
                pending.append((response.results.count, submission))
            } catch {
                result.outcome = .rejected
                result.violations = [error.violation]
            }
            response.results.append(result)
        }
        var start = 0
        while start < pending.count {
            let chunk = Array(pending[start..<min(pending.count, start + 1_000)])
            start += chunk.count
            do {
                let all = try await env.append(chunk.flatMap { [$0.submission.fact] + $0.submission.extraFacts })
                var cursor = 0
                for item in chunk {
                    response.results[item.result].outcome = all[cursor].wire
                    cursor += 1 + item.submission.extraFacts.count
                }
            } catch let status as RPCStatus where status.code == .invalidArgument {
                for item in chunk {
                    do {
                        response.results[item.result].outcome = try await env.append([item.submission.fact] + item.submission.extraFacts)[0].wire
                    } catch let status as RPCStatus where status.code == .invalidArgument {
                        response.results[item.result].outcome = .rejected
                        response.results[item.result].violations = [CRMMessages.FieldViolation(field: "order", reason: status.message)]
                    }
                }
            }
        }
        response.acceptedCount = UInt64(response.results.count { $0.outcome == .accepted })
        response.duplicateCount = UInt64(response.results.count { $0.outcome == .duplicate })
        response.rejectedCount = UInt64(response.results.count { $0.outcome == .rejected })
        if response.acceptedCount > 0 {
            try await env.audit(
                "ImportOrders", subject: "orders",
                "\(response.acceptedCount) accepted, \(response.duplicateCount) duplicate, \(response.rejectedCount) rejected")
        }
        return response
    }

    func getOrder(_ request: GetOrderRequest) async throws -> GetOrderResponse {
        let number = try validated { try Check.orderNumber(request.orderNumber, "order_number") }
        guard let view = try await env.store.order(number) else {
            throw RPCStatus.notFound("no order has number \(number)")
        }
        let customer = try await env.store.customerID(for: view.record.customer)
        if try env.scopedCustomer() != nil {
            guard try env.scopedCustomer() == customer else { throw RPCStatus.permissionDenied("customers may only see their own orders") }
        }
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
        let outcome: ItemOutcome = try await env.isKnown(fact.id) ? .duplicate : try await env.append(fact).wire
        if outcome == .accepted {
            let event = request.event!
            try await env.audit("AddTrackingEvent", subject: number.rawValue, "\(event.stage.protoName) at \(event.location); \(event.note)")
        }
        guard let view = try await env.store.order(number) else { throw RPCStatus.notFound("no order has number \(number)") }
        return AddTrackingEventResponse(outcome: outcome, factID: fact.id.rawValue, order: CRMMessages.OrderSummary(view: view, now: env.now()))
    }
}

import CRMMessages
import CRMRPC
import CRMServerTesting
import CRMWire
import Testing

/// One test per class of invalid request: each is INVALID_ARGUMENT and its message starts with the path of the
/// field to fix.
@Suite("Request validation")
struct RequestValidationTests {
    /// Expects INVALID_ARGUMENT naming `field` (the message is `field: reason`).
    func expectInvalid<Request, Response>(
        _ h: TestServer, _ field: String, _ method: WireMethod<Request, Response>, _ request: Request, as identity: TestCaller = .supervisor,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let message = try await h.expectFailure(.invalidArgument, method, request, as: identity, sourceLocation: sourceLocation)
        #expect(message.hasPrefix(field + ": "), "\(message)", sourceLocation: sourceLocation)
        #expect(message.count > field.count + 10, "the message says what to send: \(message)", sourceLocation: sourceLocation)
    }

    @Test("a missing required field")
    func missingField() async throws {
        try await withTestServer { h in
            try await expectInvalid(h, "customer", ProfileService.getProfile, GetProfileRequest())
            var noKey = interaction("v-1")
            noKey.key = nil
            try await expectInvalid(h, "interaction.key", InteractionService.pushInteraction, PushInteractionRequest(interaction: noKey), as: .adapter)
            try await expectInvalid(
                h, "summary", ComplaintService.openComplaint,
                OpenComplaintRequest(key: key("v-2"), customer: byHandle(phone("0812-3456-7890")), orderNumber: "ORD-1", category: .broken),
                as: .sales)
        }
    }

    @Test("a malformed handle")
    func malformedHandle() async throws {
        try await withTestServer { h in
            try await expectInvalid(h, "customer.handle.value", ProfileService.getProfile, GetProfileRequest(customer: byHandle(phone("not a phone"))))
            try await expectInvalid(
                h, "interaction.handle.value", InteractionService.pushInteraction,
                PushInteractionRequest(interaction: interaction("v-3", handle: CRMMessages.Handle(kind: .email, value: "no-at-sign"))), as: .adapter)
        }
    }

    @Test("an enum left unspecified or out of range")
    func enums() async throws {
        try await withTestServer { h in
            try await h.seedOrder()
            try await expectInvalid(
                h, "category", ComplaintService.openComplaint,
                OpenComplaintRequest(key: key("v-4"), customer: byHandle(phone("0812-3456-7890")), orderNumber: "ORD-1", category: .unspecified, summary: "x"),
                as: .sales)
            try await expectInvalid(
                h, "category", ComplaintService.openComplaint,
                OpenComplaintRequest(key: key("v-5"), customer: byHandle(phone("0812-3456-7890")), orderNumber: "ORD-1", category: .unrecognized(99), summary: "x"),
                as: .sales)
            var unknownChannel = interaction("v-6")
            unknownChannel.channel = .unrecognized(42)
            try await expectInvalid(h, "interaction.channel", InteractionService.pushInteraction, PushInteractionRequest(interaction: unknownChannel), as: .adapter)
        }
    }

    @Test("bad money or quantity")
    func moneyAndQuantity() async throws {
        try await withTestServer { h in
            try await expectInvalid(
                h, "order.items[0].quantity", OrderService.upsertOrder, UpsertOrderRequest(key: key("v-7", adapter: "oms"), order: order("ORD-V", quantity: 0)),
                as: .adapter)
            try await expectInvalid(
                h, "order.items[0].unit_price_rupiah", OrderService.upsertOrder,
                UpsertOrderRequest(key: key("v-8", adapter: "oms"), order: order("ORD-V", price: -1)), as: .adapter)
            try await expectInvalid(
                h, "what_if.return_shipping_rupiah", ComplaintService.quoteCompensation,
                QuoteCompensationRequest(subject: .whatIf(CompensationQuoteInput(
                    category: .return, items: [AffectedItem(sku: "SKU-1", name: "Lampu", quantityOrdered: 1, quantityReceived: 0, paidUnitPriceRupiah: 1)],
                    returnShippingRupiah: -5))))
        }
    }

    @Test("a bad time window")
    func timeWindow() async throws {
        try await withTestServer { h in
            let customer = try await h.seedOrder()
            try await expectInvalid(
                h, "window", InteractionService.getTimeline,
                GetTimelineRequest(customer: byID(customer), window: CRMMessages.TimeRange(fromMs: TestServer.now, toMs: TestServer.now - 1)))
            try await expectInvalid(
                h, "period", ReportService.getRefundRecap,
                GetRefundRecapRequest(period: CRMMessages.TimeRange(fromMs: 2_000, toMs: 1_000), granularity: .month))
            try await expectInvalid(h, "period", ReportService.getRefundRecap, GetRefundRecapRequest(granularity: .month))
        }
    }

    @Test("a page token this server did not issue")
    func pageToken() async throws {
        try await withTestServer { h in
            let customer = try await h.seedOrder()
            try await expectInvalid(
                h, "page.page_token", InteractionService.getTimeline,
                GetTimelineRequest(customer: byID(customer), page: PageRequest(pageSize: 2, pageToken: "made-up")))
            try await expectInvalid(
                h, "page.page_token", OrderService.listOrders,
                ListOrdersRequest(customer: byID(customer), page: PageRequest(pageSize: 2, pageToken: "made-up")))
        }
    }

    @Test("an oversized field or too many items")
    func oversized() async throws {
        try await withTestServer { h in
            try await expectInvalid(
                h, "interaction.body", InteractionService.pushInteraction,
                PushInteractionRequest(interaction: interaction("v-9", body: String(repeating: "a", count: 64 * 1024 + 1))), as: .adapter)
            var big = order("ORD-BIG")
            big.items = (0..<1_001).map { CRMMessages.OrderItem(sku: "SKU-\($0)", name: "Barang", quantity: 1, unitPriceRupiah: 1_000) }
            try await expectInvalid(h, "order.items", OrderService.upsertOrder, UpsertOrderRequest(key: key("v-10", adapter: "oms"), order: big), as: .adapter)
            var crowded = order("ORD-CROWD")
            crowded.contactHandles = (0..<21).map { phone("0812-0000-\(String(1000 + $0))") }
            try await expectInvalid(
                h, "order.contact_handles", OrderService.upsertOrder, UpsertOrderRequest(key: key("v-11", adapter: "oms"), order: crowded), as: .adapter)
        }
    }
}

import CRMMessages
import CRMRPC
import CRMWire
import Testing

@Suite("OrderService")
struct OrderServiceTests {
    @Test("an upserted order reads back with its tracking; a resent revision is a duplicate")
    func upsertGetListTrack() async throws {
        try await withServices { h in
            let request = UpsertOrderRequest(key: key("rev-1", adapter: "oms"), order: order("ORD-9"))
            let first = try await h.call(CRMMessages.OrderService.upsertOrder, request, as: As.adapter)
            #expect(first.outcome == .accepted)
            #expect(first.order?.totals?.itemsSubtotalRupiah == 450_000)
            let again = try await h.call(CRMMessages.OrderService.upsertOrder, request, as: As.adapter)
            #expect(again.outcome == .duplicate)
            let tracked = try await h.call(
                CRMMessages.OrderService.addTrackingEvent,
                AddTrackingEventRequest(event: CRMMessages.TrackingEvent(key: key("trk-1", adapter: "oms"), orderNumber: "ORD-9", stage: .shippedFromChina, occurredMs: ServiceHarness.now - 86_400_000, location: "Guangzhou")),
                as: As.adapter)
            #expect(tracked.outcome == .accepted)
            #expect(tracked.order?.status == .shippedFromChina)
            let got = try await h.call(CRMMessages.OrderService.getOrder, GetOrderRequest(orderNumber: "ORD-9"))
            #expect(got.order?.trackingEvents.map(\.stage) == [.shippedFromChina])
            let listed = try await h.call(CRMMessages.OrderService.listOrders, ListOrdersRequest(customer: byHandle(phone("0812-3456-7890"))))
            #expect(listed.orders.map(\.orderNumber) == ["ORD-9"])
            try await h.expectFailure(.notFound, CRMMessages.OrderService.getOrder, GetOrderRequest(orderNumber: "ORD-404"))
        }
    }

    @Test("an import answers per row and refuses bad rows by field")
    func importRows() async throws {
        try await withServices { h in
            var bad = order("ORD-B")
            bad.items[0].quantity = 0
            var noEstimate = order("ORD-C")
            noEstimate.estimatedDeliveryMs = nil
            let response = try await h.client.clientStreaming(CRMMessages.OrderService.importOrders, options: try await h.options(.supervisor)) { writer in
                try await writer.write(ImportOrdersRequest(rowNumber: 1, key: key("row-1", adapter: "csv"), order: order("ORD-A")))
                try await writer.write(ImportOrdersRequest(rowNumber: 2, key: key("row-2", adapter: "csv"), order: bad))
                try await writer.write(ImportOrdersRequest(rowNumber: 3, key: key("row-3", adapter: "csv"), order: noEstimate))
                try await writer.write(ImportOrdersRequest(rowNumber: 4, key: key("row-1", adapter: "csv"), order: order("ORD-A")))
            }.message
            #expect(response.results.map(\.outcome) == [.accepted, .rejected, .rejected, .duplicate])
            #expect(response.results[1].violations.first?.field == "order.items[0].quantity")
            #expect(response.results[2].violations.first?.field == "order.estimated_delivery_ms")
            #expect(response.acceptedCount == 1 && response.rejectedCount == 2 && response.duplicateCount == 1)
        }
    }

    @Test("a wrong line total is refused naming the field")
    func wrongLineTotal() async throws {
        try await withServices { h in
            var o = order("ORD-X")
            o.items[0].lineTotalRupiah = 1
            let message = try await h.expectFailure(.invalidArgument, CRMMessages.OrderService.upsertOrder, UpsertOrderRequest(key: key("x"), order: o), as: As.adapter)
            #expect(message.hasPrefix("order.items[0].line_total_rupiah:"))
        }
    }
}

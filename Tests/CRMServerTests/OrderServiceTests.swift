import CRMMessages
import CRMRPC
import CRMServerTesting
import CRMWire
import Testing

@Suite("OrderService")
struct OrderServiceTests {
    @Test("an upserted order reads back with its tracking; a resent revision is a duplicate")
    func upsertGetListTrack() async throws {
        try await withTestServer { h in
            let request = UpsertOrderRequest(key: key("rev-1", adapter: "oms"), order: order("ORD-9"))
            let first = try await h.call(CRMMessages.OrderService.upsertOrder, request, as: TestCaller.adapter)
            #expect(first.outcome == .accepted)
            #expect(first.order?.totals?.itemsSubtotalRupiah == 450_000)
            let again = try await h.call(CRMMessages.OrderService.upsertOrder, request, as: TestCaller.adapter)
            #expect(again.outcome == .duplicate)
            let tracked = try await h.call(
                CRMMessages.OrderService.addTrackingEvent,
                AddTrackingEventRequest(event: CRMMessages.TrackingEvent(key: key("trk-1", adapter: "oms"), orderNumber: "ORD-9", stage: .shippedFromChina, occurredMs: TestServer.now - 86_400_000, location: "Guangzhou")),
                as: TestCaller.adapter)
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
        try await withTestServer { h in
            var bad = order("ORD-B")
            bad.items[0].quantity = 0
            var noEstimate = order("ORD-C")
            noEstimate.estimatedDeliveryMs = nil
            let response = try await h.rpc.clientStreaming(CRMMessages.OrderService.importOrders, options: try await h.options(.supervisor)) { writer in
                try await writer.write(ImportOrdersRequest(rowNumber: 1, key: key("row-1", adapter: "csv"), order: order("ORD-A")))
                try await writer.write(ImportOrdersRequest(rowNumber: 2, key: key("row-2", adapter: "csv"), order: bad))
                try await writer.write(ImportOrdersRequest(rowNumber: 3, key: key("row-3", adapter: "csv"), order: noEstimate))
                try await writer.write(ImportOrdersRequest(rowNumber: 4, key: key("row-1", adapter: "csv"), order: order("ORD-A")))
            }.message
            #expect(response.results.map(\.outcome) == [.accepted, .rejected, .accepted, .duplicate])
            #expect(response.results[1].violations.first?.field == "order.items[0].quantity")
            #expect(response.acceptedCount == 2 && response.rejectedCount == 1 && response.duplicateCount == 1)
            let got = try await h.call(CRMMessages.OrderService.getOrder, GetOrderRequest(orderNumber: "ORD-C"))
            #expect(got.order?.estimatedDeliveryMs == nil && got.order?.pastEstimate == false, "no estimate, never overdue")
        }
    }

    @Test("service fee, discount and paid amount are kept; the total and outstanding amount follow from them")
    func feesDiscountPaid() async throws {
        try await withTestServer { h in
            var o = order("ORD-F")
            o.totals = OrderTotals(shippingRupiah: 20_000, serviceFeeRupiah: 15_000, discountRupiah: 35_000, paidRupiah: 200_000)
            let stored = try await h.call(CRMMessages.OrderService.upsertOrder, UpsertOrderRequest(key: key("fees"), order: o), as: TestCaller.adapter)
            let totals = try #require(stored.order?.totals)
            #expect(totals.itemsSubtotalRupiah == 450_000 && totals.serviceFeeRupiah == 15_000 && totals.discountRupiah == 35_000)
            #expect(totals.totalRupiah == 450_000 && totals.paidRupiah == 200_000 && totals.outstandingRupiah == 250_000)
            var wrong = order("ORD-G")
            wrong.totals = OrderTotals(serviceFeeRupiah: 15_000, totalRupiah: 450_000)
            let message = try await h.expectFailure(.invalidArgument, CRMMessages.OrderService.upsertOrder, UpsertOrderRequest(key: key("wrong"), order: wrong), as: TestCaller.adapter)
            #expect(message.hasPrefix("order.totals.total_rupiah:"))
        }
    }

    @Test("a tracking event keeps its location and note; the latest revised estimate governs the order")
    func revisedEstimate() async throws {
        try await withTestServer { h in
            // The record's estimate is 30 days ahead; a later event revises it into the past, an earlier one does not count.
            _ = try await h.call(CRMMessages.OrderService.upsertOrder, UpsertOrderRequest(key: key("rev"), order: order("ORD-R")), as: TestCaller.adapter)
            func track(_ id: String, at: Int64, revised: Int64, note: String) async throws {
                var e = CRMMessages.TrackingEvent(key: key(id), orderNumber: "ORD-R", stage: .atCustoms, occurredMs: at, location: "Tanjung Priok", note: note)
                e.revisedEstimateMs = Int64Value(value: revised)
                _ = try await h.call(CRMMessages.OrderService.addTrackingEvent, AddTrackingEventRequest(event: e), as: TestCaller.adapter)
            }
            try await track("late", at: TestServer.now - 2 * 86_400_000, revised: TestServer.now - 86_400_000, note: "held for inspection")
            try await track("early", at: TestServer.now - 5 * 86_400_000, revised: TestServer.now + 90 * 86_400_000, note: "arrived")
            let got = try #require(try await h.call(CRMMessages.OrderService.getOrder, GetOrderRequest(orderNumber: "ORD-R")).order)
            #expect(got.estimatedDeliveryMs?.value == TestServer.now - 86_400_000)
            #expect(got.pastEstimate)
            #expect(got.trackingEvents.map(\.note) == ["arrived", "held for inspection"])
            #expect(got.trackingEvents.allSatisfy { $0.location == "Tanjung Priok" })
        }
    }

    @Test("a wrong line total is refused naming the field")
    func wrongLineTotal() async throws {
        try await withTestServer { h in
            var o = order("ORD-X")
            o.items[0].lineTotalRupiah = 1
            let message = try await h.expectFailure(.invalidArgument, CRMMessages.OrderService.upsertOrder, UpsertOrderRequest(key: key("x"), order: o), as: TestCaller.adapter)
            #expect(message.hasPrefix("order.items[0].line_total_rupiah:"))
        }
    }
}

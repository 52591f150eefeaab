import CRMDomain
import CRMMessages
import CRMRPC
import CRMServer
import CRMWire
import Foundation
import Testing

/// The proactive-notice sweeps on the real server, with the test clock moved instead of waiting.
@Suite("Notice sweeps")
struct NoticeSweepTests {
    static let day: Int64 = 86_400_000
    static let hour: Int64 = 3_600_000

    /// Waits until the hub has `count` subscribers (a watch call has reached its handler).
    func waitForSubscribers(_ h: ServiceHarness, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while await h.events.subscriberCount < count {
            guard ContinuousClock.now < deadline else {
                Issue.record("no watch subscribed within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test("an overdue order gets exactly one delay notice: the sweep run twice, and again after a restart, sends it once; the customer's watch receives it")
    func delayNoticeOnce() async throws {
        var h = try await ServiceHarness.start()
        do {
            let customer = try await h.seedOrder()  // estimated delivery: 30 days from the start
            #expect(try await h.sweeps.sendDelayNotices().isEmpty)

            let stream = try await h.client.serverStreaming(
                ComplaintService.watchMyNotices, WatchMyNoticesRequest(), options: try await h.options(.customer(customer)))
            try await waitForSubscribers(h, 1)
            var notices = stream.makeAsyncIterator()

            h.clock.advance(by: 31 * Self.day)
            let sent = try await h.sweeps.sendDelayNotices()
            #expect(sent.count == 1)
            #expect(try await h.sweeps.sendDelayNotices().isEmpty)
            let estimate = ServiceHarness.now + 30 * Self.day
            let notice = try #require(sent.first)
            #expect(notice.noticeID == "delay/ORD-1/\(estimate)")
            #expect(notice.kind == .orderPastEstimate)
            #expect(notice.audience == .customer)
            #expect(notice.customerID == customer)
            #expect(notice.subject == .orderNumber("ORD-1"))

            let received = try await notices.next()
            #expect(received?.notice == notice)
            stream.cancel()

            // Recorded durably: the domain's fact, the profile's list, the audit trail.
            #expect(try await h.store.containsFact(FactID("sweeper/delay/ORD-1/\(estimate)")))
            let profile = try #require(try await h.store.profile(of: CustomerID(customer)))
            #expect(profile.sentDelayNotices.map(\.description) == ["delay/ORD-1/\(estimate)"])
            let audit = try await h.store.auditEntries(subject: "ORD-1", after: nil, limit: 10)
            #expect(audit.filter { $0.entry.action == "SendDelayNotice" }.count == 1)

            h = try await h.restarted()
            h.clock.advance(by: Self.day)
            #expect(try await h.sweeps.sendDelayNotices().isEmpty)

            // A new estimate that is missed again is a new notice.
            var revised = order("ORD-1")
            revised.estimatedDeliveryMs = Int64Value(value: h.clock.now + Self.day)
            revised.revisionMs = h.clock.now
            _ = try await h.call(
                OrderService.upsertOrder, UpsertOrderRequest(key: key("order-ORD-1-revised", adapter: "oms"), order: revised), as: .adapter)
            #expect(try await h.sweeps.sendDelayNotices().isEmpty)
            h.clock.advance(by: 2 * Self.day)
            #expect(try await h.sweeps.sendDelayNotices().map(\.noticeID) == ["delay/ORD-1/\(h.clock.now - Self.day)"])
            #expect(try await h.sweeps.sendDelayNotices().isEmpty)
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    @Test("a complaint gets one warning per clock and threshold (near at 80 %, past), across runs and restarts; staff watches receive them")
    func serviceLevelWarningsOnce() async throws {
        var h = try await ServiceHarness.start()
        do {
            try await h.seedOrder()
            let opened = try await h.openComplaint("sla-1")  // Lost at Customs: first response 24 h, resolution 14 days
            let id = opened.complaintID
            let start = h.clock.now
            #expect(try await h.sweeps.sendServiceLevelWarnings().isEmpty)

            let stream = try await h.client.serverStreaming(
                ComplaintService.watchMyNotices, WatchMyNoticesRequest(kinds: [.complaintNearSla, .complaintPastSla]),
                options: try await h.options(.supervisor))
            try await waitForSubscribers(h, 1)
            var notices = stream.makeAsyncIterator()

            h.clock.advance(by: 19 * Self.hour)  // 79 % of 24 h
            #expect(try await h.sweeps.sendServiceLevelWarnings().isEmpty)
            h.clock.advance(by: Self.hour)  // 83 %
            let near = try await h.sweeps.sendServiceLevelWarnings()
            #expect(near.map(\.noticeID) == ["notice/sla/\(id)/first-response/\(start + 24 * Self.hour)/near"])
            #expect(near.first?.kind == .complaintNearSla)
            #expect(near.first?.audience == .staff)
            #expect(try await h.sweeps.sendServiceLevelWarnings().isEmpty)
            h.clock.advance(by: 5 * Self.hour)  // past 24 h
            let past = try await h.sweeps.sendServiceLevelWarnings()
            #expect(past.map(\.noticeID) == ["notice/sla/\(id)/first-response/\(start + 24 * Self.hour)/past"])
            #expect(past.first?.kind == .complaintPastSla)
            #expect(try await h.sweeps.sendServiceLevelWarnings().isEmpty)
            #expect(try await notices.next()?.notice == near.first)
            #expect(try await notices.next()?.notice == past.first)
            stream.cancel()

            // The first response stops that clock; the resolution clock runs on.
            _ = try await h.call(
                ComplaintService.transitionComplaint,
                TransitionComplaintRequest(key: key("sla-step"), complaintID: id, toState: .inReview), as: .afterSales)
            h = try await h.restarted()
            #expect(try await h.sweeps.sendServiceLevelWarnings().isEmpty)
            h.clock.advance(by: start + 12 * Self.day - h.clock.now)  // 86 % of 14 days
            let resolutionNear = try await h.sweeps.sendServiceLevelWarnings()
            #expect(resolutionNear.map(\.noticeID) == ["notice/sla/\(id)/resolution/\(start + 14 * Self.day)/near"])
            h = try await h.restarted()
            #expect(try await h.sweeps.sendServiceLevelWarnings().isEmpty)
            h.clock.advance(by: 3 * Self.day)
            #expect(try await h.sweeps.sendServiceLevelWarnings().map(\.kind) == [.complaintPastSla])
            h = try await h.restarted()
            #expect(try await h.sweeps.sendServiceLevelWarnings().isEmpty)
            let audit = try await h.store.auditEntries(subject: id, after: nil, limit: 100)
            #expect(audit.filter { $0.entry.action == "SendServiceLevelWarning" }.count == 4)
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    @Test("a warning already past its deadline at the first sweep is sent as past, without a near one before or after")
    func pastWithoutNear() async throws {
        try await withServices { h in
            try await h.seedOrder()
            _ = try await h.openComplaint("sla-2")
            h.clock.advance(by: 2 * Self.day)
            #expect(try await h.sweeps.sendServiceLevelWarnings().map(\.kind) == [.complaintPastSla])
            #expect(try await h.sweeps.sendServiceLevelWarnings().isEmpty)
        }
    }

    @Test("CRMServices provides both sweeps for the server's sweeper")
    func servicesProvideSweeps() async throws {
        try await withServices { h in
            let services = CRMServices(store: h.store, events: h.events, now: h.clock.read)
            #expect(services.sweeps(interval: .seconds(5)).map(\.name) == ["overdue-orders", "complaint-service-levels"])
            #expect(services.sweeps().allSatisfy { $0.interval == .seconds(60) })
        }
    }

    @Test("shutdown ends open watch streams at once instead of waiting out the grace period")
    func shutdownEndsWatches() async throws {
        let h = try await ServiceHarness.start()
        do {
            let stream = try await h.client.serverStreaming(
                ComplaintService.watchMyNotices, WatchMyNoticesRequest(), options: try await h.options(.supervisor))
            let interactions = try await h.client.serverStreaming(
                InteractionService.watchInteractions, WatchInteractionsRequest(), options: try await h.options(.sales))
            try await waitForSubscribers(h, 2)
            let started = ContinuousClock.now
            await h.app.shutdown()  // the configured grace period is 5 s
            let took = ContinuousClock.now - started
            #expect(took < .seconds(3), "shutdown took \(took)")
            var iterator = stream.makeAsyncIterator()
            var other = interactions.makeAsyncIterator()
            let last = try? await iterator.next()
            let lastInteraction = try? await other.next()
            #expect(last == nil)
            #expect(lastInteraction == nil)
            #expect(await h.events.subscriberCount == 0)
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }
}

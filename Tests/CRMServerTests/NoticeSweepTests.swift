import CRMDomain
import CRMMessages
import CRMRPC
import CRMServer
import CRMServerTesting
import CRMTestSupport
import CRMWire
import Foundation
import Testing

/// The proactive-notice sweeps on the real server, with the test clock moved instead of waiting.
@Suite("Notice sweeps")
struct NoticeSweepTests {
    static let day: Int64 = 86_400_000
    static let hour: Int64 = 3_600_000

    @Test("an overdue order gets exactly one delay notice: the sweep run twice, and again after a restart, sends it once; the customer's watch receives it")
    func delayNoticeOnce() async throws {
        var h = try await TestServer.start()
        do {
            let customer = try await h.seedOrder()  // estimated delivery: 30 days from the start
            #expect(try await h.sweeps.sendDelayNotices().isEmpty)

            h.clock.advance(by: 31 * Self.day)
            let sweptAt = h.clock.now
            let sent = try await h.sweeps.sendDelayNotices()
            #expect(sent.count == 1)
            #expect(try await h.sweeps.sendDelayNotices().isEmpty)
            let estimate = TestServer.now + 30 * Self.day
            let notice = try #require(sent.first)
            #expect(notice.noticeID == "delay/ORD-1/\(estimate)")
            #expect(notice.kind == .orderPastEstimate)
            #expect(notice.audience == .customer)
            #expect(notice.customerID == customer)
            #expect(notice.subject == .orderNumber("ORD-1"))

            // The customer's watch from the time of the sweep gets it (once).
            let stream = try await h.rpc.serverStreaming(
                ComplaintService.watchMyNotices, WatchMyNoticesRequest(sinceMs: sweptAt), options: try await h.options(.customer(customer)))
            var notices = stream.makeAsyncIterator()
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

    @Test("two nodes on one PostgreSQL database sweeping at the same moments send each delay notice and each warning once")
    func noticesOnceAcrossNodes() async throws {
        let url = try PostgresTestCluster.shared().createDatabase()
        let clock = TestClock()
        let first = try await TestServer.start(clock: clock, database: url)
        let second: TestServer
        do { second = try await TestServer.start(clock: clock, database: url) } catch {
            await first.stop()
            throw error
        }
        do {
            try await first.seedOrder()  // estimated delivery: 30 days from the start
            let opened = try await second.openComplaint("sla-1")  // Lost at Customs: first response due in 24 h
            let sweeps = [first.sweeps, second.sweeps]
            /// Every node sweeps four times at once; what all of them sent.
            func sweepTogether(_ sweep: @escaping @Sendable (NoticeSweeps) async throws -> [ProactiveNotice]) async throws -> [ProactiveNotice] {
                try await withThrowingTaskGroup(of: [ProactiveNotice].self) { group in
                    for round in 0..<8 { group.addTask { try await sweep(sweeps[round % 2]) } }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
            }
            clock.advance(by: 20 * Self.hour)  // 83 % of the first response's 24 h
            let near = try await sweepTogether { try await $0.sendServiceLevelWarnings() }
            #expect(near.map(\.noticeID) == ["notice/sla/\(opened.complaintID)/first-response/\(TestServer.now + 24 * Self.hour)/near"])
            clock.advance(by: 11 * Self.day)  // past the first response, and past the order's estimate
            let past = try await sweepTogether { try await $0.sendServiceLevelWarnings() }
            #expect(past.map(\.kind).filter { $0 == .complaintPastSla }.count == 1, "\(past.map(\.noticeID))")
            #expect(Set(past.map(\.noticeID)).count == past.count, "a warning sent twice: \(past.map(\.noticeID))")
            clock.advance(by: 20 * Self.day)
            let delays = try await sweepTogether { try await $0.sendDelayNotices() }
            #expect(delays.map(\.noticeID) == ["delay/ORD-1/\(TestServer.now + 30 * Self.day)"])
            let audit = try await first.store.auditEntries(subject: "ORD-1", after: nil, limit: 10)
            #expect(audit.filter { $0.entry.action == "SendDelayNotice" }.count == 1)
        } catch {
            await first.stop()
            await second.stop()
            throw error
        }
        await first.stop()
        await second.stop()
    }

    @Test("a complaint gets one warning per clock and threshold (near at 80 %, past), across runs and restarts; staff watches receive them")
    func serviceLevelWarningsOnce() async throws {
        var h = try await TestServer.start()
        do {
            try await h.seedOrder()
            let opened = try await h.openComplaint("sla-1")  // Lost at Customs: first response 24 h, resolution 14 days
            let id = opened.complaintID
            let start = h.clock.now
            #expect(try await h.sweeps.sendServiceLevelWarnings().isEmpty)

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
            // A staff watch from the start gets both, in order.
            let stream = try await h.rpc.serverStreaming(
                ComplaintService.watchMyNotices, WatchMyNoticesRequest(kinds: [.complaintNearSla, .complaintPastSla], sinceMs: start),
                options: try await h.options(.supervisor))
            var notices = stream.makeAsyncIterator()
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
        try await withTestServer { h in
            try await h.seedOrder()
            _ = try await h.openComplaint("sla-2")
            h.clock.advance(by: 2 * Self.day)
            #expect(try await h.sweeps.sendServiceLevelWarnings().map(\.kind) == [.complaintPastSla])
            #expect(try await h.sweeps.sendServiceLevelWarnings().isEmpty)
        }
    }

    @Test("CRMServices provides both sweeps for the server's sweeper")
    func servicesProvideSweeps() async throws {
        try await withTestServer { h in
            let services = CRMServices(store: h.store, events: h.events, now: h.clock.read)
            #expect(services.sweeps(interval: .seconds(5)).map(\.name) == ["overdue-orders", "complaint-service-levels"])
            #expect(services.sweeps().allSatisfy { $0.interval == .seconds(60) })
        }
    }

    @Test("shutdown ends open watch streams at once instead of waiting out the grace period")
    func shutdownEndsWatches() async throws {
        // A grace period far beyond the time limit: a shutdown that waited for the watches would fail the test.
        let h = try await TestServer.start(shutdownGracePeriod: .seconds(3_600))
        do {
            try await h.seedOrder()
            _ = try await h.call(InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("sd-1")), as: .adapter)
            h.clock.advance(by: 31 * Self.day)
            try await h.sweeps.sendDelayNotices()
            // Each watch has answered its replayed event, so its handler is subscribed and waiting for live ones.
            let stream = try await h.rpc.serverStreaming(
                ComplaintService.watchMyNotices, WatchMyNoticesRequest(sinceMs: 1), options: try await h.options(.supervisor))
            let interactions = try await h.rpc.serverStreaming(
                InteractionService.watchInteractions, WatchInteractionsRequest(sinceMs: 1), options: try await h.options(.sales))
            var iterator = stream.makeAsyncIterator()
            var other = interactions.makeAsyncIterator()
            #expect(try await iterator.next() != nil)
            #expect(try await other.next() != nil)
            try await withTimeLimit(.seconds(120), progress: { "\(await h.events.subscriberCount) subscribed on the server" }) {
                await h.app.shutdown()
                // New iterators of the same streams go on where the first ones stopped.
                var rest = stream.makeAsyncIterator()
                var otherRest = interactions.makeAsyncIterator()
                let afterRest = try await rest.next()
                #expect(afterRest == nil, "the watch ends cleanly")
                let afterOtherRest = try await otherRest.next()
                #expect(afterOtherRest == nil, "the watch ends cleanly")
                #expect(await h.events.subscriberCount == 0)
            }
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }
}

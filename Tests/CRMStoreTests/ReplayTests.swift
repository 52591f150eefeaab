import CRMDomain
import Testing
@testable import CRMStore

@Suite("Replaying the watched facts")
struct ReplayTests {
    @Test("watched facts since a time come in arrival order, page by page, up to a position, other kinds and older facts left out", arguments: StoreKind.allCases)
    func pagesInArrivalOrder(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let p = try phone("0812-3456-7890")
            // Arrival order differs from time order: the second half is older than the first.
            var facts: [Fact] = []
            for i in 0..<300 { facts.append(try message("new/\(i)", from: p, on: .whatsApp, at: jan2024 + Int64(i) * 1_000)) }
            for i in 0..<300 { facts.append(try message("old/\(i)", from: p, on: .whatsApp, at: jan2024 - 1 - Int64(i) * 1_000)) }
            facts.append(try observe("name", p, .name, "Budi", at: jan2024 + 5_000))
            facts.append(try message("late/0", from: p, on: .sms, at: jan2024 + 1))
            _ = try await store.append(facts)
            let through = try await store.lastFactPosition()
            _ = try await store.append([try message("after/0", from: p, on: .sms, at: jan2024 + 2)])

            var seen: [String] = []
            var after: Int64?
            var positions: [Int64] = []
            while true {
                let page = try await store.replayFacts(.interactions, since: jan2024, after: after, through: through, limit: 128)
                seen += page.map(\.fact.id.rawValue)
                positions += page.map(\.position)
                guard page.count == 128 else { break }
                after = page.last?.position
            }
            #expect(seen == (0..<300).map { "new/\($0)" } + ["late/0"], "only interactions at or after since, up to the position")
            #expect(positions == positions.sorted() && Set(positions).count == positions.count)
            let complaints = try await store.replayFacts(.complaintSteps, since: 0, after: nil, through: .max, limit: 10)
            #expect(complaints.isEmpty)
            #expect(try await store.replayFacts(.interactions, since: jan2024 + 10_000_000, after: nil, through: .max, limit: 10).isEmpty)
        }
    }

    @Test("sent notices since a time, by time then id, page by page", arguments: StoreKind.allCases)
    func sentNotices(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for i in 0..<5 { _ = try await store.recordNoticeSent("sla/K-\(i)/resolution/\(i)/near", subject: "K-\(i)", at: 1_000 + Int64(i % 3)) }
            let first = try await store.sentNotices(since: 1_001, after: nil, limit: 2)
            #expect(first.map(\.at) == [1_001, 1_001])
            let rest = try await store.sentNotices(since: 1_001, after: first.last, limit: 10)
            #expect(rest.map(\.at) == [1_002])
            #expect(rest.first?.subject == "K-2")
        }
    }
}

import CRMDataset
import CRMDomain
import CRMMessages
import CRMServerTesting
import Foundation
import Testing

@testable import CRMServer

/// Convergence as a client sees it: two servers given one fact set (customers merged by links, a pair unlinked again,
/// an id reused by another fact, duplicates) in different orders and batchings answer every GetProfile and
/// GetCallerSnapshot with the same protobuf bytes, and the snapshot is the wire form of the domain's own projection of
/// the set. The seeds differ from run to run; a failure names the run's first seed, which CRM_CONVERGENCE_SEED replays.
@Suite("Convergence of what clients receive")
struct WireConvergenceTests {
    /// The seed of case 0 in this run: random, unless CRM_CONVERGENCE_SEED gives it.
    static let firstSeed: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["CRM_CONVERGENCE_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 0...UInt64(UInt32.max))
    }()

    @Test("two servers given one fact set in different orders send the same profile and snapshot bytes, the domain's", arguments: 0..<3)
    func sameBytes(index: Int) async throws {
        let seed = Self.firstSeed &+ UInt64(index)
        let label = "seed \(seed) (case \(index) of the run CRM_CONVERGENCE_SEED=\(Self.firstSeed) replays)"
        var random = SplitMix64(seed: seed)
        let facts = try Self.factSet(seed: seed, &random)
        let sequential = Self.batches(facts.shuffled(using: &random), &random)
        let raced = Self.batches(facts.shuffled(using: &random), &random)

        let a = try await TestServer.start()
        let b = try await TestServer.start()
        do {
            for batch in sequential { _ = try await a.store.append(batch) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for batch in raced { group.addTask { _ = try await b.store.append(batch) } }
                try await group.waitForAll()
            }
            let oracle = ProfileProjection(facts: facts)
            let handles = Set(facts.flatMap(\.mentionedHandles)).sorted { $0.canonical < $1.canonical }
            var known = 0
            for handle in handles {
                let selector = CustomerSelector(target: .handle(handle.wire))
                let profileRequest = GetProfileRequest(customer: selector, interactionLimit: 200)
                let snapshotRequest = GetCallerSnapshotRequest(customer: selector, channel: .phoneCall)
                guard let expected = oracle.profile(for: handle) else {
                    try await a.expectFailure(.notFound, ProfileService.getProfile, profileRequest)
                    continue
                }
                known += 1
                let profileA = try await a.call(ProfileService.getProfile, profileRequest)
                let profileB = try await b.call(ProfileService.getProfile, profileRequest)
                #expect(try profileA.wireBytes() == profileB.wireBytes(), "\(label), \(handle): GetProfile bytes differ")
                #expect(profileA.profile?.customerID == expected.id.rawValue, "\(label), \(handle): another customer")
                let snapshotA = try await a.call(ProfileService.getCallerSnapshot, snapshotRequest)
                let snapshotB = try await b.call(ProfileService.getCallerSnapshot, snapshotRequest)
                let now = a.clock.now
                let domain = CRMDomain.CallerSnapshot(summary: expected.summary, now: now, problem: ProblemType(intent: .unspecified))
                let wire = GetCallerSnapshotResponse(
                    known: true, snapshot: CRMMessages.CallerSnapshot(domain, summary: expected.summary, matched: handle, now: now))
                #expect(try snapshotA.wireBytes() == wire.wireBytes(), "\(label), \(handle): server A's snapshot is not the domain's")
                #expect(try snapshotB.wireBytes() == wire.wireBytes(), "\(label), \(handle): server B's snapshot is not the domain's")
            }
            #expect(known > 10, "\(label): only \(known) handles have a customer; the case tests little")
        } catch {
            await a.stop()
            await b.stop()
            throw error
        }
        await a.stop()
        await b.stop()
    }

    /// Ten generated customers (orders, complaints, interactions), links joining some of them, an unlink, an id reused
    /// by a different fact, and a fifth of the facts again.
    static func factSet(seed: UInt64, _ random: inout SplitMix64) throws -> [Fact] {
        let generator = DatasetGenerator(seed: seed, now: TestServer.now, interactionsPerCustomer: 6)
        let customers = (0..<10).map(generator.customer)
        var facts = customers.flatMap(\.facts)
        var linked: [HandlePair] = []
        for n in 0..<5 {
            let first = customers[Int(random.next() % 10)], second = customers[Int(random.next() % 10)]
            guard first.index != second.index, let other = second.handles.last else { continue }
            let pair = try HandlePair(first.phone, other)
            linked.append(pair)
            facts.append(Fact(
                id: try FactID("wire-link-\(n)"), observedAt: TestServer.now - Int64(10 - n) * Milliseconds.hour, source: .agent,
                payload: .identityLink(pair)))
        }
        if let pair = linked.first {
            facts.append(Fact(
                id: try FactID("wire-unlink"), observedAt: TestServer.now - Milliseconds.hour, source: .agent, payload: .identityUnlink(pair)))
        }
        let reused = facts[Int(random.next() % UInt64(facts.count))]
        facts.append(Fact(
            id: reused.id, observedAt: reused.observedAt, source: .agent,
            payload: .fieldObservation(FieldObservation(handle: customers[0].phone, field: .name, value: "Nama Lain"))))
        facts += (0..<(facts.count / 5)).map { _ in facts[Int(random.next() % UInt64(facts.count))] }
        return facts
    }

    static func batches(_ facts: [Fact], _ random: inout SplitMix64) -> [[Fact]] {
        var result: [[Fact]] = []
        var start = 0
        while start < facts.count {
            let size = 1 + Int(random.next() % 40)
            result.append(Array(facts[start..<min(start + size, facts.count)]))
            start += size
        }
        return result
    }
}

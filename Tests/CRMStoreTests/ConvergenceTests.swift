import Foundation
import Testing
@testable import CRMDomain
@testable import CRMStore

// The store keeps the domain's convergence: the derived state and every profile read back are functions of the SET
// of facts. Random fact sets over small pools (so links collide, unlinks split, order records compete, complaint
// steps arrive out of order and ids conflict) are appended to two stores in different orders and batchings — one
// sequentially, one by racing appenders — with duplicates; both must read back the domain's own projection of the
// set, byte for byte, and hold identical derived tables. The seeds differ from run to run (each failure names the run's
// first seed; CRM_CONVERGENCE_SEED replays it).

private struct RandomFacts {
    var rng: SplitMix
    static let handles: [(HandleKind, String)] = [
        (.phone, "0812-1111-1111"), (.phone, "62812 2222 2222"), (.phone, "+62 813 3333 3333"), (.phone, "(021) 5555-6666"),
        (.email, "budi@tokojaya.id"), (.email, "Sari@Example.co.id"), (.instagram, "@TokoJaya"), (.orderSystem, "C-001"),
        (.orderSystem, "C-002"),
    ]
    static let base: Int64 = 1_717_200_000_000

    mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }

    func handle(_ i: Int) throws -> Handle {
        let (kind, raw) = Self.handles[i % Self.handles.count]
        return try Handle(kind: kind, raw: raw)
    }

    mutating func fact(id: Int) throws -> Fact {
        let at = Self.base + Int64(int(12)) * Milliseconds.hour
        let source = FactSource.allCases[int(FactSource.allCases.count)]
        let payload: FactPayload
        switch int(12) {
        case 0, 1:
            let a = int(9), b = (a + 1 + int(8)) % 9
            payload = .identityLink(try HandlePair(handle(a), handle(b)))
        case 2:
            let a = int(9), b = (a + 1 + int(8)) % 9
            payload = .identityUnlink(try HandlePair(handle(a), handle(b)))
        case 3:
            payload = .fieldObservation(FieldObservation(
                handle: try handle(int(9)), field: ProfileField.allCases[int(4)], value: ["Budi", "Sari", "", "PT Jaya"][int(4)]))
        case 4, 5:
            let h = try handle(int(9))
            let channel: Channel = switch h.kind {
            case .phone: [.whatsApp, .sms, .phoneCall][int(3)]
            case .email: .email
            case .instagram: .instagram
            default: .inPerson
            }
            payload = .interaction(try Interaction(
                channel: channel, direction: int(2) == 0 ? .inbound : .outbound, handle: h,
                intent: InteractionIntent.allCases[int(5)], summary: "pesan \(id)"))
        case 6:
            let n = int(3)
            let placed = Self.base - Int64(int(400)) * Milliseconds.day
            payload = .order(try OrderRecord(
                orderNumber: OrderNumber("O\(n)"), customer: handle(int(9)),
                items: [OrderItem(sku: "SKU-\(n)", name: "Barang", quantity: Int64(1 + int(5)), unitPrice: Int64(int(4)) * 60_000_000)],
                placedAt: placed, estimatedDeliveryAt: placed + Int64(int(90)) * Milliseconds.day, destinationCity: "Depok"))
        case 7:
            payload = .tracking(TrackingEvent(orderNumber: try OrderNumber("O\(int(3))"), stage: TrackingStage.allCases[int(7)]))
        case 8:
            let k = int(2)
            payload = .complaintOpened(try ComplaintOpening(
                id: ComplaintID("K\(k)"), customer: handle(int(9)), orderNumber: OrderNumber("O\(int(3))"),
                category: ComplaintCategory.allCases[int(4)], summary: "keluhan", openedBy: Actor(role: .sales, id: "sari")))
        case 9:
            let actions: [(ComplaintAction, ActorRole)] = [
                (.startReview, .afterSales), (.askSupplier(note: "cek"), .afterSales), (.decide(try decision(refunding: 100_000)), .afterSales),
                (.reject(reason: "tidak terbukti"), .afterSales), (.informCustomer, .sales), (.close, .sales), (.reopen(reason: "keberatan"), .sales),
            ]
            let (action, role) = actions[int(actions.count)]
            payload = .complaintTransition(ComplaintStep(complaintID: try ComplaintID("K\(int(2))"), action: action, actor: try Actor(role: role, id: "u")))
        case 10:
            let order = int(3)
            payload = .returnInspection(try ReturnInspection(
                complaintID: ComplaintID("K\(int(2))"), orderNumber: OrderNumber("O\(order)"),
                verdict: InspectionVerdict.allCases[int(3)],
                items: [InspectedItem(sku: "SKU-\(order)", returned: 2, accepted: Int64(int(3)))],
                localShippingCost: Int64(int(3)) * 10_000, receivedAt: nil, inspectedBy: "gudang", notes: ""))
        default:
            payload = .rating(try Rating(handle: handle(int(9)), stars: 1 + int(5), comment: "ok"))
        }
        return Fact(id: try FactID("f\(id)"), observedAt: at, source: source, payload: payload)
    }

    /// A fact set of `count` ids, some ids used two or three times with different content (an adapter bug), plus
    /// duplicates.
    mutating func factSet(count: Int) throws -> [Fact] {
        var facts: [Fact] = []
        for id in 0..<count {
            facts.append(try fact(id: id))
            if int(8) == 0 {  // conflicting twins
                for _ in 0..<(1 + int(2)) { facts.append(try fact(id: id)) }
            }
        }
        for _ in 0..<(count / 4) { facts.append(facts[int(facts.count)]) }  // plain duplicates
        return facts
    }

    mutating func shuffled<T>(_ items: [T]) -> [T] {
        var copy = items
        for i in stride(from: copy.count - 1, to: 0, by: -1) { copy.swapAt(i, int(i + 1)) }
        return copy
    }

    mutating func batches<T>(_ items: [T]) -> [[T]] {
        var result: [[T]] = []
        var i = 0
        while i < items.count {
            let size = 1 + int(6)
            result.append(Array(items[i..<min(i + size, items.count)]))
            i += size
        }
        return result
    }
}

/// SplitMix64, seeded per case, so a failure names its seed and can be replayed.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Convergence of the stored state")
struct ConvergenceTests {
    static let cases = 120

    /// The seed of case 0 in this run: random, unless CRM_CONVERGENCE_SEED gives it to replay a failed run.
    static let firstSeed: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["CRM_CONVERGENCE_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 0...UInt64(UInt32.max))
    }()

    /// The cases each store runs: fewer on PostgreSQL, where each case makes two databases.
    static let runs: [(StoreKind, Int)] = (0..<cases).map { (.sqlite, $0) } + (0..<cases / 4).map { (.postgres, $0) }

    @Test("any order, batching and duplication of a fact set gives the same derived state and the domain's profiles", arguments: runs)
    func convergence(kind: StoreKind, index: Int) async throws {
        let seed = "\(Self.firstSeed &+ UInt64(index)) (case \(index) of the run CRM_CONVERGENCE_SEED=\(Self.firstSeed) replays, \(kind))"
        if index == 0 { print("ConvergenceTests: CRM_CONVERGENCE_SEED=\(Self.firstSeed)") }
        var random = RandomFacts(rng: SplitMix(state: (Self.firstSeed &+ UInt64(index)) &* 0x51_7CC1_B727_220A &+ 1))
        let facts = try random.factSet(count: 8 + random.int(28))
        let oracle = ProfileProjection(facts: facts)
        let handles = try (0..<RandomFacts.handles.count).map { try random.handle($0) }

        // Store A: one order, appended batch after batch.
        let sequential = random.batches(random.shuffled(facts))
        // Store B: another order, its batches raced by concurrent appenders.
        let raced = random.batches(random.shuffled(facts + random.shuffled(facts).prefix(5)))

        let a = try await withStore(kind) { store in
            for batch in sequential { _ = try await store.append(batch) }
            return try await Self.readBack(store, handles)
        }
        let b = try await withStore(kind) { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for batch in raced { group.addTask { _ = try await store.append(batch) } }
                try await group.waitForAll()
            }
            return try await Self.readBack(store, handles)
        }
        #expect(a.profiles.contains { $0 != nil }, "seed \(seed): no handle has a profile, the case tests nothing")
        #expect(a.problems == [], "seed \(seed)")
        #expect(b.problems == [], "seed \(seed)")
        #expect(a.dump == b.dump, "seed \(seed): derived tables differ")
        for (n, handle) in handles.enumerated() {
            let expected = oracle.profile(for: handle)
            #expect(a.profiles[n] == expected?.canonicalDescription, "seed \(seed), \(handle): store A differs from the domain")
            #expect(b.profiles[n] == expected?.canonicalDescription, "seed \(seed), \(handle): store B differs from the domain")
            // The same customer read by id, and the caller snapshot read by handle, come from the same projection.
            #expect(a.byID[n] == expected?.canonicalDescription, "seed \(seed), \(handle): store A by customer id differs")
            let snapshot = expected.map { CallerSnapshot(profile: $0, now: Self.snapshotTime, problem: .complaint(nil)) }
            #expect(a.snapshots[n] == snapshot, "seed \(seed), \(handle): store A's caller snapshot differs")
            #expect(b.snapshots[n] == snapshot, "seed \(seed), \(handle): store B's caller snapshot differs")
            // The stored read model, kept by folds and rebuilds as the facts arrived, is the projection's, byte for byte.
            let summary = try expected.map { try SummaryCodec.encode($0.summary) }
            #expect(a.summaries[n] == summary, "seed \(seed), \(handle): store A's read model differs from the domain's")
            #expect(b.summaries[n] == summary, "seed \(seed), \(handle): store B's read model differs from the domain's")
        }
        // Return inspections are read by complaint: the facts that won their ids, in precedence order.
        let winners = Dictionary(facts.map { ($0.id, $0) }, uniquingKeysWith: { Fact.keep($0, or: $1) }).values
        for (n, complaint) in Self.complaints.enumerated() {
            let expected = winners.filter {
                if case .returnInspection(let inspection) = $0.payload { inspection.complaintID == complaint } else { false }
            }.sorted { $0.precedence < $1.precedence }.map(\.canonicalDescription)
            #expect(a.inspections[n] == expected, "seed \(seed), \(complaint): store A's return inspections differ")
            #expect(b.inspections[n] == expected, "seed \(seed), \(complaint): store B's return inspections differ")
        }
    }

    static let complaints = [try! ComplaintID("K0"), try! ComplaintID("K1")]

    /// Late enough that some orders are overdue and some complaints past their clocks.
    static let snapshotTime = RandomFacts.base + 30 * Milliseconds.day

    private static func readBack(
        _ store: any InspectableStore, _ handles: [Handle]
    ) async throws -> (
        dump: String, profiles: [String?], byID: [String?], snapshots: [CallerSnapshot?], summaries: [[UInt8]?], problems: [String],
        inspections: [[String]]
    ) {
        var profiles: [String?] = []
        var byID: [String?] = []
        var snapshots: [CallerSnapshot?] = []
        var summaries: [[UInt8]?] = []
        for handle in handles {
            profiles.append(try await store.profile(for: handle)?.canonicalDescription)
            if let id = try await store.customerID(for: handle) {
                byID.append(try await store.profile(of: id)?.canonicalDescription)
                summaries.append(try await store.storedSummaryBytes(of: id))
            } else {
                byID.append(nil)
                summaries.append(nil)
            }
            snapshots.append(try await store.callerSnapshot(for: handle, now: snapshotTime, problem: .complaint(nil)))
        }
        let problems = try await store.verificationProblems()
        var inspections: [[String]] = []
        for complaint in complaints { inspections.append(try await store.returnInspections(of: complaint).map(\.canonicalDescription)) }
        return (try await store.derivedStateDump(), profiles, byID, snapshots, summaries, problems, inspections)
    }
}

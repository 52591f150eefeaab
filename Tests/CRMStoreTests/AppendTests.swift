import CRMDomain
import CRMTestSupport
import Foundation
import Testing
@testable import CRMStore

@Suite("Appending facts")
struct AppendTests {
    @Test("a fact is inserted once; the same fact again is a duplicate that changes nothing", arguments: StoreKind.allCases)
    func idempotency(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let p = try phone("0812-1111-2222")
            let facts = [try message("whatsapp/1", from: p, on: .whatsApp, at: jan2024), try observe("agent/1", p, .name, "Budi", at: jan2024)]
            #expect(try await store.append(facts) == [.inserted, .inserted])
            let before = try await store.derivedStateDump()
            #expect(try await store.append(facts + facts) == [.duplicate, .duplicate, .duplicate, .duplicate])
            #expect(try await store.derivedStateDump() == before)
            #expect(try await store.containsFact(FactID("whatsapp/1")))
            // Within one append, the second copy sees the first.
            let fresh = try message("whatsapp/2", from: p, on: .whatsApp, at: jan2024 + hour)
            #expect(try await store.append([fresh, fresh]) == [.inserted, .duplicate])
        }
    }

    @Test("two different facts with one id: the smaller canonical encoding stays, whichever came first", arguments: StoreKind.allCases)
    func conflictingIDs(kind: StoreKind) async throws {
        let p = try phone("0812-1111-2222")
        let a = try observe("adapter/7", p, .name, "Budi", at: jan2024)
        let b = try observe("adapter/7", p, .name, "Andi", at: jan2024)
        let winner = a.canonicalDescription.utf8.lexicographicallyPrecedes(b.canonicalDescription.utf8) ? a : b
        var dumps: [String] = []
        for (first, second) in [(a, b), (b, a)] {
            try await withStore(kind) { store in
                _ = try await store.append([first])
                let outcome = try await store.append([second])
                #expect(outcome == [.conflict(replaced: second == winner)])
                #expect(try await store.profile(for: p)?.name == (winner == a ? "Budi" : "Andi"))
                #expect(try await store.verificationProblems() == [])
                dumps.append(try await store.derivedStateDump())
            }
        }
        #expect(dumps[0] == dumps[1])
    }

    @Test("acknowledged facts survive closing and reopening the file")
    func durableAcrossReopen() async throws {
        let dir = try TemporaryDirectory()
        let p = try phone("+62 812 1111 2222")
        try await withStore(in: dir) { store in
            _ = try await store.append([try message("whatsapp/1", from: p, on: .whatsApp, at: jan2024)])
        }
        let sameNumber = try phone("0812-1111-2222")
        let again = try message("whatsapp/1", from: p, on: .whatsApp, at: jan2024)
        try await withStore(in: dir) { store in
            let profile = try await store.profile(for: sameNumber)
            #expect(profile?.timeline.count == 1)
            let outcome = try await store.append([again])
            #expect(outcome == [.duplicate])
        }
    }

    @Test("an append over the limits is refused whole, naming the fact, and stores nothing")
    func limits() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteStore(path: dir.file("crm.sqlite"), limits: StoreLimits(maximumFactsPerAppend: 3, maximumFactBytes: 200, maximumFactsPerTransaction: 10))
        let p = try phone("0812-1111-2222")
        let big = try message("whatsapp/big", from: p, on: .whatsApp, at: jan2024, summary: String(repeating: "a", count: 300))
        let small = try message("whatsapp/small", from: p, on: .whatsApp, at: jan2024)
        await #expect {
            try await store.append([small, big])
        } throws: { error in
            guard case let StoreError.invalidFact(index, id, reason)? = error as? StoreError else { return false }
            return index == 1 && id == "whatsapp/big" && reason.contains("limit of 200")
        }
        await #expect(throws: StoreError.self) { try await store.append([small, small, small, small]) }
        #expect(try await store.storedFactCount(id: FactID("whatsapp/small")) == 0)
        try await store.close()
        await #expect(throws: StoreError.self) { try await store.append([small]) }
    }

    @Test("concurrent appenders share transactions (group commit) and every one is acknowledged", arguments: StoreKind.allCases)
    func groupCommit(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let handles = try (0..<50).map { try phone("0812-3000-\(1000 + $0)") }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (n, handle) in handles.enumerated() {
                    group.addTask {
                        for m in 0..<10 {
                            let outcome = try await store.append([try message("whatsapp/\(n)-\(m)", from: handle, on: .whatsApp, at: jan2024 + Int64(m) * hour)])
                            #expect(outcome == [.inserted])
                        }
                    }
                }
                try await group.waitForAll()
            }
            let stats = store.writerStatistics
            #expect(stats.writes == 500)
            #expect(stats.transactions < 500, "no transaction carried more than one append: \(stats)")
            for handle in handles { #expect(try await store.profile(for: handle)?.timeline.count == 10) }
            #expect(try await store.verificationProblems() == [])
        }
    }

    @Test("a write that fails inside a shared transaction fails only its own caller", arguments: StoreKind.allCases)
    func failureIsolation(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let p = try phone("0812-1111-2222")
            _ = try await store.append([try observe("agent/broken", p, .name, "Budi", at: jan2024)])
            // Damage the stored payload so that settling a conflict on this id must decode it and fail.
            try await store.damagePayload(ofFact: "agent/broken")
            let conflicting = try observe("agent/broken", p, .name, "Siti", at: jan2024)
            let others = try (0..<40).map { try message("whatsapp/\($0)", from: phone("0812-4000-\(1000 + $0)"), on: .whatsApp, at: jan2024) }
            // The failing append is sent amid the others, so that it waits for the writer with them and shares their
            // transaction rather than having one of its own.
            let results = await withTaskGroup(of: (Int, Bool).self) { group in
                for (n, f) in others.enumerated() {
                    group.addTask { (n, (try? await store.append([f])) == [.inserted]) }
                    if n == others.count / 2 { group.addTask { (-1, (try? await store.append([conflicting])) != nil) } }
                }
                var results: [Int: Bool] = [:]
                for await (n, ok) in group { results[n] = ok }
                return results
            }
            #expect(results[-1] == false)
            let othersCommitted = results.filter { $0.key >= 0 }.allSatisfy { $0.value }
            #expect(othersCommitted)
            for f in others { #expect(try await store.storedFactCount(id: f.id) == 1) }
            // Everything the others' appends wrote besides their facts is there too: keys, owners, read models.
            for f in others {
                let handle = try #require(f.mentionedHandles.first)
                #expect(try await store.profile(for: handle)?.timeline.map(\.factID) == [f.id])
                let customer = try #require(try await store.customerID(for: handle))
                #expect(try await store.storedSummaryBytes(of: customer) != nil)
            }
        }
    }
}

@Suite("Durability settings")
struct DurabilitySettingsTests {
    @Test("the writer syncs the WAL at every commit (synchronous=FULL), in WAL mode")
    func synchronousFull() async throws {
        try await withStore { store in
            let synchronous = try store.writerSynchronousSetting()
            let journal = try store.journalMode()
            #expect(synchronous == 2)
            #expect(journal == "wal")
        }
    }
}

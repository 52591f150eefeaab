import Testing
@testable import CRMDomain

@Suite("Identity graph: links, unlinks and customer ids")
struct IdentityGraphTests {
    let p1: Handle, p2: Handle, e1: Handle, ig: Handle, c1: Handle

    init() throws {
        p1 = try phone("0812-1111-1111")
        p2 = try phone("0812-2222-2222")
        e1 = try email("budi@tokojaya.id")
        ig = try Handle.instagram("@tokojaya")
        c1 = try oms("C-001")
    }

    func groups(_ facts: [Fact]) -> [[Handle]] {
        IdentityGraph(facts: facts).components.map(\.handles).sorted { $0[0] < $1[0] }
    }

    @Test("A link merges two handles into one customer, transitively")
    func linkMerges() throws {
        let facts = [
            try message("m1", from: p1, on: .whatsApp, at: 1),
            try link("l1", p1, e1, at: 2),
            try link("l2", e1, ig, at: 3),
            try message("m2", from: p2, on: .sms, at: 4),
        ]
        #expect(groups(facts) == [[p1, e1, ig], [p2]])
    }

    @Test("A pair's newest assertion wins: unlink after link splits, link after unlink merges")
    func newestAssertionWins() throws {
        #expect(groups([try link("a", p1, e1, at: 1), try unlink("b", p1, e1, at: 2)]) == [[p1], [e1]])
        #expect(groups([try unlink("a", p1, e1, at: 1), try link("b", p1, e1, at: 2)]) == [[p1, e1]])
    }

    @Test("At the same instant the higher source priority wins, then the greater fact id")
    func tieBreaks() throws {
        // agent (4) beats channel (1) whatever the ids
        #expect(groups([try link("z", p1, e1, at: 5, source: .channel), try unlink("a", p1, e1, at: 5, source: .agent)]) == [[p1], [e1]])
        // same source: the greater id ("b" > "a") wins
        #expect(groups([try link("b", p1, e1, at: 5), try unlink("a", p1, e1, at: 5)]) == [[p1, e1]])
        #expect(groups([try link("a", p1, e1, at: 5), try unlink("b", p1, e1, at: 5)]) == [[p1], [e1]])
    }

    @Test("An unlink of two handles joined through a third cuts the older link on the path")
    func unlinkSplitsPath() throws {
        let facts = [try link("l1", p1, e1, at: 1), try link("l2", e1, ig, at: 2), try unlink("u", p1, ig, at: 3)]
        #expect(groups(facts) == [[p1], [e1, ig]])
        // the same with the ages of the links swapped cuts the other link
        let swapped = [try link("l1", p1, e1, at: 2), try link("l2", e1, ig, at: 1), try unlink("u", p1, ig, at: 3)]
        #expect(groups(swapped) == [[p1, e1], [ig]])
    }

    @Test("Links newer than an unlink override it, even along a path")
    func newerLinksOverrideUnlink() throws {
        let facts = [try unlink("u", p1, ig, at: 1), try link("l1", p1, e1, at: 2), try link("l2", e1, ig, at: 3)]
        #expect(groups(facts) == [[p1, e1, ig]])
    }

    @Test("The customer id derives from the handle seen first, so adding a channel keeps it")
    func idAnchoredOnFirstSeen() throws {
        let before = IdentityGraph(facts: [try message("m1", from: e1, on: .email, at: 10)])
        let after = IdentityGraph(facts: [
            try message("m1", from: e1, on: .email, at: 10),
            try link("l1", e1, p1, at: 20), // p1 sorts before e1 but is newer
        ])
        let id = try #require(before.component(containing: e1)?.id)
        #expect(id == CustomerID.derived(fromAnchor: e1))
        #expect(after.component(containing: p1)?.id == id)
        #expect(after.component(containing: p1)?.anchor == e1)
    }

    @Test("A merge keeps the id of the customer known longest; ties go to the smaller handle")
    func mergeKeepsOlderID() throws {
        let facts = [
            try message("m1", from: p1, on: .whatsApp, at: 50),
            try message("m2", from: c1, on: .webChat, at: 5),
            try link("l", p1, c1, at: 60),
        ]
        #expect(IdentityGraph(facts: facts).component(containing: p1)?.id == CustomerID.derived(fromAnchor: c1))
        let tie = [try link("l", e1, p1, at: 7)]
        #expect(IdentityGraph(facts: tie).component(containing: e1)?.anchor == p1)
    }

    @Test("A handle paired with itself is refused")
    func selfLink() throws {
        #expect(throws: IdentityError.sameHandle(p1)) { try HandlePair(p1, p1) }
        #expect(IdentityError.sameHandle(p1).description == "Cannot link or unlink phone:+6281211111111 with itself; name two different handles.")
    }

    @Test("Pairs are unordered")
    func pairsUnordered() throws {
        #expect(try HandlePair(e1, p1) == HandlePair(p1, e1))
        #expect(try HandlePair(e1, p1).first == p1)
    }

    @Test("The projection resolves one customer exactly as the whole graph does")
    func projectionAgreesWithGraph() throws {
        let facts = [
            try link("l1", p1, e1, at: 1), try link("l2", e1, ig, at: 2), try unlink("u", p1, ig, at: 3),
            try link("l3", p2, c1, at: 4), try message("m", from: p2, on: .sms, at: 0),
        ]
        let graph = IdentityGraph(facts: facts)
        let projection = ProfileProjection(facts: facts)
        for handle in [p1, p2, e1, ig, c1] {
            #expect(projection.component(containing: handle) == graph.component(containing: handle))
        }
        #expect(projection.component(containing: try phone("0812-9999-9999")) == nil)
    }
}

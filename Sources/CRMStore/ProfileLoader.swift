import CRMDomain
import GRDB

/// Gathers the facts a customer's profile depends on and projects it with the domain's ``ProfileProjection``.
///
/// The facts are: every fact naming one of the customer's handles; the links and unlinks of the whole plain
/// component around them (an unlink may have split it, and the split depends on every link in it); and every fact
/// filed under an order number or complaint id those facts name (a newer record of the order may give it to someone
/// else; the tracking and the steps are needed to derive status and state). All are index range reads.
struct ProfileLoader {
    let db: Database

    private static let members = "SELECT handle FROM handles WHERE customer_id = ? ORDER BY handle"
    private static let anchor = "SELECT anchor FROM customers WHERE customer_id = ?"

    /// The handles of a customer, ascending by canonical form (empty when the id is unknown).
    func members(of customerID: String, handles: HandleCache = HandleCache()) throws -> [Handle] {
        try String.fetchAll(db.cachedStatement(sql: Self.members), arguments: [customerID]).map { canonical in
            do { return try handles.handle(canonical: canonical) } catch { throw StoreError.corruptFact(id: canonical, reason: "\(error)") }
        }
    }

    /// The customer a handle belongs to and that customer's anchor, in one read.
    private static let ownerAndAnchor = """
        SELECT h.customer_id, c.anchor FROM handles h LEFT JOIN customers c ON c.customer_id = h.customer_id WHERE h.handle = ?
        """
    /// Every fact naming any handle of a customer, with the handle it was found under: one statement instead of one
    /// for the members and one per member.
    private static let memberFacts = """
        SELECT m.handle, f.seq, f.fact_id, f.observed_at, f.source, f.payload
        FROM handles m JOIN fact_keys k ON k.key = 'h/' || m.handle JOIN facts f ON f.seq = k.fact_seq
        WHERE m.customer_id = ?
        """

    /// The profile of the customer `handle` belongs to, or `nil` when no fact names it.
    func profile(ofHandle handle: Handle) throws -> CustomerProfile? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: Self.ownerAndAnchor), arguments: [handle.canonical]) else { return nil }
        return try profile(of: row[0], anchor: row[1])
    }

    /// The profile of a customer, or `nil` when the id is unknown.
    func profile(of customerID: String) throws -> CustomerProfile? {
        try profile(of: customerID, anchor: String.fetchOne(db.cachedStatement(sql: Self.anchor), arguments: [customerID]))
    }

    private func profile(of customerID: String, anchor storedAnchor: String?) throws -> CustomerProfile? {
        let cache = HandleCache()
        var memberSet: Set<String> = []
        var seen: Set<Int64> = []
        var facts: [Fact] = []
        facts.reserveCapacity(32)
        let cursor = try Row.fetchCursor(db.cachedStatement(sql: Self.memberFacts), arguments: [customerID])
        while let row = try cursor.next() {
            memberSet.insert(row[0])
            let seq: Int64 = row[1]
            guard seen.insert(seq).inserted else { continue }
            let stored = StoredFactRow(
                seq: seq, id: row[2], observedAt: row[3], sourceCode: UInt8(truncatingIfNeeded: row[4] as Int64), payload: row[5])
            facts.append(try stored.decoded(handles: cache))
        }
        // Every stored handle is named by at least one fact (a handle whose last fact was replaced away is deleted),
        // so the members are the handles the facts were found under.
        let members = try memberSet.sorted().map { canonical in
            do { return try cache.handle(canonical: canonical) } catch { throw StoreError.corruptFact(id: canonical, reason: "\(error)") }
        }
        guard let first = members.first else { return nil }
        let queries = FactQueries(db: db)
        func add(_ rows: [StoredFactRow]) throws {
            for row in rows where seen.insert(row.seq).inserted { facts.append(try row.decoded(handles: cache)) }
        }

        // The plain component: follow winning links beyond the customer's own handles.
        var visited = Set(members)
        var queue: [Handle] = []
        func follow(from handle: Handle, in candidates: [Fact]) {
            var winners: [HandlePair: Fact] = [:]
            for fact in candidates {
                guard let pair = fact.handlePair, pair.first == handle || pair.second == handle else { continue }
                if winners[pair].map({ $0.precedence < fact.precedence }) ?? true { winners[pair] = fact }
            }
            for (pair, winner) in winners {
                guard case .identityLink = winner.payload else { continue }
                let other = pair.first == handle ? pair.second : pair.first
                if visited.insert(other).inserted { queue.append(other) }
            }
        }
        for handle in members { follow(from: handle, in: facts) }
        while let handle = queue.popLast() {
            let rows = try queries.rows(key: FactKey.handle(handle), kinds: FactKind.identity)
            try add(rows)
            follow(from: handle, in: try rows.map { try $0.decoded(handles: cache) })
        }

        var orderNumbers: Set<OrderNumber> = []
        var complaintIDs: Set<ComplaintID> = []
        for fact in facts {
            switch fact.payload {
            case let .order(o): orderNumbers.insert(o.orderNumber)
            case let .complaintOpened(c): complaintIDs.insert(c.id)
            default: continue
            }
        }
        for number in orderNumbers { try add(queries.rows(key: FactKey.order(number))) }
        for id in complaintIDs { try add(queries.rows(key: FactKey.complaint(id))) }

        let anchor = storedAnchor.flatMap { try? cache.handle(canonical: $0) }
        return ProfileProjection(facts: facts).profile(for: anchor ?? first)
    }
}

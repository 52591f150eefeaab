import CRMDomain

/// Gathers the facts a customer's profile depends on and projects it with the domain's ``ProfileProjection``.
///
/// The facts are: every fact naming one of the customer's handles; the links and unlinks of the whole plain
/// component around them (an unlink may have split it, and the split depends on every link in it); and every fact
/// filed under an order number or complaint id those facts name (a newer record of the order may give it to someone
/// else; the tracking and the steps are needed to derive status and state). All are index range reads.
struct ProfileLoader<Tables: StoreTables> {
    let tables: Tables

    /// The handles of a customer, ascending by canonical form (empty when the id is unknown).
    func members(of customerID: String, handles: HandleCache = HandleCache()) throws -> [Handle] {
        try tables.members(of: customerID).map { canonical in
            do { return try handles.handle(canonical: canonical) } catch { throw StoreError.corruptFact(id: canonical, reason: "\(error)") }
        }
    }

    /// The profile of the customer `handle` belongs to, or `nil` when no fact names it.
    func profile(ofHandle handle: Handle) throws -> CustomerProfile? {
        guard let (customer, anchor) = try tables.ownerAndAnchor(of: handle.canonical) else { return nil }
        return try profile(of: customer, anchor: anchor)
    }

    /// The profile of a customer, or `nil` when the id is unknown.
    func profile(of customerID: String) throws -> CustomerProfile? {
        try profile(of: customerID, anchor: tables.anchor(of: customerID))
    }

    private func profile(of customerID: String, anchor storedAnchor: String?) throws -> CustomerProfile? {
        let cache = HandleCache()
        var memberSet: Set<String> = []
        var seen: Set<Int64> = []
        var facts: [Fact] = []
        facts.reserveCapacity(32)
        for (handle, stored) in try tables.memberFactRows(of: customerID) {
            memberSet.insert(handle)
            guard seen.insert(stored.seq).inserted else { continue }
            facts.append(try stored.decoded(handles: cache))
        }
        // Every stored handle is named by at least one fact (a handle whose last fact was replaced away is deleted),
        // so the members are the handles the facts were found under.
        let members = try memberSet.sorted().map { canonical in
            do { return try cache.handle(canonical: canonical) } catch { throw StoreError.corruptFact(id: canonical, reason: "\(error)") }
        }
        guard let first = members.first else { return nil }
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
            let rows = try tables.factRows(key: FactKey.handle(handle), kinds: FactKind.identity)
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
        for number in orderNumbers { try add(tables.factRows(key: FactKey.order(number))) }
        for id in complaintIDs { try add(tables.factRows(key: FactKey.complaint(id))) }

        let anchor = storedAnchor.flatMap { try? cache.handle(canonical: $0) }
        return ProfileProjection(facts: facts).profile(for: anchor ?? first)
    }
}

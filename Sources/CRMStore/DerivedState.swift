import CRMDomain

/// Brings the derived tables up to date for what one append touched, inside the writer's transaction.
///
/// The common case — an interaction from a handle already known, no earlier than its first sighting — touches no
/// derived table: such a fact changes neither identity (which depends only on links, unlinks and first-seen times),
/// nor names, orders or complaints. Its profile changes, but profiles are projected from the facts when read.
struct DerivedState<Tables: StoreTables> {
    let tables: Tables

    /// Brings the derived tables up to date and says what changed, for the read model.
    func update(for touched: Touched) throws -> DerivedChanges {
        var seeds = touched.identitySeeds
        for (handle, time) in touched.handleTimes where !seeds.contains(handle) {
            // A new handle, or an earlier first sighting (which can move the anchor and so the customer id).
            if let row = try tables.handleRow(handle.canonical), row.firstSeenAt <= time { continue }
            seeds.insert(handle)
        }
        var changes = DerivedChanges()
        if !seeds.isEmpty {
            changes.identity = try IdentityMaintenance(tables: tables).recompute(seeds: seeds, touched: touched)
        }
        let customers = CustomerRecords(tables: tables)
        var fieldCustomers: Set<String> = []
        for handle in touched.fieldHandles {
            if let id = try tables.handleRow(handle.canonical)?.customer, !changes.identity.written.contains(id) {
                fieldCustomers.insert(id)
            }
        }
        for id in fieldCustomers.sorted() { try customers.refreshFields(of: id) }
        let orders = OrderRecords(tables: tables)
        for number in touched.orders.sorted() { changes.orders.append(try orders.refresh(number)) }
        let complaints = ComplaintRecords(tables: tables)
        for id in touched.complaints.sorted() { changes.complaints.append(try complaints.refresh(id)) }
        return changes
    }
}

/// What one append changed in the derived tables, for the read model to follow.
struct DerivedChanges {
    /// Which customers identity maintenance rewrote, changed or removed.
    var identity = IdentityChanges()
    /// The orders whose row was recomputed.
    var orders: [OrderChange] = []
    /// The complaints whose row was recomputed.
    var complaints: [ComplaintChange] = []
}

/// The customers of one identity recomputation.
struct IdentityChanges {
    /// Every customer of the recomputed area (their `customers` rows were rewritten).
    var written: Set<String> = []
    /// The customers that are new or whose handles or id changed: their read model must be rebuilt from the facts.
    var changed: Set<String> = []
    /// The customers that no longer exist (merged into another, split apart, or renamed by a new anchor).
    var removed: Set<String> = []
}

/// Recomputes which customer each handle of an area belongs to, with the domain's identity rules.
///
/// The area starts at the seed handles and grows along winning links, so it is a union of whole plain components
/// (connected by winning links): exactly what ``IdentityGraph/init(identityFacts:firstSeen:)`` needs to give the same
/// customers as a resolution over every fact. It also covers every customer a seed belonged to before, because a
/// pair whose winner changed has both its handles among the seeds.
struct IdentityMaintenance<Tables: StoreTables> {
    let tables: Tables

    /// Recomputes the area around `seeds`; says which customers were rewritten, which changed and which are gone.
    func recompute(seeds: Set<Handle>, touched: Touched) throws -> IdentityChanges {
        var visited = seeds
        var queue = Array(seeds)
        var identityFacts: [FactID: Fact] = [:]
        while let handle = queue.popLast() {
            let facts = try tables.facts(key: FactKey.handle(handle), kinds: FactKind.identity)
            var winners: [HandlePair: Fact] = [:]
            for fact in facts {
                identityFacts[fact.id] = fact
                guard let pair = fact.handlePair else { continue }
                if winners[pair].map({ $0.precedence < fact.precedence }) ?? true { winners[pair] = fact }
            }
            for (pair, winner) in winners {
                guard case .identityLink = winner.payload else { continue }
                let other = pair.first == handle ? pair.second : pair.first
                if visited.insert(other).inserted { queue.append(other) }
            }
        }

        var firstSeen: [Handle: Int64] = [:]
        var previous: [Handle: String] = [:]
        var previousCustomers: Set<String> = []
        var gone: [Handle] = []
        for handle in visited {
            let row = try tables.handleRow(handle.canonical)
            if let row {
                previousCustomers.insert(row.customer)
                previous[handle] = row.customer
            }
            let time: Int64?
            if touched.firstSeenToRecount.contains(handle) {
                time = try tables.earliestObservation(key: FactKey.handle(handle))
            } else {
                let stored = row?.firstSeenAt
                let new = touched.handleTimes[handle]
                time = [stored, new].compactMap { $0 }.min()
            }
            if let time { firstSeen[handle] = time } else { gone.append(handle) }
        }
        for handle in gone {
            // A replaced fact was the last to name it: the handle no longer exists.
            visited.remove(handle)
            try tables.deleteHandle(handle.canonical)
        }

        let graph = IdentityGraph(identityFacts: identityFacts.values, firstSeen: firstSeen)
        let customers = CustomerRecords(tables: tables)
        var changes = IdentityChanges()
        // Members each previous customer had: the area holds every handle of every customer a seed belonged to.
        var previousSize: [String: Int] = [:]
        for (_, id) in previous { previousSize[id, default: 0] += 1 }
        // Handles outside the area appear in the graph only as the far side of an unlink or a losing link; their
        // customers are not this area's to decide.
        for component in graph.components where component.handles.allSatisfy(visited.contains) {
            let id = component.id.rawValue
            changes.written.insert(id)
            let same = previousSize[id] == component.handles.count && component.handles.allSatisfy { previous[$0] == id }
            if !same { changes.changed.insert(id) }
            for handle in component.handles {
                try tables.saveHandle(handle.canonical, customer: id, firstSeenAt: firstSeen[handle] ?? 0)
            }
            try customers.write(component: component, firstSeenAt: firstSeen[component.anchor] ?? 0)
        }
        changes.removed = previousCustomers.subtracting(changes.written)
        for id in changes.removed { try customers.delete(id) }
        return changes
    }
}

extension Fact {
    /// The pair of a link or unlink fact.
    var handlePair: HandlePair? {
        switch payload {
        case let .identityLink(pair), let .identityUnlink(pair): pair
        default: nil
        }
    }
}

/// What happened to one fact offered to a projection.
public enum IngestOutcome: Sendable, Hashable {
    /// A new fact.
    case inserted
    /// The exact same fact was already there; nothing changed.
    case duplicate
    /// A different fact with the same id was already there. Ids are idempotency keys, so this is an adapter bug;
    /// the projection keeps whichever of the two has the smaller ``Fact/canonicalDescription``, which makes the
    /// outcome independent of arrival order. `replaced` says whether the new one won.
    case conflict(replaced: Bool)
}

/// Counts of what one batch ingest of a ``ProfileProjection`` did.
public struct IngestSummary: Sendable, Hashable {
    /// Facts that were new.
    public var inserted = 0
    /// Exact duplicates, ignored.
    public var duplicates = 0
    /// Id conflicts (see ``IngestOutcome/conflict(replaced:)``).
    public var conflicts = 0
}

/// The set of facts and the profiles it determines.
///
/// Facts are folded in incrementally, in batches of any size and any order; a fact already present (same id)
/// changes nothing. Profiles are computed on demand for one customer at a time from indexed facts, and depend only
/// on the set: see ``IdentityGraph`` for how handles become customers and ``CustomerProfile`` for the rest.
///
/// Rules the profile follows:
/// - fields: the observation with the greatest ``FactPrecedence`` wins (newest, then source priority, then id);
/// - orders: the order fact with the greatest precedence for an order number wins; the order belongs to the
///   customer whose handle that winning record names; its status is derived from all its tracking events;
/// - complaints: the winning opening (same rule) decides the owner; transition facts are applied in time order,
///   ties by fact id, and those the state machine refuses are listed in ``Complaint/ignoredTransitions``;
/// - counters are computed from the above, never stored.
public struct ProfileProjection: Sendable {
    private var facts: [FactID: Fact] = [:]
    private var byHandle: [Handle: Set<FactID>] = [:]
    private var assertionsByHandle: [Handle: Set<FactID>] = [:]
    private var orderFacts: [OrderNumber: Set<FactID>] = [:]
    private var trackingFacts: [OrderNumber: Set<FactID>] = [:]
    private var noticeFacts: [OrderNumber: Set<FactID>] = [:]
    private var openingFacts: [ComplaintID: Set<FactID>] = [:]
    private var stepFacts: [ComplaintID: Set<FactID>] = [:]

    /// An empty projection.
    public init() {}

    /// A projection of `facts`.
    public init(facts: some Sequence<Fact>) {
        ingest(facts)
    }

    /// The number of distinct facts.
    public var factCount: Int { facts.count }

    /// Every fact, ascending by id.
    public var allFacts: [Fact] { facts.values.sorted { $0.id < $1.id } }

    /// Folds in a batch of facts.
    @discardableResult
    public mutating func ingest(_ batch: some Sequence<Fact>) -> IngestSummary {
        var summary = IngestSummary()
        for fact in batch {
            switch ingest(fact) {
            case .inserted: summary.inserted += 1
            case .duplicate: summary.duplicates += 1
            case .conflict: summary.conflicts += 1
            }
        }
        return summary
    }

    /// Folds in one fact.
    @discardableResult
    public mutating func ingest(_ fact: Fact) -> IngestOutcome {
        guard let existing = facts[fact.id] else {
            facts[fact.id] = fact
            index(fact, insert: true)
            return .inserted
        }
        if existing == fact { return .duplicate }
        let replace = Fact.keep(existing, or: fact) == fact
        if replace {
            index(existing, insert: false)
            facts[fact.id] = fact
            index(fact, insert: true)
        }
        return .conflict(replaced: replace)
    }

    private mutating func index(_ fact: Fact, insert: Bool) {
        func update<K: Hashable>(_ map: inout [K: Set<FactID>], _ key: K) {
            if insert {
                map[key, default: []].insert(fact.id)
            } else {
                map[key]?.remove(fact.id)
                if map[key]?.isEmpty == true { map[key] = nil }
            }
        }
        for handle in fact.mentionedHandles { update(&byHandle, handle) }
        switch fact.payload {
        case let .identityLink(pair), let .identityUnlink(pair):
            update(&assertionsByHandle, pair.first)
            update(&assertionsByHandle, pair.second)
        case let .order(o): update(&orderFacts, o.orderNumber)
        case let .tracking(t): update(&trackingFacts, t.orderNumber)
        case let .delayNoticeSent(id): update(&noticeFacts, id.orderNumber)
        case let .complaintOpened(c): update(&openingFacts, c.id)
        case let .complaintTransition(s): update(&stepFacts, s.complaintID)
        case .interaction, .fieldObservation, .rating, .returnInspection: break
        }
    }

    // MARK: Identity

    /// The customer `handle` belongs to, or `nil` when no fact names it.
    public func component(containing handle: Handle) -> IdentityComponent? {
        guard byHandle[handle] != nil else { return nil }
        return groups(around: handle).first { $0.handles.contains(handle) }
    }

    /// The identity graph over every handle.
    public var identityGraph: IdentityGraph { IdentityGraph(facts: facts.values) }

    /// The customers of the plain connected component (by winning links) around `start`, after unlinks split it.
    private func groups(around start: Handle) -> [IdentityComponent] {
        var visited: Set<Handle> = [start]
        var queue = [start]
        var winners: [HandlePair: IdentityResolver.Assertion] = [:]
        while let node = queue.popLast() {
            // Every fact about a pair is indexed under both its handles, so the winners of `node`'s pairs are final.
            let local = IdentityResolver.winners((assertionsByHandle[node] ?? []).compactMap { facts[$0].flatMap(IdentityResolver.Assertion.init) })
            for a in local {
                winners[a.pair] = a
                guard a.linked else { continue }
                let other = a.pair.first == node ? a.pair.second : a.pair.first
                if visited.insert(other).inserted { queue.append(other) }
            }
        }
        let relevant = winners.values.filter { visited.contains($0.pair.first) && visited.contains($0.pair.second) }
        let groups = IdentityResolver.components(nodes: Array(visited), winners: Array(relevant))
        var firstSeen: [Handle: Int64] = [:]
        for handle in visited {
            firstSeen[handle] = (byHandle[handle] ?? []).compactMap { facts[$0]?.observedAt }.min() ?? .max
        }
        return groups.map { IdentityResolver.component(of: $0, firstSeen: firstSeen) }
    }

    // MARK: Profiles

    /// The profile of the customer `handle` belongs to, or `nil` when no fact names it.
    public func profile(for handle: Handle) -> CustomerProfile? {
        component(containing: handle).map(profile(of:))
    }

    /// Every customer's profile, ascending by id.
    public func profiles() -> [CustomerProfile] {
        var done: Set<Handle> = []
        var result: [CustomerProfile] = []
        for handle in byHandle.keys.sorted() where !done.contains(handle) {
            for component in groups(around: handle) {
                done.formUnion(component.handles)
                result.append(profile(of: component))
            }
        }
        return result.sorted { $0.id < $1.id }
    }

    /// Builds the profile of a customer this projection resolved (so at least one fact names its handles).
    private func profile(of component: IdentityComponent) -> CustomerProfile {
        let members = Set(component.handles)
        var ids: Set<FactID> = []
        for handle in component.handles { ids.formUnion(byHandle[handle] ?? []) }
        let mine = ids.compactMap { facts[$0] }

        var summary = CustomerSummary(component: component)
        var timeline: [InteractionRecord] = []
        var ratings: [RatingRecord] = []
        var orderNumbers: Set<OrderNumber> = []
        var complaintIDs: Set<ComplaintID> = []
        for fact in mine {
            summary.fold(fact)
            switch fact.payload {
            case let .interaction(i):
                timeline.append(InteractionRecord(interaction: i, at: fact.observedAt, source: fact.source, factID: fact.id))
            case let .rating(r):
                ratings.append(RatingRecord(rating: r, at: fact.observedAt, factID: fact.id))
            case let .order(o):
                orderNumbers.insert(o.orderNumber)
            case let .complaintOpened(c):
                complaintIDs.insert(c.id)
            case .identityLink, .identityUnlink, .fieldObservation, .tracking, .complaintTransition, .delayNoticeSent, .returnInspection:
                break
            }
        }

        var orders: [OrderView] = []
        var notices: [DelayNoticeID] = []
        for number in orderNumbers {
            guard let winner = strongest(orderFacts[number]), case let .order(record) = winner.payload,
                  members.contains(record.customer) else { continue }
            let tracking: [TrackingRecord] = (trackingFacts[number] ?? []).compactMap { id in
                guard let f = facts[id], case let .tracking(t) = f.payload else { return nil }
                return TrackingRecord(t, at: f.observedAt, factID: f.id)
            }
            let view = OrderView(record: record, recordFactID: winner.id, tracking: tracking)
            orders.append(view)
            summary.place(OrderDigest(view))
            for id in noticeFacts[number] ?? [] {
                if let f = facts[id], case let .delayNoticeSent(notice) = f.payload { notices.append(notice) }
            }
        }

        var complaints: [Complaint] = []
        for complaintID in complaintIDs {
            guard let winner = strongest(openingFacts[complaintID]), case let .complaintOpened(opening) = winner.payload,
                  members.contains(opening.customer) else { continue }
            let complaint = fold(opening: opening, openedAt: winner.observedAt)
            complaints.append(complaint)
            summary.place(ComplaintDigest(complaint))
        }

        timeline.sort { ($0.at, $0.factID) < ($1.at, $1.factID) }
        ratings.sort { ($0.at, $0.factID) < ($1.at, $1.factID) }
        orders.sort { ($0.record.placedAt, $0.orderNumber) < ($1.record.placedAt, $1.orderNumber) }
        complaints.sort { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }
        return CustomerProfile(
            summary: summary, timeline: timeline, orders: orders, complaints: complaints, ratings: ratings,
            sentDelayNotices: Array(Set(notices)).sorted())
    }

    private func strongest(_ ids: Set<FactID>?) -> Fact? {
        (ids ?? []).compactMap { facts[$0] }.max { $0.precedence < $1.precedence }
    }

    private func fold(opening: ComplaintOpening, openedAt: Int64) -> Complaint {
        var complaint = Complaint(opening: opening, openedAt: openedAt)
        let steps = (stepFacts[opening.id] ?? []).compactMap { facts[$0] }.sorted { ($0.observedAt, $0.id) < ($1.observedAt, $1.id) }
        for fact in steps {
            guard case let .complaintTransition(step) = fact.payload else { continue }
            do {
                try complaint.apply(ComplaintTransition(action: step.action, actor: step.actor, at: fact.observedAt), factID: fact.id)
            } catch {
                complaint.ignoredTransitions.append(IgnoredTransition(factID: fact.id, error: error))
            }
        }
        return complaint
    }
}

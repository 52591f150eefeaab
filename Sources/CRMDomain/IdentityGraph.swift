/// Two distinct handles, stored in ascending order so that `{a, b}` and `{b, a}` are the same pair.
public struct HandlePair: Sendable, Hashable, CustomStringConvertible {
    /// The smaller handle.
    public let first: Handle
    /// The larger handle.
    public let second: Handle

    /// Creates the pair, refusing a handle paired with itself (such a link proves nothing).
    public init(_ a: Handle, _ b: Handle) throws(IdentityError) {
        guard a != b else { throw .sameHandle(a) }
        (first, second) = a < b ? (a, b) : (b, a)
    }

    /// `first ~ second`.
    public var description: String { "\(first) ~ \(second)" }
}

/// Why an identity assertion could not be made.
public enum IdentityError: DomainError {
    /// Both sides of a link or unlink are the same handle.
    case sameHandle(Handle)

    /// See ``DomainError/code``.
    public var code: String { "identity.same_handle" }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case let .sameHandle(h): "Cannot link or unlink \(h) with itself; name two different handles."
        }
    }
}

/// One resolved customer: a set of handles and the id derived from them.
public struct IdentityComponent: Sendable, Hashable {
    /// The customer's id, derived from ``anchor``.
    public let id: CustomerID
    /// The handle the id is derived from: the one seen first.
    public let anchor: Handle
    /// Every handle of the customer, ascending.
    public let handles: [Handle]
}

/// Resolves handles into customers from link and unlink facts.
///
/// **Pairs.** All link and unlink facts about one pair of handles are reduced to one winner by ``FactPrecedence``
/// (newest observation, then source priority, then fact id). A winning link is an edge; a winning unlink is a
/// *separation*: "these two are different people".
///
/// **Components.** Edges are added strongest first (descending precedence) to a union–find. An edge is skipped when
/// joining its two groups would put together two handles separated by an unlink that is stronger than the edge.
/// So an agent's newest "A and C are two people" splits A–B–C at the older of the links on the path, and a link
/// newer than an unlink overrides it. Every step depends only on the facts' own contents, so the result does not
/// depend on arrival order.
///
/// **Ids.** A component's anchor is its handle first seen (the earliest ``Fact/observedAt`` of any fact mentioning
/// it; ties by handle order), and the id is ``CustomerID/derived(fromAnchor:)``. Anchoring on the oldest handle
/// rather than the smallest means adding a new channel to a customer, or merging a newcomer into them, keeps the
/// long-standing id; only a back-dated fact about an older handle can move it.
public struct IdentityGraph: Sendable {
    /// Every customer, ascending by id.
    public let components: [IdentityComponent]
    private let indexByHandle: [Handle: Int]

    /// Resolves the identities in `facts` (duplicates are harmless).
    public init(facts: some Sequence<Fact>) {
        var unique: [FactID: Fact] = [:]
        for fact in facts { unique[fact.id] = unique[fact.id].map { Fact.keep($0, or: fact) } ?? fact }
        var firstSeen: [Handle: Int64] = [:]
        var assertions: [IdentityResolver.Assertion] = []
        for fact in unique.values {
            for handle in fact.mentionedHandles {
                firstSeen[handle] = min(firstSeen[handle] ?? .max, fact.observedAt)
            }
            if let assertion = IdentityResolver.Assertion(fact) { assertions.append(assertion) }
        }
        self.init(firstSeen: firstSeen, assertions: assertions)
    }

    /// Resolves the identities of one area of the graph from its link and unlink facts and the first-seen time of
    /// each of its handles, without the facts that only set those times.
    ///
    /// It gives the same components as ``init(facts:)`` over all facts, for the handles of the area, when
    /// `firstSeen[h]` is the earliest ``Fact/observedAt`` of any fact mentioning `h` and `identityFacts` holds every
    /// link and unlink fact about those handles, and the area is closed under winning links (a union of plain
    /// components). A store uses it to recompute only the customers a write touched. Facts that are not links or
    /// unlinks are ignored; a handle named by a link but missing from `firstSeen` is first seen at that link.
    public init(identityFacts: some Sequence<Fact>, firstSeen: [Handle: Int64]) {
        var unique: [FactID: Fact] = [:]
        for fact in identityFacts {
            switch fact.payload {
            case .identityLink, .identityUnlink:
                unique[fact.id] = unique[fact.id].map { Fact.keep($0, or: fact) } ?? fact
            default:
                continue
            }
        }
        var seen = firstSeen
        var assertions: [IdentityResolver.Assertion] = []
        for fact in unique.values {
            for handle in fact.mentionedHandles { seen[handle] = min(seen[handle] ?? .max, fact.observedAt) }
            if let assertion = IdentityResolver.Assertion(fact) { assertions.append(assertion) }
        }
        self.init(firstSeen: seen, assertions: assertions)
    }

    private init(firstSeen: [Handle: Int64], assertions: [IdentityResolver.Assertion]) {
        let winners = IdentityResolver.winners(assertions)
        let groups = IdentityResolver.components(nodes: Array(firstSeen.keys), winners: winners)
        var components = groups.map { IdentityResolver.component(of: $0, firstSeen: firstSeen) }
        components.sort { $0.id < $1.id }
        var index: [Handle: Int] = [:]
        for (i, component) in components.enumerated() {
            for handle in component.handles { index[handle] = i }
        }
        self.components = components
        self.indexByHandle = index
    }

    /// The customer `handle` belongs to, or `nil` if no fact mentions it.
    public func component(containing handle: Handle) -> IdentityComponent? {
        indexByHandle[handle].map { components[$0] }
    }
}

/// The resolution algorithm, shared by ``IdentityGraph`` (all handles) and ``ProfileProjection`` (one customer).
enum IdentityResolver {
    struct Assertion: Sendable, Hashable {
        let pair: HandlePair
        let linked: Bool
        let precedence: FactPrecedence

        init?(_ fact: Fact) {
            switch fact.payload {
            case let .identityLink(pair): (self.pair, linked) = (pair, true)
            case let .identityUnlink(pair): (self.pair, linked) = (pair, false)
            default: return nil
            }
            precedence = fact.precedence
        }
    }

    /// The strongest assertion about each pair.
    static func winners(_ assertions: some Sequence<Assertion>) -> [Assertion] {
        var best: [HandlePair: Assertion] = [:]
        for a in assertions where best[a.pair].map({ $0.precedence < a.precedence }) ?? true {
            best[a.pair] = a
        }
        return Array(best.values)
    }

    /// Groups `nodes` into customers; see ``IdentityGraph`` for the rule.
    static func components(nodes: [Handle], winners: [Assertion]) -> [[Handle]] {
        let nodes = nodes.sorted()
        var index: [Handle: Int] = [:]
        for (i, n) in nodes.enumerated() { index[n] = i }
        var parent = Array(nodes.indices)
        func find(_ x: Int) -> Int {
            var root = x
            while parent[root] != root { root = parent[root] }
            var node = x
            while parent[node] != root { (parent[node], node) = (root, parent[node]) }
            return root
        }
        let edges = winners.filter(\.linked).sorted { $0.precedence > $1.precedence }
        let separations = winners.filter { !$0.linked }.sorted { $0.precedence > $1.precedence }
        for edge in edges {
            guard let a = index[edge.pair.first], let b = index[edge.pair.second] else { continue }
            let ra = find(a), rb = find(b)
            if ra == rb { continue }
            var blocked = false
            for s in separations {
                if s.precedence < edge.precedence { break }
                guard let u = index[s.pair.first], let v = index[s.pair.second] else { continue }
                let ru = find(u), rv = find(v)
                if (ru == ra && rv == rb) || (ru == rb && rv == ra) {
                    blocked = true
                    break
                }
            }
            if !blocked { parent[max(ra, rb)] = min(ra, rb) }
        }
        var groups: [Int: [Handle]] = [:]
        for (i, node) in nodes.enumerated() { groups[find(i), default: []].append(node) }
        return groups.values.map { $0.sorted() }.sorted { $0[0] < $1[0] }
    }

    /// The component record (anchor and id) of a group of handles.
    static func component(of handles: [Handle], firstSeen: [Handle: Int64]) -> IdentityComponent {
        var anchor = handles[0]
        for h in handles.dropFirst() {
            let (ta, th) = (firstSeen[anchor] ?? .max, firstSeen[h] ?? .max)
            if th < ta || (th == ta && h < anchor) { anchor = h }
        }
        return IdentityComponent(id: CustomerID.derived(fromAnchor: anchor), anchor: anchor, handles: handles.sorted())
    }
}

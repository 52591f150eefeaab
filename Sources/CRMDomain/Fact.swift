/// Who asserted a fact; decides ties between observations made at the same millisecond.
///
/// Priority, highest first: an agent (a person who checked with the customer), the order system (the system of
/// record for orders and its own customer ids), self-service (the customer's own words), a channel adapter (what a
/// message implied), a bulk import (legacy spreadsheets, the least trusted).
public enum FactSource: String, Sendable, Hashable, CaseIterable {
    /// A Sales, After-Sales or supervisor user.
    case agent
    /// The order management system.
    case orderSystem
    /// The customer, through the self-service front end.
    case selfService
    /// A channel adapter (WhatsApp, e-mail, IVR, …).
    case channel
    /// A one-off import of historical data.
    case bulkImport

    /// Higher wins a tie.
    public var priority: Int {
        switch self {
        case .agent: 4
        case .orderSystem: 3
        case .selfService: 2
        case .channel: 1
        case .bulkImport: 0
        }
    }
}

/// The total order that decides every conflict between facts: newer observation first, then higher source
/// priority, then the greater fact id.
///
/// Every input to it is part of the fact itself, never of its arrival, which is what makes the projection a
/// function of the set of facts. The fact id is unique, so two distinct facts never tie.
public struct FactPrecedence: Sendable, Hashable, Comparable {
    /// When the fact was observed (Unix ms).
    public let observedAt: Int64
    /// ``FactSource/priority`` of its source.
    public let sourcePriority: Int
    /// Its id.
    public let id: FactID

    /// `lhs < rhs` means `rhs` wins.
    public static func < (lhs: FactPrecedence, rhs: FactPrecedence) -> Bool {
        if lhs.observedAt != rhs.observedAt { return lhs.observedAt < rhs.observedAt }
        if lhs.sourcePriority != rhs.sourcePriority { return lhs.sourcePriority < rhs.sourcePriority }
        return lhs.id < rhs.id
    }
}

/// One immutable thing the CRM learned, with when and from whom. Profiles are computed from sets of these.
public struct Fact: Sendable, Hashable {
    /// The idempotency key; duplicates of a fact share it.
    public let id: FactID
    /// When it happened or was observed (Unix ms); for interactions, transitions and tracking events this is the
    /// time of the event itself.
    public let observedAt: Int64
    /// Who asserted it.
    public let source: FactSource
    /// What it says.
    public let payload: FactPayload

    /// Creates a fact. Payload values validate themselves when they are made, so any fact is well-formed.
    public init(id: FactID, observedAt: Int64, source: FactSource, payload: FactPayload) {
        self.id = id
        self.observedAt = observedAt
        self.source = source
        self.payload = payload
    }

    /// Its place in the conflict order.
    public var precedence: FactPrecedence {
        FactPrecedence(observedAt: observedAt, sourcePriority: source.priority, id: id)
    }

    /// Which of two facts with the same id to keep: ids are idempotency keys, so two different facts sharing one
    /// is an adapter bug; keeping the one with the smaller ``canonicalDescription`` makes the choice independent of
    /// which arrived first.
    public static func keep(_ existing: Fact, or candidate: Fact) -> Fact {
        if existing == candidate { return existing }
        return candidate.canonicalDescription.utf8.lexicographicallyPrecedes(existing.canonicalDescription.utf8) ? candidate : existing
    }

    /// The handles the fact is about; these are the nodes it contributes to the identity graph.
    public var mentionedHandles: [Handle] {
        switch payload {
        case let .interaction(i): [i.handle]
        case let .identityLink(pair), let .identityUnlink(pair): [pair.first, pair.second]
        case let .fieldObservation(o): [o.handle]
        case let .order(o): [o.customer]
        case let .complaintOpened(c): [c.customer]
        case let .rating(r): r.handle.map { [$0] } ?? []
        case .tracking, .complaintTransition, .delayNoticeSent, .returnInspection: []
        }
    }
}

/// The kinds of fact and their contents.
public enum FactPayload: Sendable, Hashable {
    /// A message, call, letter or note on some channel.
    case interaction(Interaction)
    /// Proof that two handles belong to one person (a message stating another handle, an agent's link).
    case identityLink(HandlePair)
    /// An assertion that two handles belong to two different people.
    case identityUnlink(HandlePair)
    /// A value seen for a profile field (name, company, city, address).
    case fieldObservation(FieldObservation)
    /// An order as the order system describes it; a later fact for the same order number is a correction.
    case order(OrderRecord)
    /// A tracking event of an order, at the fact's time.
    case tracking(TrackingEvent)
    /// A complaint opened, at the fact's time.
    case complaintOpened(ComplaintOpening)
    /// A step of a complaint's workflow, at the fact's time.
    case complaintTransition(ComplaintStep)
    /// A rating given by a customer.
    case rating(Rating)
    /// A proactive delay notice was sent; recorded so it is never sent twice.
    case delayNoticeSent(DelayNoticeID)
    /// The warehouse's quality check of a return, at the fact's time.
    case returnInspection(ReturnInspection)
}

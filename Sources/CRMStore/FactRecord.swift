package import CRMDomain
package import Foundation

/// The kind of a stored fact: the `kind` column of `facts` and `fact_keys`, and the tag byte of its encoding.
package enum FactKind: Int64, Sendable, CaseIterable {
    case interaction = 1
    case identityLink = 2
    case identityUnlink = 3
    case fieldObservation = 4
    case order = 5
    case tracking = 6
    case complaintOpened = 7
    case complaintTransition = 8
    case rating = 9
    case delayNoticeSent = 10
    case returnInspection = 11

    package init(_ payload: FactPayload) {
        switch payload {
        case .interaction: self = .interaction
        case .identityLink: self = .identityLink
        case .identityUnlink: self = .identityUnlink
        case .fieldObservation: self = .fieldObservation
        case .order: self = .order
        case .tracking: self = .tracking
        case .complaintOpened: self = .complaintOpened
        case .complaintTransition: self = .complaintTransition
        case .rating: self = .rating
        case .delayNoticeSent: self = .delayNoticeSent
        case .returnInspection: self = .returnInspection
        }
    }
}

/// The lookup keys of facts in the `fact_keys` table. Every key is a property of the fact itself (never of other
/// facts), so the index is the same whatever order facts arrived in.
package enum FactKey {
    /// Facts that mention a handle (any kind).
    package static func handle(_ h: Handle) -> String { "h/" + h.canonical }
    /// Order records, tracking events and delay notices of an order.
    static func order(_ number: OrderNumber) -> String { "o/" + number.rawValue }
    static func order(_ number: String) -> String { "o/" + number }
    /// Openings and steps of a complaint.
    package static func complaint(_ id: ComplaintID) -> String { "k/" + id.rawValue }
    static func complaint(_ id: String) -> String { "k/" + id }
    /// Every rating, by time (for reports).
    package static let ratings = "ratings"

    /// The keys a fact is filed under.
    static func keys(of fact: Fact) -> [String] {
        var keys = fact.mentionedHandles.map(handle)
        switch fact.payload {
        case let .order(o): keys.append(order(o.orderNumber))
        case let .tracking(t): keys.append(order(t.orderNumber))
        case let .delayNoticeSent(id): keys.append(order(id.orderNumber))
        case let .complaintOpened(c): keys.append(complaint(c.id))
        case let .complaintTransition(s): keys.append(complaint(s.complaintID))
        case .rating: keys.append(ratings)
        case let .returnInspection(i): keys.append(complaint(i.complaintID))
        case .interaction, .identityLink, .identityUnlink, .fieldObservation: break
        }
        return keys
    }
}

/// A fact made ready for the writer on the caller's task: encoded, keyed and checked against the store's limits,
/// so the single writer only writes.
package struct PreparedFact: Sendable {
    package let fact: Fact
    package let kind: FactKind
    package let sourceCode: UInt8
    package let payload: Data
    package let keys: [String]

    package init(_ fact: Fact, index: Int, limits: StoreLimits) throws(StoreError) {
        let bytes: [UInt8]
        do { bytes = try FactCodec.encode(fact.payload) } catch { throw .invalidFact(index: index, id: fact.id.rawValue, reason: error.description) }
        guard bytes.count <= limits.maximumFactBytes else {
            throw .invalidFact(
                index: index, id: fact.id.rawValue,
                reason: "it encodes to \(bytes.count) bytes, more than the limit of \(limits.maximumFactBytes); shorten its texts or split it")
        }
        let source: UInt8
        do { source = try fact.source.storageCode() } catch { throw .invalidFact(index: index, id: fact.id.rawValue, reason: error.description) }
        self.fact = fact
        self.kind = FactKind(fact.payload)
        self.sourceCode = source
        self.payload = Data(bytes)
        self.keys = FactKey.keys(of: fact)
    }
}

/// A fact row as read back: enough to decode it, and its arrival sequence number.
package struct StoredFactRow: Sendable {
    package let seq: Int64
    package let id: String
    package let observedAt: Int64
    package let sourceCode: UInt8
    package let payload: Data

    package init(seq: Int64, id: String, observedAt: Int64, sourceCode: UInt8, payload: Data) {
        self.seq = seq
        self.id = id
        self.observedAt = observedAt
        self.sourceCode = sourceCode
        self.payload = payload
    }

    package func decode(handles: HandleCache = HandleCache()) throws(FactDecodingError) -> Fact {
        do {
            return try payload.withUnsafeBytes { raw in
                try FactCodec.decodeFact(id: id, observedAt: observedAt, sourceCode: sourceCode, bytes: raw, handles: handles)
            }
        } catch let error as FactDecodingError {
            throw error
        } catch {
            throw .malformed("\(error)")
        }
    }
}

/// What an append does with a fact whose id is already stored, in every store: the same content is a duplicate; a
/// different content is a conflict, settled under ``ConflictPolicy/convergent`` by the domain's `Fact.keep(_:or:)`
/// (the smaller canonical encoding, whichever arrived first), and under ``ConflictPolicy/keepStored`` by keeping the
/// stored one.
package enum StoredFactResolution {
    case duplicate
    /// A conflict; the stored fact stays.
    case keepStored
    /// A conflict; the new fact replaces `old`.
    case replace(old: Fact)

    package init(_ new: PreparedFact, stored: StoredFactRow, conflicts: ConflictPolicy, handles: HandleCache) throws(FactDecodingError) {
        if stored.observedAt == new.fact.observedAt && stored.sourceCode == new.sourceCode && stored.payload == new.payload {
            self = .duplicate
            return
        }
        let old = try stored.decode(handles: handles)
        if old == new.fact {
            self = .duplicate
        } else if conflicts == .convergent, Fact.keep(old, or: new.fact) == new.fact {
            self = .replace(old: old)
        } else {
            self = .keepStored
        }
    }
}

@_spi(Storage) import CRMDomain
import Foundation

/// The binary encoding of a ``CustomerSummary`` in the `customer_summaries` table.
///
/// Layout (version 1): a version byte; the customer id; the anchor; the handles with their activity (first and last
/// interaction, channels as a bit set of storage codes); the field winners (cleared ones included); first and last
/// seen; the interaction and rating counts; the information-request times (the first, then ascending deltas) and the
/// count of older ones; the newest contact per channel; the order digests; the complaint digests. Integers are LEB128 varints or zig-zag, texts
/// length-prefixed UTF-8, enums one-byte ``StorageCoded`` codes, every list in the summary's own order, so equal
/// summaries encode to equal bytes: the convergence tests compare stored bytes with the projection's.
///
/// Decoding validates identifiers through the domain's initialisers, as ``FactCodec`` does, but restores handles as
/// they were stored, normalised already (`Handle(restoringNormalized:kind:)`), and reads texts with the standard
/// library's repairing UTF-8 path: the read model is derived, written only from values the facts' decoding checked,
/// and checked against the facts by `crmd verify`; normalising three to five handles again was half the cost of a
/// caller look-up. Damaged bytes give a ``FactDecodingError`` naming what is wrong.
enum SummaryCodec {
    /// The version this build writes and reads.
    static let version: UInt8 = 1

    static func encode(_ s: CustomerSummary) throws(FactEncodingError) -> [UInt8] {
        var w = ByteWriter(capacity: 512)
        w.byte(version)
        w.string(s.id.rawValue)
        try encode(s.anchor, into: &w)
        w.count(s.handles.count)
        for h in s.handles {
            try encode(h.handle, into: &w)
            w.optionalSigned(h.firstInteractionAt)
            w.optionalSigned(h.lastInteractionAt)
            var bits: UInt64 = 0
            for channel in h.channels { bits |= 1 << UInt64(try channel.storageCode()) }
            w.unsigned(bits)
        }
        var fields: [(code: UInt8, value: ObservedValue)] = []
        for (field, value) in s.fieldWinners { fields.append((try field.storageCode(), value)) }
        fields.sort { $0.code < $1.code }
        w.count(fields.count)
        for (code, value) in fields {
            w.byte(code)
            w.string(value.value)
            w.signed(value.observedAt)
            w.byte(try value.source.storageCode())
            w.string(value.factID.rawValue)
        }
        w.signed(s.firstSeenAt)
        w.signed(s.lastSeenAt)
        w.count(s.interactionCount)
        w.count(s.ratingCount)
        w.count(s.informationRequestTimes.count)
        var previous: Int64?
        for time in s.informationRequestTimes {
            if let previous { w.unsigned(UInt64(bitPattern: time &- previous)) } else { w.signed(time) }
            previous = time
        }
        w.count(s.olderInformationRequests)
        w.count(s.lastContacts.count)
        for c in s.lastContacts {
            w.byte(try c.channel.storageCode())
            w.signed(c.at)
            w.string(c.factID.rawValue)
            w.byte(try c.direction.storageCode())
            w.byte(try c.intent.storageCode())
            w.string(c.summary)
        }
        w.count(s.orders.count)
        for o in s.orders {
            w.string(o.orderNumber.rawValue)
            w.signed(o.placedAt)
            w.signed(o.subtotal)
            w.signed(o.total)
            w.count(o.lineCount)
            w.byte(try o.status.storageCode())
            w.optionalSigned(o.estimatedDeliveryAt)
        }
        w.count(s.complaints.count)
        for c in s.complaints {
            w.string(c.id.rawValue)
            w.string(c.orderNumber.rawValue)
            w.byte(try c.category.storageCode())
            w.byte(try c.state.storageCode())
            w.signed(c.openedAt)
            w.signed(c.lastChangedAt)
            w.optionalSigned(c.firstResponseAt)
            w.optionalSigned(c.resolvedAt)
            w.signed(c.compensationTotal)
        }
        return w.bytes
    }

    private static func encode(_ handle: Handle, into w: inout ByteWriter) throws(FactEncodingError) {
        w.byte(try handle.kind.storageCode())
        w.string(handle.value)
    }

    static func decode(_ data: Data) throws(FactDecodingError) -> CustomerSummary {
        do {
            return try data.withUnsafeBytes { raw in try decode(raw) }
        } catch let error as FactDecodingError {
            throw error
        } catch let error as any DomainError {
            throw .invalidValue(error.description)
        } catch {
            throw .malformed("\(error)")
        }
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer) throws -> CustomerSummary {
        var r = ByteReader(bytes)
        let v = try r.byte()
        guard v == version else { throw FactDecodingError.unsupportedVersion(v) }
        func handle() throws -> Handle {
            let kind = try HandleKind.fromStorage(r.byte())
            let value = try r.repairingString()
            guard !value.isEmpty else { throw FactDecodingError.malformed("an empty \(kind.rawValue) handle") }
            return Handle(restoringNormalized: value, kind: kind)
        }
        func number() throws -> Int {
            let raw = try r.unsigned()
            guard raw <= UInt64(Int.max) else { throw FactDecodingError.malformed("a count of \(raw)") }
            return Int(raw)
        }
        let id = try CustomerID(r.repairingString())
        let anchor = try handle()
        var activity: [HandleActivity] = []
        for _ in 0..<(try r.count()) {
            let h = try handle()
            let first = try r.optionalSigned()
            let last = try r.optionalSigned()
            let bits = try r.unsigned()
            guard bits >> UInt64(Channel.codes.count) == 0 else { throw FactDecodingError.malformed("a channel set with unknown channels") }
            var channels: [Channel] = []
            for code in Channel.codes.indices where bits & (1 << UInt64(code)) != 0 { channels.append(Channel.codes[code]) }
            activity.append(HandleActivity(handle: h, firstInteractionAt: first, lastInteractionAt: last, channels: channels))
        }
        var fields: [ProfileField: ObservedValue] = [:]
        for _ in 0..<(try r.count()) {
            let field = try ProfileField.fromStorage(r.byte())
            let value = try r.repairingString()
            let at = try r.signed()
            let source = try FactSource.fromStorage(r.byte())
            fields[field] = ObservedValue(value: value, observedAt: at, source: source, factID: try FactID(r.repairingString()))
        }
        let firstSeen = try r.signed()
        let lastSeen = try r.signed()
        let interactions = try number()
        let ratings = try number()
        var times: [Int64] = []
        let timeCount = try r.count()
        times.reserveCapacity(timeCount)
        for i in 0..<timeCount {
            times.append(i == 0 ? try r.signed() : times[i - 1] &+ Int64(bitPattern: try r.unsigned()))
        }
        let olderRequests = try number()
        var contacts: [LastContact] = []
        for _ in 0..<(try r.count()) {
            let channel = try Channel.fromStorage(r.byte())
            let at = try r.signed()
            let fact = try FactID(r.repairingString())
            let direction = try Direction.fromStorage(r.byte())
            let intent = try InteractionIntent.fromStorage(r.byte())
            contacts.append(LastContact(channel: channel, at: at, factID: fact, direction: direction, intent: intent, summary: try r.repairingString()))
        }
        var orders: [OrderDigest] = []
        for _ in 0..<(try r.count()) {
            let orderNumber = try OrderNumber(r.repairingString())
            let placed = try r.signed()
            let subtotal = try r.signed()
            let total = try r.signed()
            let lines = try number()
            let status = try TrackingStage.fromStorage(r.byte())
            orders.append(OrderDigest(
                orderNumber: orderNumber, placedAt: placed, subtotal: subtotal, total: total, lineCount: lines, status: status,
                estimatedDeliveryAt: try r.optionalSigned()))
        }
        var complaints: [ComplaintDigest] = []
        for _ in 0..<(try r.count()) {
            let complaintID = try ComplaintID(r.repairingString())
            let order = try OrderNumber(r.repairingString())
            let category = try ComplaintCategory.fromStorage(r.byte())
            let state = try ComplaintState.fromStorage(r.byte())
            let opened = try r.signed()
            let changed = try r.signed()
            let firstResponse = try r.optionalSigned()
            let resolved = try r.optionalSigned()
            complaints.append(ComplaintDigest(
                id: complaintID, orderNumber: order, category: category, state: state, openedAt: opened, lastChangedAt: changed,
                firstResponseAt: firstResponse, resolvedAt: resolved, compensationTotal: try r.signed()))
        }
        guard r.isAtEnd else { throw FactDecodingError.trailingBytes(bytes.count) }
        return CustomerSummary(
            id: id, anchor: anchor, handles: activity, fieldWinners: fields, firstSeenAt: firstSeen, lastSeenAt: lastSeen,
            interactionCount: interactions, ratingCount: ratings, informationRequestTimes: times, olderInformationRequests: olderRequests,
            lastContacts: contacts, orders: orders, complaints: complaints)
    }
}

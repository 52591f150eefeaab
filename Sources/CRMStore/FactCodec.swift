import CRMDomain

/// The binary encoding of a fact's payload in the `facts` table.
///
/// Layout: a version byte, a ``FactKind`` byte, then the payload's fields in a fixed order (varints, zig-zag integers,
/// length-prefixed UTF-8, one-byte enum codes from ``StorageCoded``). The fact's id, time and source live in their
/// own columns. Decoding goes through the domain's public initialisers, so a value read back is validated and
/// normalised exactly like one received from outside. The encoding is canonical: equal payloads give equal bytes.
enum FactCodec {
    /// The version this build writes and reads.
    static let version: UInt8 = 1

    // MARK: Encoding

    static func encode(_ payload: FactPayload) throws(FactEncodingError) -> [UInt8] {
        var w = ByteWriter()
        w.byte(version)
        w.byte(UInt8(FactKind(payload).rawValue))
        switch payload {
        case let .interaction(i):
            try encode(i, into: &w)
        case let .identityLink(pair), let .identityUnlink(pair):
            try encode(pair.first, into: &w)
            try encode(pair.second, into: &w)
        case let .fieldObservation(o):
            try encode(o.handle, into: &w)
            w.byte(try o.field.storageCode())
            w.string(o.value)
        case let .order(o):
            try encode(o, into: &w)
        case let .tracking(t):
            w.string(t.orderNumber.rawValue)
            w.byte(try t.stage.storageCode())
        case let .complaintOpened(c):
            w.string(c.id.rawValue)
            try encode(c.customer, into: &w)
            w.string(c.orderNumber.rawValue)
            w.byte(try c.category.storageCode())
            w.string(c.summary)
            try encode(c.openedBy, into: &w)
        case let .complaintTransition(s):
            w.string(s.complaintID.rawValue)
            try encode(s.actor, into: &w)
            try encode(s.action, into: &w)
        case let .rating(r):
            try encode(r.handle, into: &w)
            w.unsigned(UInt64(r.stars))
            w.string(r.comment)
            w.optionalString(r.orderNumber?.rawValue)
        case let .delayNoticeSent(id):
            w.string(id.orderNumber.rawValue)
            w.signed(id.estimatedDeliveryAt)
        }
        return w.bytes
    }

    private static func encode(_ h: Handle, into w: inout ByteWriter) throws(FactEncodingError) {
        w.byte(try h.kind.storageCode())
        w.string(h.value)
    }

    private static func encode(_ a: Actor, into w: inout ByteWriter) throws(FactEncodingError) {
        w.byte(try a.role.storageCode())
        w.string(a.id)
    }

    private static func encode(_ i: Interaction, into w: inout ByteWriter) throws(FactEncodingError) {
        w.byte(try i.channel.storageCode())
        w.byte(try i.direction.storageCode())
        try encode(i.handle, into: &w)
        w.byte(try i.intent.storageCode())
        w.string(i.summary)
        w.optionalString(i.orderNumber?.rawValue)
        w.optionalString(i.complaintID?.rawValue)
    }

    private static func encode(_ o: OrderRecord, into w: inout ByteWriter) throws(FactEncodingError) {
        w.string(o.orderNumber.rawValue)
        try encode(o.customer, into: &w)
        w.count(o.items.count)
        for item in o.items {
            w.string(item.sku)
            w.string(item.name)
            w.signed(item.quantity)
            w.signed(item.unitPrice)
        }
        w.signed(o.placedAt)
        w.signed(o.estimatedDeliveryAt)
        w.string(o.destinationCity)
        w.signed(o.shippingFee)
    }

    private static func encode(_ action: ComplaintAction, into w: inout ByteWriter) throws(FactEncodingError) {
        switch action {
        case .startReview: w.byte(0)
        case let .askSupplier(note): w.byte(1); w.string(note)
        case let .decide(d):
            w.byte(2)
            w.string(d.note)
            try encode(d.refund, into: &w)
        case let .reject(reason): w.byte(3); w.string(reason)
        case .informCustomer: w.byte(4)
        case .close: w.byte(5)
        case let .reopen(reason): w.byte(6); w.string(reason)
        }
    }

    private static func encode(_ refund: Refund, into w: inout ByteWriter) throws(FactEncodingError) {
        w.count(refund.lines.count)
        for line in refund.lines {
            w.optionalString(line.sku)
            w.byte(try line.reason.storageCode())
            w.signed(line.quantity)
            w.signed(line.unitAmount)
            w.string(line.explanation)
        }
        if let r = refund.returnRecord {
            w.bool(true)
            w.string(r.orderNumber.rawValue)
            w.count(r.items.count)
            for item in r.items {
                w.string(item.sku)
                w.signed(item.quantity)
                w.signed(item.paidUnitPrice)
            }
            w.byte(try r.qualityCheck.outcome.storageCode())
            w.string(r.qualityCheck.inspectedBy)
            w.signed(r.qualityCheck.inspectedAt)
            w.string(r.qualityCheck.notes)
            w.signed(r.localShippingCost)
        } else {
            w.bool(false)
        }
    }

    // MARK: Decoding

    /// The fact stored as `id`, `observedAt`, `source` and the payload `bytes`.
    static func decodeFact(
        id: String, observedAt: Int64, sourceCode: UInt8, bytes: UnsafeRawBufferPointer, handles: HandleCache = HandleCache()
    ) throws(FactDecodingError) -> Fact {
        let factID: FactID
        do { factID = try FactID(id) } catch { throw .invalidValue(error.description) }
        return Fact(id: factID, observedAt: observedAt, source: try FactSource.fromStorage(sourceCode), payload: try decodePayload(bytes, handles: handles))
    }

    static func decodePayload(_ bytes: UnsafeRawBufferPointer, handles: HandleCache = HandleCache()) throws(FactDecodingError) -> FactPayload {
        var r = ByteReader(bytes)
        let v = try r.byte()
        guard v == version else { throw .unsupportedVersion(v) }
        let tag = try r.byte()
        guard let kind = FactKind(rawValue: Int64(tag)) else { throw .unknownCode("FactKind", tag) }
        let payload: FactPayload
        do {
            payload = try decode(kind, from: &r, handles: handles)
        } catch let error as FactDecodingError {
            throw error
        } catch let error as any DomainError {
            throw .invalidValue(error.description)
        } catch {
            throw .invalidValue("\(error)")
        }
        guard r.isAtEnd else { throw .trailingBytes(bytes.count) }
        return payload
    }

    private static func decode(_ kind: FactKind, from r: inout ByteReader, handles: HandleCache) throws -> FactPayload {
        func decodeHandle(_ r: inout ByteReader) throws -> Handle {
            let kind = try HandleKind.fromStorage(r.byte())
            return try handles.handle(kind: kind, value: r.string())
        }
        switch kind {
        case .interaction:
            let channel = try Channel.fromStorage(r.byte())
            let direction = try Direction.fromStorage(r.byte())
            let handle = try decodeHandle(&r)
            let intent = try InteractionIntent.fromStorage(r.byte())
            let summary = try r.string()
            let order = try r.optionalString().map { raw throws(IdentifierError) in try OrderNumber(raw) }
            let complaint = try r.optionalString().map { raw throws(IdentifierError) in try ComplaintID(raw) }
            return .interaction(try Interaction(
                channel: channel, direction: direction, handle: handle, intent: intent, summary: summary,
                orderNumber: order, complaintID: complaint))
        case .identityLink:
            return .identityLink(try HandlePair(decodeHandle(&r), decodeHandle(&r)))
        case .identityUnlink:
            return .identityUnlink(try HandlePair(decodeHandle(&r), decodeHandle(&r)))
        case .fieldObservation:
            let handle = try decodeHandle(&r)
            let field = try ProfileField.fromStorage(r.byte())
            return .fieldObservation(FieldObservation(handle: handle, field: field, value: try r.string()))
        case .order:
            let number = try OrderNumber(r.string())
            let customer = try decodeHandle(&r)
            var items: [OrderItem] = []
            for _ in 0..<(try r.count()) {
                items.append(try OrderItem(sku: r.string(), name: r.string(), quantity: r.signed(), unitPrice: r.signed()))
            }
            return .order(try OrderRecord(
                orderNumber: number, customer: customer, items: items, placedAt: r.signed(), estimatedDeliveryAt: r.signed(),
                destinationCity: r.string(), shippingFee: r.signed()))
        case .tracking:
            return .tracking(TrackingEvent(orderNumber: try OrderNumber(r.string()), stage: try TrackingStage.fromStorage(r.byte())))
        case .complaintOpened:
            return .complaintOpened(try ComplaintOpening(
                id: ComplaintID(r.string()), customer: decodeHandle(&r), orderNumber: OrderNumber(r.string()),
                category: ComplaintCategory.fromStorage(r.byte()), summary: r.string(), openedBy: decodeActor(&r)))
        case .complaintTransition:
            let id = try ComplaintID(r.string())
            let actor = try decodeActor(&r)
            return .complaintTransition(ComplaintStep(complaintID: id, action: try decodeAction(&r), actor: actor))
        case .rating:
            let handle = try decodeHandle(&r)
            let stars = try r.unsigned()
            guard stars <= 5 else { throw FactDecodingError.malformed("a rating of \(stars) stars") }
            let comment = try r.string()
            let order = try r.optionalString().map { raw throws(IdentifierError) in try OrderNumber(raw) }
            return .rating(try Rating(handle: handle, stars: Int(stars), comment: comment, orderNumber: order))
        case .delayNoticeSent:
            return .delayNoticeSent(DelayNoticeID(orderNumber: try OrderNumber(r.string()), estimatedDeliveryAt: try r.signed()))
        }
    }

    private static func decodeActor(_ r: inout ByteReader) throws -> Actor {
        let role = try ActorRole.fromStorage(r.byte())
        return try Actor(role: role, id: r.string())
    }

    private static func decodeAction(_ r: inout ByteReader) throws -> ComplaintAction {
        switch try r.byte() {
        case 0: return .startReview
        case 1: return .askSupplier(note: try r.string())
        case 2:
            let note = try r.string()
            return .decide(ComplaintDecision(refund: try decodeRefund(&r), note: note))
        case 3: return .reject(reason: try r.string())
        case 4: return .informCustomer
        case 5: return .close
        case 6: return .reopen(reason: try r.string())
        case let other: throw FactDecodingError.unknownCode("ComplaintAction", other)
        }
    }

    private static func decodeRefund(_ r: inout ByteReader) throws -> Refund {
        var lines: [RefundLine] = []
        for _ in 0..<(try r.count()) {
            lines.append(try RefundLine(
                sku: r.optionalString(), reason: RefundReason.fromStorage(r.byte()), quantity: r.signed(), unitAmount: r.signed(),
                explanation: r.string()))
        }
        var record: ReturnRecord?
        if try r.bool() {
            let number = try OrderNumber(r.string())
            var items: [ReturnedItem] = []
            for _ in 0..<(try r.count()) {
                items.append(try ReturnedItem(sku: r.string(), quantity: r.signed(), paidUnitPrice: r.signed()))
            }
            let check = QualityCheck(
                outcome: try QualityOutcome.fromStorage(r.byte()), inspectedBy: try r.string(), inspectedAt: try r.signed(),
                notes: try r.string())
            record = try ReturnRecord(orderNumber: number, items: items, qualityCheck: check, localShippingCost: r.signed())
        }
        return try Refund(lines: lines, returnRecord: record)
    }
}

/// Handles already normalised while decoding one batch of facts: a customer's facts name the same few handles over
/// and over, and normalising one (an e-mail address above all) costs more than looking it up. Values read back are
/// still normalised once each, so nothing unnormalised gets in.
final class HandleCache {
    private struct Key: Hashable {
        let kind: HandleKind
        let value: String
    }

    private var known: [Key: Handle] = [:]

    init() {}

    func handle(kind: HandleKind, value: String) throws(HandleError) -> Handle {
        let key = Key(kind: kind, value: value)
        if let handle = known[key] { return handle }
        let handle = try Handle(kind: kind, raw: value)
        known[key] = handle
        return handle
    }

    /// A handle from its canonical form (`kind:value`).
    func handle(canonical: String) throws(HandleError) -> Handle {
        guard let colon = canonical.firstIndex(of: ":"), let kind = HandleKind(rawValue: String(canonical[..<colon])) else {
            return try Handle(canonical: canonical)
        }
        return try handle(kind: kind, value: String(canonical[canonical.index(after: colon)...]))
    }
}

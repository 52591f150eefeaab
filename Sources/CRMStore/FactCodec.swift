package import CRMDomain

/// The binary encoding of a fact's payload in the `facts` table.
///
/// Layout: a version byte, a ``FactKind`` byte, then the payload's fields in a fixed order (varints, zig-zag integers,
/// length-prefixed UTF-8, one-byte enum codes from ``StorageCoded``). The fact's id, time and source live in their
/// own columns. Decoding goes through the domain's public initialisers, so a value read back is validated and
/// normalised exactly like one received from outside. The encoding is canonical: equal payloads give equal bytes.
///
/// Versions: this build writes version 3 and reads versions 1 to 3. Version 2 is version 1 with fields appended at
/// the end of some kinds (an interaction's body; an order's optional estimate, service fee, discount and paid
/// amount; a tracking event's location, note and revised estimate; a complaint opening's items; a rating's handle
/// made optional) and the return-inspection kind; a version-1 fact
/// reads back with those fields empty (an order's estimate being the one version 1 always held). Version 3 appends
/// an order's delivery details (recipient, phone, address line, area, province, postal code) and a rating's
/// source, channel and complaint; a version-2 fact reads back without them.
package enum FactCodec {
    /// The version this build writes.
    static let version: UInt8 = 3
    /// The versions this build reads.
    static let readableVersions: ClosedRange<UInt8> = 1...3

    // MARK: Encoding

    package static func encode(_ payload: FactPayload) throws(FactEncodingError) -> [UInt8] {
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
            w.string(t.location)
            w.string(t.note)
            w.optionalSigned(t.revisedEstimate)
        case let .complaintOpened(c):
            w.string(c.id.rawValue)
            try encode(c.customer, into: &w)
            w.string(c.orderNumber.rawValue)
            w.byte(try c.category.storageCode())
            w.string(c.summary)
            try encode(c.openedBy, into: &w)
            w.count(c.items.count)
            for item in c.items {
                w.string(item.sku)
                w.string(item.name)
                w.signed(item.orderedQuantity)
                w.signed(item.receivedQuantity)
                w.signed(item.brokenQuantity)
                w.signed(item.paidUnitPrice)
                w.signed(item.correctUnitPrice)
            }
        case let .complaintTransition(s):
            w.string(s.complaintID.rawValue)
            try encode(s.actor, into: &w)
            try encode(s.action, into: &w)
        case let .rating(r):
            // Version 1 always held a handle; version 2 prefixes it with whether there is one.
            if let handle = r.handle {
                w.bool(true)
                try encode(handle, into: &w)
            } else {
                w.bool(false)
            }
            w.unsigned(UInt64(r.stars))
            w.string(r.comment)
            w.optionalString(r.orderNumber?.rawValue)
            try optionalCode(r.source, into: &w)
            try optionalCode(r.channel, into: &w)
            w.optionalString(r.complaintID?.rawValue)
        case let .delayNoticeSent(id):
            w.string(id.orderNumber.rawValue)
            w.signed(id.estimatedDeliveryAt)
        case let .returnInspection(i):
            w.string(i.complaintID.rawValue)
            w.string(i.orderNumber.rawValue)
            w.byte(try i.verdict.storageCode())
            w.count(i.items.count)
            for item in i.items {
                w.string(item.sku)
                w.signed(item.returned)
                w.signed(item.accepted)
                w.string(item.finding)
            }
            w.signed(i.localShippingCost)
            w.optionalSigned(i.receivedAt)
            w.string(i.inspectedBy)
            w.string(i.notes)
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
        w.string(i.body)
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
        // Version 1's estimate slot holds the estimate, or the placement time when there is none (flagged below).
        w.signed(o.estimatedDeliveryAt ?? o.placedAt)
        w.string(o.destinationCity)
        w.signed(o.shippingFee)
        w.bool(o.estimatedDeliveryAt != nil)
        w.signed(o.serviceFee)
        w.signed(o.discount)
        w.signed(o.paid)
        for part in [o.delivery.recipient, o.delivery.phone, o.delivery.addressLine, o.delivery.area, o.delivery.province, o.delivery.postalCode] {
            w.string(part)
        }
    }

    /// An optional enum as one byte: 0 for none, else its storage code + 1.
    private static func optionalCode<T: StorageCoded>(_ value: T?, into w: inout ByteWriter) throws(FactEncodingError) {
        guard let value else { return w.byte(0) }
        let code = try value.storageCode()
        guard code < 255 else { throw .uncodedCase("\(T.storageName).\(value)") }
        w.byte(code + 1)
    }

    private static func decodeOptionalCode<T: StorageCoded>(_: T.Type, from r: inout ByteReader) throws(FactDecodingError) -> T? {
        let byte = try r.byte()
        return byte == 0 ? nil : try T.fromStorage(byte - 1)
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

    package static func decodePayload(_ bytes: UnsafeRawBufferPointer, handles: HandleCache = HandleCache()) throws(FactDecodingError) -> FactPayload {
        var r = ByteReader(bytes)
        let v = try r.byte()
        guard readableVersions.contains(v) else { throw .unsupportedVersion(v) }
        let tag = try r.byte()
        guard let kind = FactKind(rawValue: Int64(tag)) else { throw .unknownCode("FactKind", tag) }
        let payload: FactPayload
        do {
            payload = try decode(kind, version: v, from: &r, handles: handles)
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

    private static func decode(_ kind: FactKind, version: UInt8, from r: inout ByteReader, handles: HandleCache) throws -> FactPayload {
        let v2 = version >= 2
        let v3 = version >= 3
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
            let body = try v2 ? r.string() : ""
            return .interaction(try Interaction(
                channel: channel, direction: direction, handle: handle, intent: intent, summary: summary,
                orderNumber: order, complaintID: complaint, body: body))
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
            let placed = try r.signed()
            let estimate = try r.signed()
            let city = try r.string()
            let shipping = try r.signed()
            guard v2 else {
                return .order(try OrderRecord(
                    orderNumber: number, customer: customer, items: items, placedAt: placed, estimatedDeliveryAt: estimate,
                    destinationCity: city, shippingFee: shipping))
            }
            let hasEstimate = try r.bool()
            if !hasEstimate && estimate != placed { throw FactDecodingError.malformed("an order without an estimate whose estimate slot is not its placement time") }
            let (fee, discount, paid) = (try r.signed(), try r.signed(), try r.signed())
            let delivery = try v3
                ? DeliveryDetails(recipient: r.string(), phone: r.string(), addressLine: r.string(), area: r.string(), province: r.string(), postalCode: r.string())
                : DeliveryDetails()
            return .order(try OrderRecord(
                orderNumber: number, customer: customer, items: items, placedAt: placed, estimatedDeliveryAt: hasEstimate ? estimate : nil,
                destinationCity: city, shippingFee: shipping, serviceFee: fee, discount: discount, paid: paid, delivery: delivery))
        case .tracking:
            let number = try OrderNumber(r.string())
            let stage = try TrackingStage.fromStorage(r.byte())
            guard v2 else { return .tracking(TrackingEvent(orderNumber: number, stage: stage)) }
            return .tracking(TrackingEvent(
                orderNumber: number, stage: stage, location: try r.string(), note: try r.string(), revisedEstimate: try r.optionalSigned()))
        case .complaintOpened:
            let id = try ComplaintID(r.string())
            let customer = try decodeHandle(&r)
            let order = try OrderNumber(r.string())
            let category = try ComplaintCategory.fromStorage(r.byte())
            let summary = try r.string()
            let actor = try decodeActor(&r)
            var items: [ClaimLine] = []
            if v2 {
                for _ in 0..<(try r.count()) {
                    items.append(try ClaimLine(
                        sku: r.string(), name: r.string(), orderedQuantity: r.signed(), receivedQuantity: r.signed(),
                        brokenQuantity: r.signed(), paidUnitPrice: r.signed(), correctUnitPrice: r.signed()))
                }
            }
            return .complaintOpened(try ComplaintOpening(
                id: id, customer: customer, orderNumber: order, category: category, summary: summary, openedBy: actor, items: items))
        case .complaintTransition:
            let id = try ComplaintID(r.string())
            let actor = try decodeActor(&r)
            return .complaintTransition(ComplaintStep(complaintID: id, action: try decodeAction(&r), actor: actor))
        case .rating:
            let hasHandle = try v2 ? r.bool() : true
            let handle = try hasHandle ? decodeHandle(&r) : nil
            let stars = try r.unsigned()
            guard stars <= 5 else { throw FactDecodingError.malformed("a rating of \(stars) stars") }
            let comment = try r.string()
            let order = try r.optionalString().map { raw throws(IdentifierError) in try OrderNumber(raw) }
            guard v3 else { return .rating(try Rating(handle: handle, stars: Int(stars), comment: comment, orderNumber: order)) }
            let source = try decodeOptionalCode(RatingSource.self, from: &r)
            let channel = try decodeOptionalCode(Channel.self, from: &r)
            let complaint = try r.optionalString().map { raw throws(IdentifierError) in try ComplaintID(raw) }
            return .rating(try Rating(
                handle: handle, stars: Int(stars), comment: comment, orderNumber: order, source: source, channel: channel, complaintID: complaint))
        case .returnInspection:
            let id = try ComplaintID(r.string())
            let order = try OrderNumber(r.string())
            let verdict = try InspectionVerdict.fromStorage(r.byte())
            var items: [InspectedItem] = []
            for _ in 0..<(try r.count()) {
                items.append(try InspectedItem(sku: r.string(), returned: r.signed(), accepted: r.signed(), finding: r.string()))
            }
            return .returnInspection(try ReturnInspection(
                complaintID: id, orderNumber: order, verdict: verdict, items: items, localShippingCost: r.signed(),
                receivedAt: r.optionalSigned(), inspectedBy: r.string(), notes: r.string()))
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
package final class HandleCache {
    private struct Key: Hashable {
        let kind: HandleKind
        let value: String
    }

    private var known: [Key: Handle] = [:]
    /// The handles of the generation before this one (see ``init(succeeding:)``): a miss here is looked up there
    /// before normalising, and a hit is carried over.
    private let older: [Key: Handle]

    package init() { older = [:] }

    /// An empty cache that still finds what `previous` holds (but not what `previous` inherited): a long-lived cache
    /// starts a new generation when it is full, so the handles in use stay found while the others are dropped, and
    /// it never holds more than two generations.
    init(succeeding previous: HandleCache) { older = previous.known }

    /// How many handles it holds in its own generation.
    var count: Int { known.count }

    func handle(kind: HandleKind, value: String) throws(HandleError) -> Handle {
        let key = Key(kind: kind, value: value)
        if let handle = known[key] { return handle }
        let handle: Handle
        if let carried = older[key] { handle = carried } else { handle = try Handle(kind: kind, raw: value) }
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

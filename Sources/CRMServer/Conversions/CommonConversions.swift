import CRMDomain
package import CRMMessages
import CRMStore

// Proto <-> domain mappings shared by every service. Where the two models disagree, the comment on the mapping
// says which way was chosen and why.

extension CRMDomain.Handle {
    /// Normalises a wire handle.
    ///
    /// Decision: the domain has no WhatsApp handle kind: a WhatsApp contact *is* its phone number (see
    /// ``CRMDomain/HandleKind``), so `HANDLE_KIND_WHATSAPP` is normalised as a phone handle and reads back as
    /// `HANDLE_KIND_PHONE`. A `HANDLE_KIND_WEB_CHAT_VISITOR` id is a handle of its own (``CRMDomain/HandleKind/webChat``):
    /// the visitor's conversation stays apart until a handle the visitor states, or an agent's link, joins it to a
    /// customer.
    init(wire: CRMMessages.Handle?, field: String) throws(RequestFieldError) {
        guard let wire else { throw RequestFieldError(field, "is required: give kind and value") }
        let kind: CRMDomain.HandleKind
        switch wire.kind {
        case .phone, .whatsapp: kind = .phone
        case .email: kind = .email
        case .instagram: kind = .instagram
        case .tiktok: kind = .tiktok
        case .facebook: kind = .facebook
        case .orderSystemID: kind = .orderSystem
        case .webChatVisitor: kind = .webChat
        case .unspecified:
            throw RequestFieldError(field + ".kind", "is required: choose the handle kind (phone, email, whatsapp, instagram, tiktok, facebook, order-system id, web-chat visitor)")
        case .unrecognized(let n):
            throw RequestFieldError(field + ".kind", "is \(n), a handle kind this server does not know")
        }
        do {
            self = try CRMDomain.Handle(kind: kind, raw: wire.value)
        } catch {
            throw RequestFieldError(field + ".value", "'\(wire.value)' is not a valid \(kind.rawValue) handle: \(error.description)")
        }
    }

    /// The wire form (also what `crm-bench` sends as an adapter).
    package var wire: CRMMessages.Handle {
        let kind: CRMMessages.HandleKind = switch self.kind {
        case .phone: .phone
        case .email: .email
        case .instagram: .instagram
        case .tiktok: .tiktok
        case .facebook: .facebook
        case .orderSystem: .orderSystemID
        case .webChat: .webChatVisitor
        }
        return CRMMessages.Handle(kind: kind, value: value)
    }
}

extension CRMDomain.Channel: WireFilterable {
    /// The domain channel of a wire channel; unspecified is refused.
    init(wire: CRMMessages.Channel, field: String) throws(RequestFieldError) {
        switch wire {
        case .whatsapp: self = .whatsApp
        case .instagramDm: self = .instagram
        case .tiktok: self = .tiktok
        case .facebookMessenger: self = .facebookMessenger
        case .email: self = .email
        case .phoneCall: self = .phoneCall
        case .videoCall: self = .videoCall
        case .sms: self = .sms
        case .webChat: self = .webChat
        case .letter: self = .letter
        case .fax: self = .fax
        case .inPerson: self = .inPerson
        case .internalNote: self = .internalNote
        case .unspecified: throw RequestFieldError(field, "is required: choose the channel")
        case .unrecognized(let n): throw RequestFieldError(field, "is \(n), a channel this server does not know")
        }
    }

    /// The wire form.
    package var wire: CRMMessages.Channel {
        switch self {
        case .whatsApp: .whatsapp
        case .instagram: .instagramDm
        case .tiktok: .tiktok
        case .facebookMessenger: .facebookMessenger
        case .email: .email
        case .phoneCall: .phoneCall
        case .videoCall: .videoCall
        case .sms: .sms
        case .webChat: .webChat
        case .letter: .letter
        case .fax: .fax
        case .inPerson: .inPerson
        case .internalNote: .internalNote
        }
    }

}

extension CRMDomain.RatingSource: WireFilterable {
    /// The domain source of a wire source; unspecified is refused (a request leaves it out by sending nothing).
    init(wire: CRMMessages.RatingSource, field: String) throws(RequestFieldError) {
        switch wire {
        case .googleReview: self = .googleReview
        case .selfService: self = .selfService
        case .agentRecorded: self = .agentRecorded
        case .postContactSurvey: self = .postContactSurvey
        case .unspecified: throw RequestFieldError(field, "is unspecified; name a source, or leave the list empty for all")
        case .unrecognized(let n): throw RequestFieldError(field, "is \(n), a rating source this server does not know")
        }
    }

    /// The wire form.
    var wire: CRMMessages.RatingSource {
        switch self {
        case .googleReview: .googleReview
        case .selfService: .selfService
        case .agentRecorded: .agentRecorded
        case .postContactSurvey: .postContactSurvey
        }
    }
}

extension CRMDomain.Direction {
    init(wire: CRMMessages.Direction, field: String) throws(RequestFieldError) {
        switch wire {
        case .inbound: self = .inbound
        case .outbound: self = .outbound
        case .unspecified: throw RequestFieldError(field, "is required: inbound or outbound")
        case .unrecognized(let n): throw RequestFieldError(field, "is \(n), a direction this server does not know")
        }
    }

    package var wire: CRMMessages.Direction { self == .inbound ? .inbound : .outbound }
}

extension InteractionIntent {
    /// Decision: an unclassified interaction (`INTENT_UNSPECIFIED`) is stored as `other`, the domain's catch-all;
    /// the proto allows it ("not classified yet") and the domain has no "unclassified" intent.
    init(wire: Intent, field: String) throws(RequestFieldError) {
        switch wire {
        case .complaint: self = .complaint
        case .order: self = .order
        case .informationRequest: self = .informationRequest
        case .feedback: self = .feedback
        case .other, .unspecified: self = .other
        case .unrecognized(let n): throw RequestFieldError(field, "is \(n), an intent this server does not know")
        }
    }

    package var wire: Intent {
        switch self {
        case .complaint: .complaint
        case .order: .order
        case .informationRequest: .informationRequest
        case .feedback: .feedback
        case .other: .other
        }
    }
}

extension LoyaltyTier {
    var wire: Tier {
        switch self {
        case .silver: .silver
        case .gold: .gold
        case .diamond: .diamond
        }
    }
}

extension LoyaltyBenefit {
    var wire: BenefitKind {
        switch self {
        case .freeShippingJabodetabek: .freeShippingJabodetabek
        case .newCustomerDiscount: .newCustomerDiscount
        case .instalment50: .instalment50
        case .priorityService: .priorityService
        case .specialPrice: .specialPrice
        case .lowerServiceFee: .lowerServiceFee
        case .freeShippingVoucher: .freeShippingVoucher
        case .tierDiscount: .tierDiscount
        case .priorityDelivery: .priorityDelivery
        }
    }
}

extension QueuePriority {
    var wire: RoutingPriority {
        switch self {
        case .standard: .normal
        case .priority: .high
        case .vvip: .vvip
        }
    }
}

extension ServiceQueue {
    /// The wire's queue: the queue's department (the domain's finer queue is in the routing reason).
    var wire: RoutingQueue {
        switch department {
        case .sales: .sales
        case .afterSales: .afterSales
        case .customerService: .customerService
        }
    }
}

extension CRMDomain.ComplaintCategory: WireFilterable {
    init(wire: CRMMessages.ComplaintCategory, field: String) throws(RequestFieldError) {
        switch wire {
        case .outOfStock: self = .outOfStock
        case .lostAtCustoms: self = .lostAtCustoms
        case .broken: self = .broken
        case .return: self = .customerReturn
        case .unspecified: throw RequestFieldError(field, "is required: OUT_OF_STOCK, LOST_AT_CUSTOMS, BROKEN or RETURN")
        case .unrecognized(let n): throw RequestFieldError(field, "is \(n), a category this server does not know")
        }
    }

    var wire: CRMMessages.ComplaintCategory {
        switch self {
        case .outOfStock: .outOfStock
        case .lostAtCustoms: .lostAtCustoms
        case .broken: .broken
        case .customerReturn: .return
        }
    }

}

extension CRMDomain.ComplaintState: WireFilterable {
    init(wire: CRMMessages.ComplaintState, field: String) throws(RequestFieldError) {
        switch wire {
        case .opened: self = .opened
        case .inReview: self = .inReview
        case .waitingOnSupplier: self = .waitingOnSupplier
        case .decided: self = .decided
        case .customerInformed: self = .customerInformed
        case .closed: self = .closed
        case .rejected: self = .rejected
        case .reopened: self = .reopened
        case .unspecified: throw RequestFieldError(field, "is required: choose a complaint state")
        case .unrecognized(let n): throw RequestFieldError(field, "is \(n), a complaint state this server does not know")
        }
    }

    var wire: CRMMessages.ComplaintState {
        switch self {
        case .opened: .opened
        case .inReview: .inReview
        case .waitingOnSupplier: .waitingOnSupplier
        case .decided: .decided
        case .customerInformed: .customerInformed
        case .closed: .closed
        case .rejected: .rejected
        case .reopened: .reopened
        }
    }

    /// The proto's name, e.g. `IN_REVIEW`, for messages.
    var wireName: String {
        let name = wire.protoName
        return name.hasPrefix("COMPLAINT_STATE_") ? String(name.dropFirst("COMPLAINT_STATE_".count)) : name
    }

}

extension CRMDomain.TrackingStage {
    init(wire: CRMMessages.TrackingStage, field: String) throws(RequestFieldError) {
        switch wire {
        case .ordered: self = .ordered
        case .paid: self = .paid
        case .shippedFromChina: self = .shippedFromChina
        case .atCustoms: self = .atCustoms
        case .arrivedInWarehouse: self = .arrivedInWarehouse
        case .delivered: self = .delivered
        case .cancelled: self = .cancelled
        case .unspecified: throw RequestFieldError(field, "is required: choose the tracking stage")
        case .unrecognized(let n): throw RequestFieldError(field, "is \(n), a tracking stage this server does not know")
        }
    }

    var wire: CRMMessages.TrackingStage {
        switch self {
        case .ordered: .ordered
        case .paid: .paid
        case .shippedFromChina: .shippedFromChina
        case .atCustoms: .atCustoms
        case .arrivedInWarehouse: .arrivedInWarehouse
        case .delivered: .delivered
        case .cancelled: .cancelled
        }
    }

    var orderStatus: OrderStatus {
        switch self {
        case .ordered: .ordered
        case .paid: .paid
        case .shippedFromChina: .shippedFromChina
        case .atCustoms: .atCustoms
        case .arrivedInWarehouse: .arrivedInWarehouse
        case .delivered: .delivered
        case .cancelled: .cancelled
        }
    }
}

extension CRMMessages.TimeRange {
    init(_ range: CRMDomain.TimeRange) { self.init(fromMs: range.start, toMs: range.end) }
}

extension IngestOutcome {
    /// Decision: a fact whose key was already known answers DUPLICATE whether its content was equal or not; the
    /// services append with `ConflictPolicy.keepStored`, so the fact stored first stays and a retried request
    /// (the same key, now with another server-stamped time or other stated handles) changes nothing.
    var wire: ItemOutcome {
        switch self {
        case .inserted: .accepted
        case .duplicate, .conflict: .duplicate
        }
    }
}

/// A request's page: offset-based tokens (`o<offset>`) over a listing sorted by a stable key.
struct Page {
    static let defaultSize = 50
    static let maximumSize = 500

    let offset: Int
    let size: Int

    init(_ request: PageRequest?, field: String = "page") throws(RequestFieldError) {
        let requested = Int(request?.pageSize ?? 0)
        size = requested == 0 ? Self.defaultSize : min(requested, Self.maximumSize)
        let token = request?.pageToken ?? ""
        if token.isEmpty {
            offset = 0
        } else if token.first == "o", let n = Int(token.dropFirst()), n >= 0 {
            offset = n
        } else {
            throw RequestFieldError(field + ".page_token", "'\(token)' is not a token this server issued; send the next_page_token of the previous page, or nothing for the first page")
        }
    }

    /// The items of this page and the info pointing at the next one.
    func slice<T>(_ items: [T]) -> ([T], PageInfo) {
        guard offset < items.count else { return ([], PageInfo()) }
        let end = min(items.count, offset + size)
        let next = end < items.count ? "o\(end)" : ""
        return (Array(items[offset..<end]), PageInfo(nextPageToken: next))
    }
}

/// A domain enum that a request may list as a filter (channels, complaint categories, states).
protocol WireFilterable: Hashable {
    associatedtype Wire
    init(wire: Wire, field: String) throws(RequestFieldError)
}

extension WireFilterable {
    /// The set a wire filter names, each element checked under `field[i]`; an empty list means all (nil).
    static func filter(_ wire: [Wire], field: String) throws(RequestFieldError) -> Set<Self>? {
        if wire.isEmpty { return nil }
        var result: Set<Self> = []
        for (i, element) in wire.enumerated() { result.insert(try Self(wire: element, field: "\(field)[\(i)]")) }
        return result
    }
}

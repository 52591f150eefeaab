/// The ways customers and the business reach each other.
public enum Channel: String, Sendable, Hashable, CaseIterable, Comparable {
    /// WhatsApp messages (identified by phone number).
    case whatsApp
    /// Instagram direct messages.
    case instagram
    /// TikTok messages.
    case tiktok
    /// Facebook Messenger.
    case facebookMessenger
    /// E-mail.
    case email
    /// A voice call through the IVR or directly.
    case phoneCall
    /// A video call.
    case videoCall
    /// SMS.
    case sms
    /// The web chat on the shop's site.
    case webChat
    /// A letter by post.
    case letter
    /// A fax.
    case fax
    /// A visit to a service centre.
    case inPerson
    /// A note an agent writes for colleagues; not seen by the customer.
    case internalNote

    /// The handle kinds a contact on this channel can come from, or `nil` when any kind can
    /// (a letter, a visit or a note is filed under whatever identity the agent knows).
    public var acceptedHandleKinds: [HandleKind]? {
        switch self {
        case .whatsApp, .phoneCall, .videoCall, .sms, .fax: [.phone]
        case .instagram: [.instagram]
        case .tiktok: [.tiktok]
        case .facebookMessenger: [.facebook]
        case .email: [.email]
        case .webChat: [.webChat, .email, .phone, .orderSystem]
        case .letter, .inPerson, .internalNote: nil
        }
    }

    /// Declaration order, used for stable listings such as "last interaction per channel".
    public static func < (lhs: Channel, rhs: Channel) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }
}

/// Who started the contact.
public enum Direction: String, Sendable, Hashable, CaseIterable {
    /// From the customer to the business.
    case inbound
    /// From the business to the customer.
    case outbound
}

/// Why the customer (or the business) made contact; drives the counters and call routing.
public enum InteractionIntent: String, Sendable, Hashable, CaseIterable {
    /// Something went wrong with an order.
    case complaint
    /// Placing or changing an order.
    case order
    /// A question: a product, a promotion, a delivery time.
    case informationRequest
    /// Praise or criticism that asks for nothing.
    case feedback
    /// Anything else.
    case other
}

/// One contact on one channel.
public struct Interaction: Sendable, Hashable {
    /// The channel used.
    public let channel: Channel
    /// Inbound or outbound.
    public let direction: Direction
    /// The identity the contact came from or went to.
    public let handle: Handle
    /// What it was about.
    public let intent: InteractionIntent
    /// The message body or the agent's summary, trimmed.
    public let summary: String
    /// The full message body when it is kept beside an agent's ``summary``, trimmed; empty otherwise.
    public let body: String
    /// The order it concerns, if any.
    public let orderNumber: OrderNumber?
    /// The complaint it concerns, if any.
    public let complaintID: ComplaintID?

    /// Creates an interaction, refusing a handle the channel cannot carry (an e-mail address on WhatsApp is a
    /// mistake of the adapter, and filing it would attach the message to the wrong person).
    public init(
        channel: Channel, direction: Direction, handle: Handle, intent: InteractionIntent, summary: String,
        orderNumber: OrderNumber? = nil, complaintID: ComplaintID? = nil, body: String = ""
    ) throws(InteractionError) {
        if let accepted = channel.acceptedHandleKinds, !accepted.contains(handle.kind) {
            throw .handleKindNotAccepted(channel: channel, kind: handle.kind, accepted: accepted)
        }
        self.channel = channel
        self.direction = direction
        self.handle = handle
        self.intent = intent
        self.summary = Text.trimmed(summary)
        self.body = Text.trimmed(body)
        self.orderNumber = orderNumber
        self.complaintID = complaintID
    }
}

/// Why an ``Interaction`` could not be made.
public enum InteractionError: DomainError {
    /// The channel cannot carry a handle of that kind.
    case handleKindNotAccepted(channel: Channel, kind: HandleKind, accepted: [HandleKind])

    /// See ``DomainError/code``.
    public var code: String { "interaction.handle_kind_not_accepted" }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case let .handleKindNotAccepted(channel, kind, accepted):
            let list = accepted.map(\.rawValue).joined(separator: ", ")
            return "A \(channel.rawValue) contact cannot come from a \(kind.rawValue) handle; use a handle of kind \(list)."
        }
    }
}

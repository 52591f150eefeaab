/// The kinds of identity a customer can be reached or recognised by.
///
/// A WhatsApp, SMS or voice contact is identified by a ``phone`` handle: the number is the person, the channel is
/// only the way they used it.
public enum HandleKind: String, Sendable, Hashable, CaseIterable, Comparable {
    /// An Indonesian phone number in E.164 form (`+62812…`), also used for WhatsApp, SMS, voice and fax.
    case phone
    /// An e-mail address, trimmed and lower-cased.
    case email
    /// An Instagram username without `@`, lower-cased.
    case instagram
    /// A TikTok username without `@`, lower-cased.
    case tiktok
    /// A Facebook username or page-scoped id without `@`, lower-cased.
    case facebook
    /// A customer id from the order management system, exactly as that system writes it (trimmed).
    case orderSystem
    /// A visitor id from the web-chat widget, exactly as the widget writes it (trimmed): a conversation of its own
    /// until a handle the visitor states, or an agent, links it to a customer.
    case webChat

    /// Declaration order; it fixes how handles sort, and so the canonical encodings.
    public static func < (lhs: HandleKind, rhs: HandleKind) -> Bool { lhs.rank < rhs.rank }

    var rank: Int {
        switch self {
        case .phone: 0
        case .email: 1
        case .instagram: 2
        case .tiktok: 3
        case .facebook: 4
        case .orderSystem: 5
        case .webChat: 6
        }
    }
}

/// A normalised identity of a customer: a kind and a value in that kind's canonical form.
///
/// The only ways to make one run the kind's normalisation, so two `Handle`s are equal exactly when they denote
/// the same identity however they were written (`0812-3456-789` and `+62 812 3456 789` are one handle).
public struct Handle: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// What kind of identity this is.
    public let kind: HandleKind
    /// The normalised value, for example `+628123456789` or `budi@example.co.id`.
    public let value: String

    init(uncheckedKind kind: HandleKind, value: String) {
        self.kind = kind
        self.value = value
    }

    /// Restores a handle that a store wrote from a normalised one (its ``value``), without normalising it again.
    ///
    /// Only for derived data the store recomputes from the facts and can verify against them (the read model, read
    /// once per caller look-up, where normalising every handle again was most of the decoding); facts themselves are
    /// always read back through ``init(kind:raw:)``.
    @_spi(Storage) public init(restoringNormalized value: String, kind: HandleKind) {
        self.init(uncheckedKind: kind, value: value)
    }

    /// Normalises `raw` as a handle of `kind`, or says why it cannot be one.
    public init(kind: HandleKind, raw: String) throws(HandleError) {
        switch kind {
        case .phone: value = try PhoneNumber.normalise(raw)
        case .email: value = try EmailAddress.normalise(raw)
        case .instagram, .tiktok, .facebook: value = try SocialHandle.normalise(raw, kind: kind)
        case .orderSystem: value = try OpaqueID.normalise(raw, kind: .orderSystem)
        case .webChat: value = try OpaqueID.normalise(raw, kind: .webChat)
        }
        self.kind = kind
    }

    /// A phone handle from any common Indonesian written form.
    public static func phone(_ raw: String) throws(HandleError) -> Handle { try Handle(kind: .phone, raw: raw) }
    /// An e-mail handle.
    public static func email(_ raw: String) throws(HandleError) -> Handle { try Handle(kind: .email, raw: raw) }
    /// An Instagram handle.
    public static func instagram(_ raw: String) throws(HandleError) -> Handle { try Handle(kind: .instagram, raw: raw) }
    /// A TikTok handle.
    public static func tiktok(_ raw: String) throws(HandleError) -> Handle { try Handle(kind: .tiktok, raw: raw) }
    /// A Facebook handle.
    public static func facebook(_ raw: String) throws(HandleError) -> Handle { try Handle(kind: .facebook, raw: raw) }
    /// An order-system customer id.
    public static func orderSystem(_ raw: String) throws(HandleError) -> Handle { try Handle(kind: .orderSystem, raw: raw) }
    /// A web-chat visitor id.
    public static func webChat(_ raw: String) throws(HandleError) -> Handle { try Handle(kind: .webChat, raw: raw) }

    /// `kind:value`, for example `phone:+628123456789`; the stable text form used for storage, ids and ordering.
    public var canonical: String { kind.rawValue + ":" + value }

    /// Parses the ``canonical`` form back, normalising the value again so that nothing unnormalised gets in.
    public init(canonical: String) throws(HandleError) {
        // The colon is found among the UTF-8 bytes, not the characters: a value that starts with a combining mark
        // would otherwise merge with the colon into one character, and the colon would not be found.
        guard let colon = canonical.utf8.firstIndex(of: UInt8(ascii: ":")) else { throw .malformedCanonical(canonical) }
        let kindText = String(canonical[..<colon])
        guard let kind = HandleKind(rawValue: kindText) else { throw .unknownKind(kindText) }
        try self.init(kind: kind, raw: String(canonical[canonical.utf8.index(after: colon)...]))
    }

    /// The ``canonical`` form.
    public var description: String { canonical }

    /// By kind, then by the UTF-8 bytes of the value: a total order that does not depend on locale.
    public static func < (lhs: Handle, rhs: Handle) -> Bool {
        if lhs.kind != rhs.kind { return lhs.kind < rhs.kind }
        return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
    }
}

/// Order-system customer ids and web-chat visitor ids are taken as given: the system that issues them owns their
/// format, so we only trim and sanity-check.
enum OpaqueID {
    static let maximumLength = 64

    static func normalise(_ raw: String, kind: HandleKind) throws(HandleError) -> String {
        func invalid(_ problem: OrderSystemIDProblem) -> HandleError {
            kind == .webChat ? .webChatVisitorInvalid(input: raw, problem: problem) : .orderSystemIDInvalid(input: raw, problem: problem)
        }
        let trimmed = Text.trimmed(raw)
        guard !trimmed.isEmpty else { throw .empty(kind) }
        if let bad = trimmed.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw invalid(.controlCharacter(bad.value))
        }
        guard trimmed.count <= maximumLength else { throw invalid(.tooLong(length: trimmed.count, maximum: maximumLength)) }
        return trimmed
    }
}

/// Small text helpers shared by the normalisers; no Foundation needed.
enum Text {
    /// `s` without leading and trailing white space (including non-breaking spaces and new lines).
    static func trimmed(_ s: String) -> String {
        // Fast path, same result: a string that starts and ends with printable ASCII other than a space has no white
        // space to trim (every other white space character is either ASCII up to 0x20 or not ASCII at all).
        if let first = s.utf8.first, let last = s.utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return s
        }
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    /// ASCII lower-casing; handles are ASCII after validation, and this avoids locale-dependent case rules.
    static func asciiLowercased(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { scalar in
            (65...90).contains(scalar.value) ? Unicode.Scalar(UInt8(scalar.value + 32)) : scalar
        }))
    }
}

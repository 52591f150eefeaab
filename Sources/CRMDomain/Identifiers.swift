/// What an identifier names, so an ``IdentifierError`` can say which one was wrong.
public enum IdentifierKind: String, Sendable, Hashable, CaseIterable {
    /// A fact's idempotency key.
    case fact
    /// An order number from the order system.
    case order
    /// A complaint id.
    case complaint
    /// A stock-keeping unit (product code).
    case sku
    /// The id of a person acting in a role (an agent's user name).
    case actor
    /// A customer id (`cus_` and 32 hex digits).
    case customer
}

/// Why a piece of text cannot be an identifier.
public enum IdentifierError: DomainError {
    /// The identifier is blank.
    case empty(IdentifierKind)
    /// The identifier is longer than any real one.
    case tooLong(IdentifierKind, length: Int, maximum: Int)
    /// The identifier contains a control character (the scalar value).
    case controlCharacter(IdentifierKind, UInt32)
    /// A customer id that is not `cus_` followed by 32 lower-case hex digits.
    case malformedCustomerID(String)

    /// See ``DomainError/code``.
    public var code: String {
        switch self {
        case let .empty(kind): "identifier.\(kind.rawValue).empty"
        case let .tooLong(kind, _, _): "identifier.\(kind.rawValue).too_long"
        case let .controlCharacter(kind, _): "identifier.\(kind.rawValue).control_character"
        case .malformedCustomerID: "identifier.customer.malformed"
        }
    }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case let .empty(kind):
            return "The \(kind.rawValue) id is empty; give a non-blank id."
        case let .tooLong(kind, length, maximum):
            return "The \(kind.rawValue) id has \(length) characters; at most \(maximum) are allowed."
        case let .controlCharacter(kind, value):
            return "The \(kind.rawValue) id contains the control character U+\(String(value, radix: 16, uppercase: true)); remove it."
        case let .malformedCustomerID(text):
            return "\"\(text)\" is not a customer id; customer ids look like cus_ followed by 32 hex digits."
        }
    }
}

enum Identifier {
    static let maximumLength = 128

    /// Trims `raw` and checks it is a plausible identifier of `kind`.
    static func validate(_ raw: String, _ kind: IdentifierKind) throws(IdentifierError) -> String {
        // Fast path, same result: printable ASCII without spaces needs no trimming and has no control character.
        if !raw.isEmpty && raw.utf8.count <= maximumLength && raw.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) { return raw }
        let trimmed = Text.trimmed(raw)
        guard !trimmed.isEmpty else { throw .empty(kind) }
        if let bad = trimmed.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw .controlCharacter(kind, bad.value)
        }
        guard trimmed.count <= maximumLength else { throw .tooLong(kind, length: trimmed.count, maximum: maximumLength) }
        return trimmed
    }

    /// A locale-free total order on identifiers: their UTF-8 bytes.
    static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}

/// The identity of a fact: its idempotency key. Two facts with the same id are the same fact.
///
/// Adapters build it from their own id and the external id of the message (``init(adapter:externalID:)``), so a
/// redelivered message carries the same id and changes nothing.
public struct FactID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The trimmed id text.
    public let rawValue: String

    /// Validates and trims `raw`.
    public init(_ raw: String) throws(IdentifierError) { rawValue = try Identifier.validate(raw, .fact) }

    /// `adapter/externalID`, the idempotency key of a message delivered by a channel adapter.
    public init(adapter: String, externalID: String) throws(IdentifierError) {
        let a = try Identifier.validate(adapter, .fact)
        let e = try Identifier.validate(externalID, .fact)
        try self.init(a + "/" + e)
    }

    /// The id text.
    public var description: String { rawValue }

    /// By UTF-8 bytes; this order breaks the last ties between facts.
    public static func < (lhs: FactID, rhs: FactID) -> Bool { Identifier.precedes(lhs.rawValue, rhs.rawValue) }
}

/// An order number as the order system issues it (trimmed).
public struct OrderNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The trimmed order number.
    public let rawValue: String

    /// Validates and trims `raw`.
    public init(_ raw: String) throws(IdentifierError) { rawValue = try Identifier.validate(raw, .order) }

    /// The order number.
    public var description: String { rawValue }

    /// By UTF-8 bytes.
    public static func < (lhs: OrderNumber, rhs: OrderNumber) -> Bool { Identifier.precedes(lhs.rawValue, rhs.rawValue) }
}

/// A complaint's id (trimmed); assigned by whoever opens the complaint, typically the Sales tool.
public struct ComplaintID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The trimmed id.
    public let rawValue: String

    /// Validates and trims `raw`.
    public init(_ raw: String) throws(IdentifierError) { rawValue = try Identifier.validate(raw, .complaint) }

    /// The id.
    public var description: String { rawValue }

    /// By UTF-8 bytes.
    public static func < (lhs: ComplaintID, rhs: ComplaintID) -> Bool { Identifier.precedes(lhs.rawValue, rhs.rawValue) }
}

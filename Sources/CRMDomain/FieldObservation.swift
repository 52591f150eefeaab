/// The profile fields that are observed rather than derived.
public enum ProfileField: String, Sendable, Hashable, CaseIterable {
    /// The person's name.
    case name
    /// The company they buy for (customers are mostly businesses).
    case company
    /// The city goods are delivered to; decides free shipping.
    case city
    /// The delivery address.
    case address
}

/// A value seen for one field of the person behind a handle.
///
/// Observations never overwrite each other in storage; the profile picks the winner by ``FactPrecedence``
/// (newest, then source priority, then fact id). An empty value is an observation that the field is unknown, so
/// a newer "cleared" observation hides an older value.
public struct FieldObservation: Sendable, Hashable {
    /// Whose field.
    public let handle: Handle
    /// Which field.
    public let field: ProfileField
    /// The value, trimmed; empty means "cleared".
    public let value: String

    /// Creates an observation; the value is trimmed.
    public init(handle: Handle, field: ProfileField, value: String) {
        self.handle = handle
        self.field = field
        self.value = Text.trimmed(value)
    }
}

/// The winning observation of a field, with what made it win.
public struct ObservedValue: Sendable, Hashable {
    /// The value.
    public let value: String
    /// When it was observed.
    public let observedAt: Int64
    /// Who observed it.
    public let source: FactSource
    /// The fact it came from.
    public let factID: FactID

    /// Restores an observed value (for example, read back from storage).
    public init(value: String, observedAt: Int64, source: FactSource, factID: FactID) {
        self.value = value
        self.observedAt = observedAt
        self.source = source
        self.factID = factID
    }

    /// Its place in the conflict order, as the fact it came from.
    public var precedence: FactPrecedence {
        FactPrecedence(observedAt: observedAt, sourcePriority: source.priority, id: factID)
    }
}

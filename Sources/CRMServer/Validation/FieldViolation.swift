import CRMDomain
public import CRMMessages
public import CRMWire

/// One refused request field: its path (e.g. `interaction.handle.value`) and why, in words that say what to send.
///
/// Conversions throw it; unary handlers turn it into INVALID_ARGUMENT (``RPCStatus/invalidArgument(_:)``), bulk
/// handlers into a per-item ``CRMMessages/FieldViolation``.
public struct RequestFieldError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path of the field in the request.
    public var field: String
    /// What is wrong and what would be accepted.
    public var reason: String

    /// Creates the error.
    public init(_ field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }

    /// The same error with `prefix.` in front of its path (for nested messages).
    public func under(_ prefix: String) -> RequestFieldError {
        RequestFieldError(prefix.isEmpty ? field : (field.isEmpty ? prefix : prefix + "." + field), reason)
    }

    /// `field: reason`.
    public var description: String { "\(field): \(reason)" }

    /// The wire form for per-item results.
    public var violation: CRMMessages.FieldViolation { CRMMessages.FieldViolation(field: field, reason: reason) }

    /// The INVALID_ARGUMENT status naming the field.
    public var status: RPCStatus { RPCStatus(code: .invalidArgument, message: description) }
}

extension RPCStatus {
    /// INVALID_ARGUMENT naming the field and why.
    static func invalidArgument(_ field: String, _ reason: String) -> RPCStatus {
        RequestFieldError(field, reason).status
    }
    /// NOT_FOUND with `message`.
    static func notFound(_ message: String) -> RPCStatus { RPCStatus(code: .notFound, message: message) }
    /// FAILED_PRECONDITION with `message`.
    static func failedPrecondition(_ message: String) -> RPCStatus { RPCStatus(code: .failedPrecondition, message: message) }
    /// PERMISSION_DENIED with `message`.
    static func permissionDenied(_ message: String) -> RPCStatus { RPCStatus(code: .permissionDenied, message: message) }
    /// UNIMPLEMENTED with `message`.
    static func unimplemented(_ message: String) -> RPCStatus { RPCStatus(code: .unimplemented, message: message) }
}

/// Runs `body`, turning a ``RequestFieldError`` into INVALID_ARGUMENT.
func validated<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as RequestFieldError {
        throw error.status
    }
}

/// Field checks shared by every service.
enum Check {
    /// A required sub-message.
    static func present<T>(_ value: T?, _ field: String) throws(RequestFieldError) -> T {
        guard let value else { throw RequestFieldError(field, "is required") }
        return value
    }

    /// A non-blank text.
    static func nonBlank(_ value: String, _ field: String) throws(RequestFieldError) -> String {
        let trimmed = value.trimmingWhitespace
        guard !trimmed.isEmpty else { throw RequestFieldError(field, "is required and must not be blank") }
        return trimmed
    }

    /// A text of at most `maximum` characters.
    static func bounded(_ value: String, _ field: String, maximum: Int) throws(RequestFieldError) -> String {
        guard value.count <= maximum else {
            throw RequestFieldError(field, "has \(value.count) characters; at most \(maximum) are allowed")
        }
        return value
    }

    /// A time in Unix milliseconds that is not negative.
    static func time(_ value: Int64, _ field: String) throws(RequestFieldError) -> Int64 {
        guard value >= 0 else { throw RequestFieldError(field, "is \(value); give Unix milliseconds, 0 or more") }
        return value
    }

    /// A required time (not 0).
    static func requiredTime(_ value: Int64, _ field: String) throws(RequestFieldError) -> Int64 {
        guard value > 0 else { throw RequestFieldError(field, "is required: give the time in Unix milliseconds") }
        return value
    }

    /// The fact id of an idempotency key: `adapter_id/external_id`.
    static func key(_ key: IdempotencyKey?, _ field: String = "key") throws(RequestFieldError) -> FactID {
        guard let key else { throw RequestFieldError(field, "is required: give adapter_id and external_id") }
        guard !key.adapterID.trimmingWhitespace.isEmpty else {
            throw RequestFieldError(field + ".adapter_id", "is required: give the submitter's stable id")
        }
        guard !key.externalID.trimmingWhitespace.isEmpty else {
            throw RequestFieldError(field + ".external_id", "is required: give the fact's id in the submitter's system")
        }
        do {
            return try FactID(adapter: key.adapterID, externalID: key.externalID)
        } catch {
            throw RequestFieldError(field, error.description)
        }
    }

    /// An order number.
    static func orderNumber(_ raw: String, _ field: String) throws(RequestFieldError) -> OrderNumber {
        do { return try OrderNumber(raw) } catch { throw RequestFieldError(field, error.description) }
    }

    /// A complaint id.
    static func complaintID(_ raw: String, _ field: String) throws(RequestFieldError) -> ComplaintID {
        do { return try ComplaintID(raw) } catch { throw RequestFieldError(field, error.description) }
    }

    /// A fact id.
    static func factID(_ raw: String, _ field: String) throws(RequestFieldError) -> FactID {
        do { return try FactID(raw) } catch { throw RequestFieldError(field, error.description) }
    }

    /// A customer id.
    static func customerID(_ raw: String, _ field: String) throws(RequestFieldError) -> CustomerID {
        do { return try CustomerID(raw) } catch { throw RequestFieldError(field, error.description) }
    }

    /// An optional time range; nil when absent.
    static func timeRange(_ range: CRMMessages.TimeRange?, _ field: String) throws(RequestFieldError) -> CRMDomain.TimeRange? {
        guard let range else { return nil }
        do {
            return try CRMDomain.TimeRange(start: range.fromMs, end: range.toMs)
        } catch {
            throw RequestFieldError(field, error.description)
        }
    }

    /// A required time range.
    static func requiredTimeRange(_ range: CRMMessages.TimeRange?, _ field: String) throws(RequestFieldError) -> CRMDomain.TimeRange {
        guard let value = try timeRange(range, field) else {
            throw RequestFieldError(field, "is required: give from_ms and to_ms")
        }
        return value
    }

    /// An enum value that must be set and known.
    static func known<E: WireEnum & Equatable>(_ value: E, _ field: String, unspecified: E) throws(RequestFieldError) -> E {
        guard value != unspecified else { throw RequestFieldError(field, "is required: choose one of the \(E.protoName) values") }
        guard E.allCases.contains(where: { $0.rawValue == value.rawValue }) else {
            throw RequestFieldError(field, "is \(value.rawValue), a \(E.protoName) value this server does not know")
        }
        return value
    }
}

extension String {
    /// Without leading and trailing white space.
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}

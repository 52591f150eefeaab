/// Why a fact could not be encoded for storage.
public enum FactEncodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A domain enum case has no storage code: the domain gained a case the store does not know yet.
    case uncodedCase(String)

    /// What went wrong and what to do.
    public var description: String {
        switch self {
        case let .uncodedCase(name):
            return "\(name) has no storage code; append it to its table in CRMStore/StorageCodes.swift (never reorder the table)."
        }
    }
}

/// Why stored bytes could not be read back as a fact.
///
/// Seen only when the database file was damaged or written by an incompatible build; the message says which.
public enum FactDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The bytes end in the middle of a value.
    case truncated
    /// A value is not well formed (the text says which).
    case malformed(String)
    /// A one-byte code names no case of the enum.
    case unknownCode(String, UInt8)
    /// The encoding's version byte is one this build cannot read.
    case unsupportedVersion(UInt8)
    /// Bytes are left over after the fact.
    case trailingBytes(Int)
    /// The bytes decode to values the domain refuses (its error's text).
    case invalidValue(String)

    /// What went wrong and what to do.
    public var description: String {
        let advice = "The database file may be damaged or written by a newer build; restore it from a backup or open it with the build that wrote it."
        switch self {
        case .truncated: return "Stored bytes end too early. \(advice)"
        case let .malformed(what): return "Stored bytes contain \(what). \(advice)"
        case let .unknownCode(type, code): return "Stored bytes use code \(code) for a \(type), which this build does not know. \(advice)"
        case let .unsupportedVersion(version): return "Stored bytes use encoding version \(version); this build reads versions \(FactCodec.readableVersions.lowerBound) to \(FactCodec.readableVersions.upperBound). \(advice)"
        case let .trailingBytes(count): return "Stored bytes have \(count) unexpected bytes after their end. \(advice)"
        case let .invalidValue(reason): return "Stored bytes hold a value the domain refuses: \(reason) \(advice)"
        }
    }
}

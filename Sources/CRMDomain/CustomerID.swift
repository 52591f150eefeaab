/// A customer's id: `cus_` followed by 32 lower-case hex digits.
///
/// It is the 128-bit FNV-1a hash of the canonical form of the component's anchor handle (see
/// ``IdentityGraph``). Hashing rather than using the handle itself keeps phone numbers and e-mail addresses out of
/// URLs, logs and support tickets; 128 bits make an accidental collision among tens of millions of customers
/// negligible (about 10⁻²³); FNV-1a is tiny, dependency-free and fixed forever, so ids never change with a library.
public struct CustomerID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// `cus_` and 32 hex digits.
    public let rawValue: String

    private init(validated: String) { rawValue = validated }

    /// Parses an id received from outside, refusing anything not shaped like one.
    public init(_ raw: String) throws(IdentifierError) {
        // Fast path, same result: exactly `cus_` and 32 lower-case hex digits needs no trimming.
        let utf8 = raw.utf8
        if utf8.count == 36, utf8.starts(with: "cus_".utf8),
           utf8.dropFirst(4).allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) {
            rawValue = raw
            return
        }
        let text = Text.trimmed(raw)
        guard text.hasPrefix("cus_") else { throw .malformedCustomerID(raw) }
        let hex = text.dropFirst(4)
        guard hex.count == 32, hex.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }) else {
            throw .malformedCustomerID(raw)
        }
        rawValue = text
    }

    /// The id of the customer whose component is anchored at `anchor`.
    public static func derived(fromAnchor anchor: Handle) -> CustomerID {
        let hash = fnv1a128(Array(anchor.canonical.utf8))
        let hex = String(hash, radix: 16)
        return CustomerID(validated: "cus_" + String(repeating: "0", count: 32 - hex.count) + hex)
    }

    /// The id text.
    public var description: String { rawValue }

    /// By the id text.
    public static func < (lhs: CustomerID, rhs: CustomerID) -> Bool { Identifier.precedes(lhs.rawValue, rhs.rawValue) }

    static func fnv1a128(_ bytes: [UInt8]) -> UInt128 {
        let offsetBasis = (UInt128(0x6c62_272e_07bb_0142) << 64) | UInt128(0x62b8_2175_6295_c58d)
        let prime = (UInt128(0x0000_0000_0100_0000) << 64) | UInt128(0x0000_0000_0000_013b)
        var hash = offsetBasis
        for byte in bytes {
            hash ^= UInt128(byte)
            hash = hash &* prime
        }
        return hash
    }
}

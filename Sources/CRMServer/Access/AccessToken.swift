import CRMTLS

/// The text of access tokens and their digests: `crm_` followed by 32 random bytes from OpenSSL
/// in unpadded base64url (43 characters). Only the SHA-256 digest of the text is stored.
public enum AccessToken {
    /// Every token starts with this, so that a leaked one is easy to recognise and to grep for.
    public static let prefix = "crm_"
    /// Random bytes per token.
    public static let randomByteCount = 32

    /// A new token from OpenSSL's CSPRNG.
    ///
    /// - Throws: ``AccessTokenError/randomnessUnavailable`` when OpenSSL cannot give random bytes.
    public static func generate() throws(AccessTokenError) -> String {
        guard let bytes = CryptoPrimitives.randomBytes(randomByteCount) else { throw .randomnessUnavailable }
        return prefix + base64URL(bytes)
    }

    /// The SHA-256 digest of the token text, as stored and looked up.
    public static func digest(of token: String) -> [UInt8] {
        sha256(Array(token.utf8))
    }

    /// The public id of a token: the first 12 hex digits of its digest. Safe to show and log;
    /// `crmd token revoke` takes it (or any unambiguous prefix of it).
    public static func id(ofDigest digest: [UInt8]) -> String {
        String(hex(digest).prefix(12))
    }

    /// Whether `text` has the shape of a token (prefix and 43 base64url characters).
    public static func isWellFormed(_ text: String) -> Bool {
        guard text.hasPrefix(prefix) else { return false }
        let body = text.utf8.dropFirst(prefix.utf8.count)
        return body.count == 43 && body.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                true
            default:
                false
            }
        }
    }

    /// SHA-256 (``CryptoPrimitives/sha256(_:)``).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        CryptoPrimitives.sha256(bytes)
    }

    /// Lower-case hexadecimal.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Unpadded base64url (RFC 4648, section 5).
    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int(value >> UInt32(shift) & 0x3F)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let value = UInt32(bytes[index]) << 16
            for shift in [18, 12] { out.append(alphabet[Int(value >> UInt32(shift) & 0x3F)]) }
        } else if rest == 2 {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            for shift in [18, 12, 6] { out.append(alphabet[Int(value >> UInt32(shift) & 0x3F)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Why a token could not be made.
public enum AccessTokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// OpenSSL's random generator failed (it could not seed itself).
    case randomnessUnavailable

    public var description: String {
        switch self {
        case .randomnessUnavailable:
            "OpenSSL could not produce random bytes (RAND_bytes failed); check that the system's entropy source (/dev/urandom, getrandom) is available"
        }
    }
}

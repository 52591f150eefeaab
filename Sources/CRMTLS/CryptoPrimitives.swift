import COpenSSL

/// Random bytes and digests from the OpenSSL the TLS layer links, so that no module above this one calls OpenSSL
/// itself.
public enum CryptoPrimitives {
    /// `count` bytes from OpenSSL's CSPRNG; nil when it cannot give them (it could not seed itself).
    public static func randomBytes(_ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { return nil }
        return bytes
    }

    /// The SHA-256 digest of `bytes` (32 bytes), through OpenSSL's EVP interface.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        precondition(ok == 1, "OpenSSL's SHA-256 failed")
        return Array(digest.prefix(Int(length)))
    }
}

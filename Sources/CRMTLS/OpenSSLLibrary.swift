import COpenSSL

/// Facts about the system OpenSSL this build links.
public enum OpenSSLLibrary {
    /// The version string of the OpenSSL library loaded at run time, such as `OpenSSL 3.0.17 1 Jul 2025`.
    public static var version: String { String(cString: crm_openssl_version()) }
}

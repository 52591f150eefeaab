import COpenSSL
import Foundation

/// The development TLS files `crmd serve` makes in `<data>/certs` when no certificate is
/// configured: a CA, a server certificate for `localhost`, `127.0.0.1` and `::1`, and a client
/// certificate for an adapter (CN `adapter-dev`) for mTLS demos. ECDSA P-256, SHA-256, made with
/// OpenSSL's C API (no `openssl` command needed).
///
/// **For development only**: the CA's key lies next to the certificates, so anyone who can read
/// the data directory can mint certificates the server trusts. Configure real certificates
/// (`--cert`, `--key`, `--ca`) for anything else.
public struct DevelopmentCertificates: Sendable, Hashable {
    /// The folder holding the files.
    public let directory: String

    /// The CA certificate: clients trust it (`crm --ca`), and the server verifies client certificates with it.
    public var caFile: String { path("ca.pem") }
    /// The CA's private key.
    public var caKeyFile: String { path("ca.key") }
    /// The server certificate.
    public var serverCertificateFile: String { path("server.pem") }
    /// The server's private key.
    public var serverKeyFile: String { path("server.key") }
    /// The adapter's client certificate (CN `adapter-dev`).
    public var adapterCertificateFile: String { path("adapter.pem") }
    /// The adapter's private key.
    public var adapterKeyFile: String { path("adapter.key") }

    /// The common name of the adapter's client certificate.
    public static let adapterCommonName = "adapter-dev"

    private func path(_ name: String) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + name
    }

    /// The files in `directory`, made if missing (a new CA remakes what it signs), reused otherwise.
    ///
    /// - Returns: the set, and whether anything was made now.
    /// - Throws: ``DevelopmentCertificateError`` naming the step and OpenSSL's reason.
    public static func ensure(in directory: String, validityDays: Int = 365) throws -> (certificates: DevelopmentCertificates, created: Bool) {
        let set = DevelopmentCertificates(directory: directory)
        let fileManager = FileManager.default
        func exists(_ paths: String...) -> Bool { paths.allSatisfy { fileManager.fileExists(atPath: $0) } }
        do {
            try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw DevelopmentCertificateError("cannot create \(directory): \(error.localizedDescription)")
        }
        var created = false
        let ca: (certificate: X509Box, key: KeyBox)
        if exists(set.caFile, set.caKeyFile) {
            ca = (try X509Box(pemFile: set.caFile), try KeyBox(pemFile: set.caKeyFile))
        } else {
            let key = try KeyBox.generate()
            let certificate = try X509Box.make(
                commonName: "CRM development CA", key: key, issuer: nil, days: validityDays * 10, kind: .authority)
            try key.write(to: set.caKeyFile)
            try certificate.write(to: set.caFile)
            ca = (certificate, key)
            created = true
        }
        if created || !exists(set.serverCertificateFile, set.serverKeyFile) {
            let key = try KeyBox.generate()
            let certificate = try X509Box.make(commonName: "localhost", key: key, issuer: ca, days: validityDays, kind: .server)
            try key.write(to: set.serverKeyFile)
            try certificate.write(to: set.serverCertificateFile)
            created = true
        }
        if created || !exists(set.adapterCertificateFile, set.adapterKeyFile) {
            let key = try KeyBox.generate()
            let certificate = try X509Box.make(commonName: adapterCommonName, key: key, issuer: ca, days: validityDays, kind: .client)
            try key.write(to: set.adapterKeyFile)
            try certificate.write(to: set.adapterCertificateFile)
            created = true
        }
        return (set, created)
    }
}

/// A step of making development certificates failed.
public struct DevelopmentCertificateError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    /// `what` with the reasons OpenSSL queued.
    static func openSSL(_ what: String) -> DevelopmentCertificateError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let detail = reasons.isEmpty ? "" : " (\(reasons.joined(separator: "; ")))"
        return DevelopmentCertificateError(
            "cannot make the development certificates: \(what) failed\(detail); delete the certs folder of the data directory to start afresh, or configure --cert, --key and --ca")
    }
}

/// An owned `EVP_PKEY *`.
final class KeyBox {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { EVP_PKEY_free(pointer) }

    /// A new P-256 key.
    static func generate() throws -> KeyBox {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw DevelopmentCertificateError.openSSL("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else {
            throw DevelopmentCertificateError.openSSL("setting up P-256 key generation")
        }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_keygen(context, &key) == 1, let key else { throw DevelopmentCertificateError.openSSL("EVP_PKEY_keygen") }
        return KeyBox(key)
    }

    init(pemFile: String) throws {
        guard let bio = BIO_new_file(pemFile, "r") else { throw DevelopmentCertificateError.openSSL("opening \(pemFile)") }
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else { throw DevelopmentCertificateError.openSSL("reading the key \(pemFile)") }
        pointer = key
    }

    /// Writes the key as unencrypted PKCS#8 PEM, readable by its owner only.
    func write(to path: String) throws {
        let pem = try memoryPEM("writing a private key") { bio in PEM_write_bio_PrivateKey(bio, pointer, nil, nil, 0, nil, nil) }
        try writeFile(path, pem, permissions: 0o600)
    }
}

/// An owned `X509 *`.
final class X509Box {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { X509_free(pointer) }

    init(pemFile: String) throws {
        guard let bio = BIO_new_file(pemFile, "r") else { throw DevelopmentCertificateError.openSSL("opening \(pemFile)") }
        defer { BIO_free(bio) }
        guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else {
            throw DevelopmentCertificateError.openSSL("reading the certificate \(pemFile)")
        }
        pointer = certificate
    }

    enum Kind {
        case authority, server, client
    }

    /// A certificate for `key`, signed by `issuer` (self-signed when nil).
    static func make(
        commonName: String, key: KeyBox, issuer: (certificate: X509Box, key: KeyBox)?, days: Int, kind: Kind
    ) throws -> X509Box {
        guard let raw = X509_new() else { throw DevelopmentCertificateError.openSSL("X509_new") }
        let certificate = X509Box(raw)
        let x509 = certificate.pointer
        guard X509_set_version(x509, 2) == 1 else { throw DevelopmentCertificateError.openSSL("X509_set_version") }

        // A random 127-bit positive serial number.
        var serial = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&serial, Int32(serial.count)) == 1 else { throw DevelopmentCertificateError.openSSL("RAND_bytes") }
        serial[0] &= 0x7F
        guard let number = BN_bin2bn(serial, Int32(serial.count), nil) else { throw DevelopmentCertificateError.openSSL("BN_bin2bn") }
        defer { BN_free(number) }
        guard BN_to_ASN1_INTEGER(number, X509_get_serialNumber(x509)) != nil else {
            throw DevelopmentCertificateError.openSSL("setting the serial number")
        }

        // Valid from an hour ago (clock skew) for `days` days.
        guard X509_gmtime_adj(X509_getm_notBefore(x509), -3600) != nil,
            X509_gmtime_adj(X509_getm_notAfter(x509), days * 86_400) != nil
        else { throw DevelopmentCertificateError.openSSL("setting the validity") }
        guard X509_set_pubkey(x509, key.pointer) == 1 else { throw DevelopmentCertificateError.openSSL("X509_set_pubkey") }

        guard let subject = X509_get_subject_name(x509) else { throw DevelopmentCertificateError.openSSL("X509_get_subject_name") }
        for (field, value) in [("O", "CRM development"), ("CN", commonName)] {
            let bytes = Array(value.utf8)
            guard X509_NAME_add_entry_by_txt(subject, field, MBSTRING_UTF8, bytes, Int32(bytes.count), -1, 0) == 1 else {
                throw DevelopmentCertificateError.openSSL("adding \(field) to the subject")
            }
        }
        let issuerName = issuer.map { X509_get_subject_name($0.certificate.pointer) } ?? subject
        guard X509_set_issuer_name(x509, issuerName) == 1 else { throw DevelopmentCertificateError.openSSL("X509_set_issuer_name") }

        var extensions: [(Int32, String)] = []
        switch kind {
        case .authority:
            extensions = [
                (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
            ]
        case .server:
            extensions = [
                (NID_basic_constraints, "critical,CA:FALSE"),
                (NID_key_usage, "critical,digitalSignature"),
                (NID_ext_key_usage, "serverAuth"),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid"),
                (NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"),
            ]
        case .client:
            extensions = [
                (NID_basic_constraints, "critical,CA:FALSE"),
                (NID_key_usage, "critical,digitalSignature"),
                (NID_ext_key_usage, "clientAuth"),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid"),
            ]
        }
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer?.certificate.pointer ?? x509, x509, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw DevelopmentCertificateError.openSSL("making the extension \(value)")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(x509, ext, -1) == 1 else { throw DevelopmentCertificateError.openSSL("adding the extension \(value)") }
        }
        guard X509_sign(x509, (issuer?.key ?? key).pointer, EVP_sha256()) > 0 else {
            throw DevelopmentCertificateError.openSSL("signing the \(commonName) certificate")
        }
        return certificate
    }

    /// Writes the certificate as PEM, readable by all.
    func write(to path: String) throws {
        let pem = try memoryPEM("writing a certificate") { bio in PEM_write_bio_X509(bio, pointer) }
        try writeFile(path, pem, permissions: 0o644)
    }
}

/// The bytes `write` puts into a memory BIO.
private func memoryPEM(_ what: String, _ write: (OpaquePointer) -> Int32) throws -> [UInt8] {
    guard let bio = BIO_new(BIO_s_mem()) else { throw DevelopmentCertificateError.openSSL("BIO_new") }
    defer { BIO_free(bio) }
    guard write(bio) == 1 else { throw DevelopmentCertificateError.openSSL(what) }
    var data: UnsafeMutablePointer<CChar>? = nil
    let length = crm_BIO_get_mem_data(bio, &data)
    guard let data, length > 0 else { throw DevelopmentCertificateError.openSSL(what) }
    return Array(UnsafeRawBufferPointer(start: data, count: Int(length)))
}

/// Writes `bytes` to `path` atomically (a temporary file renamed), with `permissions`.
private func writeFile(_ path: String, _ bytes: [UInt8], permissions: Int) throws {
    let temporary = path + ".tmp"
    _ = FileManager.default.createFile(atPath: temporary, contents: Data(bytes), attributes: [.posixPermissions: permissions])
    do {
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
    } catch {
        throw DevelopmentCertificateError("cannot write \(path): \(error.localizedDescription)")
    }
}

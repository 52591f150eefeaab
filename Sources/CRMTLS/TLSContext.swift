import COpenSSL

/// An OpenSSL `SSL_CTX` built once from a ``TLSConfiguration``: certificates and key loaded, trust
/// roots, versions, ciphers and ALPN set. Share one between all connections of a server or client and
/// give it to each ``TLSHandler``.
///
/// `@unchecked Sendable` because the `SSL_CTX` is fully configured in `init` and never changed
/// afterwards, and OpenSSL documents creating `SSL` objects from a shared, no longer modified `SSL_CTX`
/// as safe from any thread (its reference count and session cache take their own locks). The stored
/// properties are all `let`, and the ALPN callbacks only read them.
public final class TLSContext: @unchecked Sendable {
    /// The configuration this context was built from.
    public let configuration: TLSConfiguration

    /// The configured `SSL_CTX *`; freed in `deinit`. Each `SSL` made from it holds its own reference.
    let sslContext: OpaquePointer

    /// ``TLSConfiguration/applicationProtocols`` in ALPN's wire format (each name preceded by its
    /// length), which is what OpenSSL's ALPN functions take.
    let alpnWireFormat: [UInt8]

    /// Loads and checks everything the configuration names.
    ///
    /// - Throws: ``TLSError`` saying which file or setting is wrong and what OpenSSL said about it.
    public init(configuration: TLSConfiguration) throws(TLSError) {
        try configuration.validate()
        self.configuration = configuration
        self.alpnWireFormat = configuration.applicationProtocols.alpnWireFormat
        self.sslContext = try Self.makeSSLContext(configuration: configuration, alpnWireFormat: alpnWireFormat)

        // Callbacks get `self` unretained: every SSL made from this context belongs to a TLSConnection
        // that holds this TLSContext strongly, so `self` outlives any handshake that could call back.
        let unretainedSelf = Unmanaged.passUnretained(self).toOpaque()
        if configuration.role == .server, !alpnWireFormat.isEmpty {
            SSL_CTX_set_alpn_select_cb(sslContext, TLSContext.selectApplicationProtocol, unretainedSelf)
            if configuration.requiresApplicationProtocol {
                // OpenSSL calls the ALPN callback only when the client offers ALPN at all, so a client that
                // offers none is refused here, early, with the same alert.
                SSL_CTX_set_client_hello_cb(sslContext, TLSContext.refuseClientHelloWithoutALPN, nil)
            }
        }
    }

    deinit {
        SSL_CTX_free(sslContext)
    }

    /// Makes the `SSL` of one connection. The caller owns it and frees it with `SSL_free`.
    func makeSSL() throws(TLSError) -> OpaquePointer {
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(sslContext) else {
            let errors = OpenSSLErrorQueue.drain()
            throw TLSError(
                .openSSLFailure,
                "cannot create a TLS connection: \(OpenSSLErrorQueue.summary(errors)); "
                    + "the process may be out of memory",
                openSSLErrors: errors
            )
        }
        return ssl
    }

    // MARK: Building the SSL_CTX

    private static func makeSSLContext(
        configuration: TLSConfiguration,
        alpnWireFormat: [UInt8]
    ) throws(TLSError) -> OpaquePointer {
        OpenSSLErrorQueue.clear()
        guard let context = SSL_CTX_new(TLS_method()) else {
            throw failure(
                .openSSLFailure,
                "cannot create an OpenSSL context",
                advice: "the process may be out of memory"
            )
        }
        var configured = false
        defer { if !configured { SSL_CTX_free(context) } }

        // Never let OpenSSL prompt on the terminal for a key passphrase: answering with no passphrase makes
        // an encrypted key fail to load, with a reason, instead of blocking the event loop on stdin.
        SSL_CTX_set_default_passwd_cb(context) { _, _, _, _ in 0 }

        try setVersions(context, configuration)
        try setCiphers(context, configuration)
        setOptions(context, configuration)
        try loadIdentity(context, configuration)
        try loadTrustRoots(context, configuration)
        setVerification(context, configuration)

        if configuration.role == .client, !alpnWireFormat.isEmpty {
            // Unusually, SSL_CTX_set_alpn_protos returns 0 on success.
            let status = alpnWireFormat.withUnsafeBufferPointer {
                SSL_CTX_set_alpn_protos(context, $0.baseAddress, UInt32($0.count))
            }
            guard status == 0 else {
                throw failure(
                    .openSSLFailure,
                    "cannot set the ALPN protocols \(configuration.applicationProtocols)",
                    advice: "check the names"
                )
            }
        }

        configured = true
        return context
    }

    private static func setVersions(_ context: OpaquePointer, _ configuration: TLSConfiguration) throws(TLSError) {
        func openSSLVersion(_ version: TLSConfiguration.Version) -> Int32 {
            switch version {
            case .tls12: crm_tls1_2_version()
            case .tls13: crm_tls1_3_version()
            }
        }
        guard crm_SSL_CTX_set_min_proto_version(context, openSSLVersion(configuration.minimumVersion)) == 1,
            crm_SSL_CTX_set_max_proto_version(context, openSSLVersion(configuration.maximumVersion)) == 1
        else {
            throw failure(
                .invalidConfiguration,
                "cannot set TLS versions \(configuration.minimumVersion) to \(configuration.maximumVersion)",
                advice: "this OpenSSL build may lack them; run `openssl version`"
            )
        }
    }

    private static func setCiphers(_ context: OpaquePointer, _ configuration: TLSConfiguration) throws(TLSError) {
        guard SSL_CTX_set_cipher_list(context, configuration.cipherList) == 1 else {
            throw failure(
                .invalidCipherList,
                "no usable TLS 1.2 cipher in \"\(configuration.cipherList)\"",
                advice:
                    "use OpenSSL cipher names such as ECDHE-ECDSA-AES128-GCM-SHA256 (`openssl ciphers -v` lists them)"
            )
        }
        guard SSL_CTX_set_ciphersuites(context, configuration.cipherSuites) == 1 else {
            throw failure(
                .invalidCipherList,
                "no usable TLS 1.3 ciphersuite in \"\(configuration.cipherSuites)\"",
                advice: "use names such as TLS_AES_128_GCM_SHA256 (`openssl ciphers -v -tls1_3` lists them)"
            )
        }
        guard crm_SSL_CTX_set1_groups_list(context, configuration.groups) == 1 else {
            throw failure(
                .invalidConfiguration,
                "no usable key exchange group in \"\(configuration.groups)\"",
                advice: "use names such as X25519, P-256, P-384"
            )
        }
    }

    private static func setOptions(_ context: OpaquePointer, _ configuration: TLSConfiguration) {
        // No renegotiation, no compression (CRIME), server cipher preference.
        SSL_CTX_set_options(context, UInt64(crm_SSL_CTX_options_no_renegotiation()))
        // Release the 16 KiB record buffers while a connection is idle (memory per idle connection), accept
        // a write buffer that moves between retries (ByteBuffers can), and return from SSL_write after each
        // record, so a large write can be drained to the socket record by record.
        _ = crm_SSL_CTX_set_mode(context, crm_mode_release_buffers())
        // We keep no server-side session cache: TLS 1.3 tickets are stateless and our clients do not resume.
        _ = crm_SSL_CTX_set_session_cache_mode(context, 0)
        // Without a session id context, OpenSSL fails any resumption attempt when client certificates are
        // verified; setting one costs nothing.
        let sessionIDContext: [UInt8] = Array("crm".utf8)
        _ = sessionIDContext.withUnsafeBufferPointer {
            SSL_CTX_set_session_id_context(context, $0.baseAddress, UInt32($0.count))
        }
    }

    private static func loadIdentity(_ context: OpaquePointer, _ configuration: TLSConfiguration) throws(TLSError) {
        guard let certificateFile = configuration.certificateChainFile,
            let keyFile = configuration.privateKeyFile
        else { return }

        guard SSL_CTX_use_certificate_chain_file(context, certificateFile) == 1 else {
            throw failure(
                .certificateUnreadable,
                "cannot read certificate chain \(certificateFile)",
                advice: "check the path and that the file holds PEM certificates, ours first, then intermediates"
            )
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyFile, SSL_FILETYPE_PEM) == 1 else {
            let errors = OpenSSLErrorQueue.drain()
            // OpenSSL checks the key against the certificate while loading it, and reports a mismatch there.
            if errors.contains(where: { $0.library == ERR_LIB_X509 && $0.reason == X509_R_KEY_VALUES_MISMATCH }) {
                throw mismatch(keyFile: keyFile, certificateFile: certificateFile, errors: errors)
            }
            throw TLSError(
                .privateKeyUnreadable,
                "cannot read private key \(keyFile): \(OpenSSLErrorQueue.summary(errors)); check the path, that it "
                    + "is an unencrypted PEM key, and that it matches the certificate \(certificateFile)",
                openSSLErrors: errors
            )
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw mismatch(keyFile: keyFile, certificateFile: certificateFile, errors: OpenSSLErrorQueue.drain())
        }
    }

    private static func mismatch(keyFile: String, certificateFile: String, errors: [OpenSSLError]) -> TLSError {
        TLSError(
            .privateKeyMismatch,
            "private key \(keyFile) does not match certificate \(certificateFile): "
                + "\(OpenSSLErrorQueue.summary(errors)); use the key the certificate was issued for",
            openSSLErrors: errors
        )
    }

    private static func loadTrustRoots(_ context: OpaquePointer, _ configuration: TLSConfiguration) throws(TLSError) {
        guard let caFile = configuration.trustRootsFile else {
            if configuration.role == .client {
                guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                    throw failure(
                        .trustRootsUnreadable,
                        "cannot load the system's trust store",
                        advice: "install ca-certificates or set trustRootsFile to a PEM CA bundle"
                    )
                }
            }
            return
        }
        let advice = "check the path and that the file holds PEM CA certificates"
        guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
            throw failure(.trustRootsUnreadable, "cannot read CA bundle \(caFile)", advice: advice)
        }
        if configuration.role == .server, configuration.clientCertificateMode != .none {
            // Tell clients which CAs we accept, so that one holding several certificates can pick the right one.
            guard let names = SSL_load_client_CA_file(caFile) else {
                throw failure(.trustRootsUnreadable, "cannot read CA names from \(caFile)", advice: advice)
            }
            SSL_CTX_set_client_CA_list(context, names)
        }
    }

    private static func setVerification(_ context: OpaquePointer, _ configuration: TLSConfiguration) {
        let mode: Int32
        switch (configuration.role, configuration.clientCertificateMode) {
        case (.client, _):
            mode = SSL_VERIFY_PEER
        case (.server, .none):
            mode = SSL_VERIFY_NONE
        case (.server, .optional):
            mode = SSL_VERIFY_PEER
        case (.server, .required):
            mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
        }
        SSL_CTX_set_verify(context, mode, nil)
    }

    /// A ``TLSError`` of `kind` with the drained OpenSSL errors quoted between `what` and `advice`.
    private static func failure(_ kind: TLSError.Kind, _ what: String, advice: String) -> TLSError {
        let errors = OpenSSLErrorQueue.drain()
        return TLSError(kind, "\(what): \(OpenSSLErrorQueue.summary(errors)); \(advice)", openSSLErrors: errors)
    }

    // MARK: ALPN on the server

    /// OpenSSL's ALPN select callback: picks our most preferred protocol the client offers, or refuses
    /// the handshake with a `no_application_protocol` alert when one is required.
    private static let selectApplicationProtocol: SSL_CTX_alpn_select_cb_func = {
        _, selected, selectedLength, offered, offeredLength, argument in
        guard let argument, let selected, let selectedLength, let offered else {
            return SSL_TLSEXT_ERR_ALERT_FATAL
        }
        let context = Unmanaged<TLSContext>.fromOpaque(argument).takeUnretainedValue()
        let offeredList = UnsafeBufferPointer(start: offered, count: Int(offeredLength))
        let match = context.alpnWireFormat.withUnsafeBufferPointer { ours in
            ALPNWireFormat.firstMatch(preferred: ours, offered: offeredList)
        }
        guard let match else {
            return context.configuration.requiresApplicationProtocol ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK
        }
        // OpenSSL copies the selection before the offered list goes away.
        selected.pointee = offered + match.offset
        selectedLength.pointee = UInt8(truncatingIfNeeded: match.length)  // at most 255: it came from a length byte
        return SSL_TLSEXT_ERR_OK
    }

    /// OpenSSL's client hello callback: refuses a client that offers no ALPN at all.
    private static let refuseClientHelloWithoutALPN: SSL_client_hello_cb_fn = { ssl, alert, _ in
        var extensionData: UnsafePointer<UInt8>? = nil
        var extensionLength = 0
        if SSL_client_hello_get0_ext(ssl, UInt32(crm_tls_ext_alpn()), &extensionData, &extensionLength) == 1 {
            return SSL_CLIENT_HELLO_SUCCESS
        }
        alert?.pointee = SSL_AD_NO_APPLICATION_PROTOCOL
        return SSL_CLIENT_HELLO_ERROR
    }
}

extension TLSConfiguration {
    /// Rejects configurations OpenSSL would accept but that cannot work, before touching files.
    func validate() throws(TLSError) {
        switch (certificateChainFile, privateKeyFile) {
        case (nil, nil):
            if role == .server {
                throw TLSError(
                    .invalidConfiguration,
                    "a TLS server needs a certificate chain and a private key; set certificateChainFile and "
                        + "privateKeyFile (tools/gen-certs makes development ones)"
                )
            }
        case (.some(let certificate), nil):
            throw TLSError(
                .invalidConfiguration,
                "certificate \(certificate) has no private key; set privateKeyFile too"
            )
        case (nil, .some(let key)):
            throw TLSError(.invalidConfiguration, "private key \(key) has no certificate; set certificateChainFile too")
        case (.some, .some):
            break
        }
        if role == .server, clientCertificateMode != .none, trustRootsFile == nil {
            throw TLSError(
                .invalidConfiguration,
                "client certificates are \(clientCertificateMode.rawValue) but there is nothing to verify them with; "
                    + "set trustRootsFile to the PEM bundle of the CA that issues client certificates"
            )
        }
        guard minimumVersion <= maximumVersion else {
            throw TLSError(
                .invalidConfiguration,
                "minimumVersion \(minimumVersion) is above maximumVersion \(maximumVersion); lower the minimum"
            )
        }
        for name in applicationProtocols where name.utf8.isEmpty || name.utf8.count > 255 {
            throw TLSError(
                .invalidConfiguration,
                "ALPN protocol name \"\(name)\" must be 1 to 255 bytes long; fix applicationProtocols"
            )
        }
        guard handshakeTimeout > .zero, closeNotifyTimeout > .zero else {
            throw TLSError(
                .invalidConfiguration,
                "handshakeTimeout and closeNotifyTimeout must be positive; they bound how long a stalled peer is kept"
            )
        }
    }
}

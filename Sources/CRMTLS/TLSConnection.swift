import COpenSSL
import NIOCore

/// One OpenSSL `SSL` and its two memory BIOs: the TLS engine of one connection, with no I/O of its own.
///
/// Ciphertext from the network goes in with ``receive(_:)``; OpenSSL reads it from the input BIO
/// while handshaking, reading or shutting down. Whatever OpenSSL wants to send accumulates in the output
/// BIO until ``takeOutput(allocator:)`` hands it to the channel. ``TLSHandler`` drives it on its event
/// loop; it is not thread-safe.
final class TLSConnection {
    /// The outcome of a handshake step or a shutdown.
    enum Step {
        /// The operation finished.
        case complete
        /// OpenSSL needs more bytes from the peer; send whatever output is pending and wait.
        case needsInput
        /// The operation failed; the connection is unusable.
        case failed(TLSError)
    }

    /// The outcome of one `SSL_read`.
    enum ReadResult {
        /// This many plaintext bytes were appended to the buffer.
        case bytes(Int)
        /// No complete record is buffered; wait for more ciphertext.
        case needsInput
        /// The peer sent `close_notify`: it will send nothing more.
        case closeNotify
        /// Reading failed; the connection is unusable.
        case failed(TLSError)
    }

    /// The outcome of one `SSL_write`.
    enum WriteResult {
        /// This many plaintext bytes were consumed from the buffer (at least one record's worth, or all).
        case wrote(Int)
        /// OpenSSL must read first (a TLS 1.3 post-handshake message); retry after more input.
        case needsInput
        /// Writing failed; the connection is unusable.
        case failed(TLSError)
    }

    /// Largest TLS record plaintext: what one `SSL_read` can return.
    static let maximumRecordSize = 16 * 1024

    let context: TLSContext
    /// The name or address the server's certificate must match; `nil` on servers.
    let expectedServerName: String?
    private let ssl: OpaquePointer
    /// Ciphertext from the peer, read by OpenSSL. Owned by `ssl`.
    private var networkInput: OpaquePointer
    /// Ciphertext for the peer, written by OpenSSL. Owned by `ssl`.
    private var networkOutput: OpaquePointer
    /// The most bytes each BIO has held since it was made. A memory BIO never gives memory back, so one
    /// that has grown for a burst is replaced once it is empty again (see ``releaseIdleMemory()``).
    private var inputHighWater = 0
    private var outputHighWater = 0
    /// Above this, an empty BIO is replaced rather than kept for the next burst.
    private static let idleBIOLimit = 32 * 1024

    /// Makes the engine of one connection.
    ///
    /// - Parameter serverName: clients only: overrides ``TLSConfiguration/serverName``.
    init(context: TLSContext, serverName: String?) throws(TLSError) {
        let configuration = context.configuration
        let expectedServerName = configuration.role == .client ? (serverName ?? configuration.serverName) : nil
        if configuration.role == .client, expectedServerName?.isEmpty ?? true {
            throw TLSError(
                .invalidConfiguration,
                "a TLS client needs the server's name to verify its certificate; set TLSConfiguration.serverName "
                    + "or pass serverName to TLSHandler"
            )
        }
        let ssl = try context.makeSSL()
        guard let input = Self.makeInputBIO(), let output = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError(
                .openSSLFailure,
                "cannot allocate memory BIOs for a TLS connection; the process may be out of memory"
            )
        }
        SSL_set_bio(ssl, input, output)

        self.context = context
        self.expectedServerName = expectedServerName
        self.ssl = ssl
        self.networkInput = input
        self.networkOutput = output

        switch configuration.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let expectedServerName {
                try expectServerName(expectedServerName)
            }
        }
    }

    deinit {
        SSL_free(ssl)  // frees both BIOs
    }

    private static func makeInputBIO() -> OpaquePointer? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        // An empty input BIO must mean "no bytes yet, retry" (-1), not end of file (0).
        _ = crm_BIO_set_mem_eof_return(bio, -1)
        return bio
    }

    /// Replaces a BIO that grew for a burst (a large message) once it is empty, so that an idle connection
    /// does not keep the burst's memory. OpenSSL buffers nothing of its own in a memory BIO's place, so an
    /// empty one can be swapped at any time.
    func releaseIdleMemory() {
        if inputHighWater > Self.idleBIOLimit, crm_BIO_pending(networkInput) == 0, let fresh = Self.makeInputBIO() {
            SSL_set0_rbio(ssl, fresh)  // frees the old one
            networkInput = fresh
            inputHighWater = 0
        }
        if outputHighWater > Self.idleBIOLimit, crm_BIO_pending(networkOutput) == 0, let fresh = BIO_new(BIO_s_mem()) {
            SSL_set0_wbio(ssl, fresh)  // frees the old one
            networkOutput = fresh
            outputHighWater = 0
        }
    }

    /// Makes OpenSSL check that the server's certificate is for `name`, and sends `name` as SNI when it is
    /// a DNS name (RFC 6066 forbids IP addresses in SNI).
    private func expectServerName(_ name: String) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        let parameters = SSL_get0_param(ssl)
        let bareAddress = name.hasPrefix("[") && name.hasSuffix("]") ? String(name.dropFirst().dropLast()) : name
        // set1_ip_asc succeeds exactly when the text is an IPv4 or IPv6 address; then it is matched
        // against the certificate's IP SANs.
        if X509_VERIFY_PARAM_set1_ip_asc(parameters, bareAddress) == 1 {
            return
        }
        OpenSSLErrorQueue.clear()
        X509_VERIFY_PARAM_set_hostflags(parameters, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        guard X509_VERIFY_PARAM_set1_host(parameters, name, 0) == 1,
            crm_SSL_set_tlsext_host_name(ssl, name) == 1
        else {
            let errors = OpenSSLErrorQueue.drain()
            throw TLSError(
                .invalidConfiguration,
                "cannot use \"\(name)\" as the server name: \(OpenSSLErrorQueue.summary(errors)); "
                    + "give a DNS name or an IP address",
                openSSLErrors: errors
            )
        }
    }

    // MARK: Ciphertext in and out

    /// Hands ciphertext from the peer to OpenSSL (copied into the input BIO).
    func receive(_ ciphertext: ByteBuffer) {
        ciphertext.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let chunk = Int32(clamping: bytes.count - offset)
                let written = BIO_write(networkInput, base + offset, chunk)
                // A memory BIO write only fails when memory runs out; the record layer then sees a truncated
                // stream and fails the connection, so there is nothing better to do here.
                guard written > 0 else { return }
                offset += Int(written)
            }
        }
        inputHighWater = max(inputHighWater, Int(crm_BIO_pending(networkInput)))
    }

    /// How many ciphertext bytes OpenSSL has produced and not yet handed out.
    var pendingOutputBytes: Int { Int(crm_BIO_pending(networkOutput)) }

    /// Moves all pending ciphertext into one new buffer, or returns `nil` when there is none.
    func takeOutput(allocator: ByteBufferAllocator) -> ByteBuffer? {
        let pending = pendingOutputBytes
        guard pending > 0 else { return nil }
        outputHighWater = max(outputHighWater, pending)
        var buffer = allocator.buffer(capacity: pending)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { space in
            Int(max(0, BIO_read(networkOutput, space.baseAddress, Int32(clamping: pending))))
        }
        return buffer
    }

    // MARK: TLS operations

    /// Runs the handshake as far as the buffered input allows.
    func handshake() -> Step {
        OpenSSLErrorQueue.clear()
        let status = SSL_do_handshake(ssl)
        if status == 1 { return .complete }
        switch SSL_get_error(ssl, status) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .needsInput
        case SSL_ERROR_ZERO_RETURN:
            return .failed(failure(during: .handshake, closeNotify: true))
        default:
            return .failed(failure(during: .handshake))
        }
    }

    /// At most how many plaintext bytes the input received so far can still yield; 0 when there is nothing
    /// to read. Ciphertext is never shorter than its plaintext, so the bytes waiting in the input BIO and
    /// in OpenSSL's own buffers bound it.
    var readablePlaintextBound: Int {
        let decrypted = Int(SSL_pending(ssl))
        // Part of a record OpenSSL has read from the BIO but not decrypted yet: at most one record.
        let undecrypted = SSL_has_pending(ssl) == 1 && decrypted == 0 ? Self.maximumRecordSize : 0
        return Int(crm_BIO_pending(networkInput)) + decrypted + undecrypted
    }

    /// Decrypts up to one record's worth of plaintext onto the end of `buffer`, growing it only as far as
    /// the input can fill it: a 200-byte message needs no 16 KiB buffer.
    func read(into buffer: inout ByteBuffer) -> ReadResult {
        let bound = readablePlaintextBound
        guard bound > 0 else { return .needsInput }
        OpenSSLErrorQueue.clear()
        var status: Int32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: min(bound, Self.maximumRecordSize)) { space in
            status = SSL_read(ssl, space.baseAddress, Int32(clamping: space.count))
            return status > 0 ? Int(status) : 0
        }
        if status > 0 { return .bytes(Int(status)) }
        switch SSL_get_error(ssl, status) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .needsInput
        case SSL_ERROR_ZERO_RETURN:
            return .closeNotify
        default:
            return .failed(failure(during: .established))
        }
    }

    /// Encrypts the start of `plaintext` into the output BIO and moves its reader index past what was taken.
    func write(_ plaintext: inout ByteBuffer) -> WriteResult {
        guard plaintext.readableBytes > 0 else { return .wrote(0) }
        OpenSSLErrorQueue.clear()
        let status = plaintext.withUnsafeReadableBytes { bytes in
            SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        }
        if status > 0 {
            plaintext.moveReaderIndex(forwardBy: Int(status))
            return .wrote(Int(status))
        }
        switch SSL_get_error(ssl, status) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .needsInput
        default:
            return .failed(failure(during: .established))
        }
    }

    /// Queues our `close_notify`. `.complete` when the peer's has already been received, `.needsInput`
    /// while it has not.
    func shutdown() -> Step {
        OpenSSLErrorQueue.clear()
        let status = SSL_shutdown(ssl)
        switch status {
        case 1:
            return .complete
        case 0:
            return .needsInput
        default:
            switch SSL_get_error(ssl, status) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                return .needsInput
            default:
                return .failed(failure(during: .established))
            }
        }
    }

    // MARK: What was negotiated

    /// The ALPN protocol chosen, if any.
    var negotiatedApplicationProtocol: String? {
        var name: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &name, &length)
        guard let name, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: name, count: Int(length)), as: UTF8.self)
    }

    /// What the handshake settled, for ``TLSHandshakeCompleted``.
    func handshakeSummary() -> TLSHandshakeCompleted {
        let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "unknown"
        let cipher =
            SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "unknown"
        var peer: PeerCertificate? = nil
        if let certificate = SSL_get1_peer_certificate(ssl) {
            peer = PeerCertificate(x509: certificate)
            X509_free(certificate)
        }
        return TLSHandshakeCompleted(
            alpn: negotiatedApplicationProtocol,
            protocolVersion: version,
            cipherSuite: cipher,
            peerCertificate: peer
        )
    }

    // MARK: Errors

    /// Drains OpenSSL's error queue and turns it into a ``TLSError`` of the most precise kind.
    private func failure(during phase: TLSFailure.Phase, closeNotify: Bool = false) -> TLSError {
        let verifyResult = SSL_get_verify_result(ssl)
        return TLSFailure(
            phase: phase,
            role: context.configuration.role,
            errors: OpenSSLErrorQueue.drain(),
            verifyResult: verifyResult == X509_V_OK ? nil : Int32(truncatingIfNeeded: verifyResult),
            closeNotifyDuringHandshake: closeNotify,
            configuration: context.configuration,
            expectedServerName: expectedServerName
        ).error
    }
}

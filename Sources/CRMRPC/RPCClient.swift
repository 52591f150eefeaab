public import CRMTLS
public import CRMWire
public import NIOCore
public import NIOPosix

/// A crm/1 client: one TLS connection (made on the first call, remade when it goes away)
/// multiplexing every call, with typed calls of the four kinds.
///
/// ```swift
/// let client = try RPCClient(configuration: .init(host: "localhost", port: 7443, tls: tls))
/// let health = try await client.unary(Health.check, HealthCheckRequest(), options: .init(timeout: .seconds(5)))
/// await client.close()
/// ```
///
/// Calls fail by throwing `RPCStatus`. Deadlines are enforced here as well as on the server
/// (DEADLINE_EXCEEDED, RST_STREAM); cancelling the calling task cancels the call (CANCELLED,
/// RST_STREAM). Unary and server-streaming calls are retried only where safe (see
/// `CallOptions.maxAttempts`).
public final class RPCClient: Sendable {
    /// Where and how a client connects.
    public struct Configuration: Sendable {
        /// The server's host name or IP address.
        public var host: String
        /// The server's TCP port.
        public var port: Int
        /// The client's TLS: CA bundle to trust, and for mTLS its certificate and key. The
        /// client sets ALPN to `crm/1` (required).
        public var tls: TLSConfiguration
        /// The name the server's certificate must carry (and SNI); default: `host`.
        public var serverName: String?
        /// The client's own protocol limits and timers.
        public var limits: ProtocolLimits
        /// How long to wait before reconnecting after a failed attempt.
        public var backoff: Backoff

        public init(
            host: String, port: Int = RPCProtocol.defaultPort, tls: TLSConfiguration, serverName: String? = nil,
            limits: ProtocolLimits = .default, backoff: Backoff = .grpc
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.serverName = serverName
            self.limits = limits
            self.backoff = backoff
        }
    }

    /// The configuration the client was made with.
    public let configuration: Configuration
    private let manager: ConnectionManager
    private let authority: String

    /// The executor of the event loop the client's connection lives on. A task that makes calls
    /// from it (`Task(executorPreference: client.executor)`) saves the thread hops between the
    /// caller and the connection (two per unary call); only for callers that never block.
    public let executor: EventLoopTaskExecutor

    /// A client of the server `configuration` names; nothing connects until the first call.
    ///
    /// - Throws: `TLSError` when the TLS configuration cannot be loaded.
    public init(
        configuration: Configuration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        var tls = configuration.tls
        tls.applicationProtocols = [RPCProtocol.alpn]
        tls.requiresApplicationProtocol = true
        if tls.serverName == nil { tls.serverName = configuration.serverName ?? configuration.host }
        let context = try TLSContext(configuration: tls)
        self.configuration = configuration
        authority = "\(configuration.host):\(configuration.port)"
        manager = ConnectionManager(
            host: configuration.host, port: configuration.port, serverName: configuration.serverName, tls: context,
            limits: configuration.limits, backoff: configuration.backoff, group: eventLoopGroup)
        executor = EventLoopTaskExecutor(eventLoop: manager.eventLoop)
    }

    /// Closes the connection after its calls finish (GOAWAY first); later calls fail with UNAVAILABLE.
    public func close() async {
        await manager.close()
    }

    // MARK: Unary

    /// Calls a unary method and returns its response.
    ///
    /// - Throws: `RPCStatus` when the call fails.
    public func unary<Request, Response>(
        _ method: WireMethod<Request, Response>, _ request: Request, options: CallOptions = .defaults
    ) async throws -> Response {
        try await unaryResponse(method, request, options: options).message
    }

    /// Calls a unary method and returns its response with the response and trailing metadata.
    public func unaryResponse<Request, Response>(
        _ method: WireMethod<Request, Response>, _ request: Request, options: CallOptions = .defaults
    ) async throws -> ClientResponse<Response> {
        let deadline = try prepare(method, options: options)
        return try await withRetries(options: options, deadline: deadline) {
            let call = try await makeCall(method, deadline: deadline)
            let outcome = await withTaskCancellationHandler {
                call.start(
                    headers: headers(method, options), deadline: deadline, firstMessage: request, endStream: true)
                return await call.outcome()
            } onCancel: {
                call.cancel()
            }
            guard outcome.status.isOK else { throw outcome }
            guard let response = call.takeSingleResponse() else {
                throw CallOutcome(status: RPCStatus(code: .internal, message: "no response message for a unary call"))
            }
            let metadata = call.headersIfReceived ?? Metadata()
            return ClientResponse(message: response, metadata: metadata, trailingMetadata: outcome.trailingMetadata)
        }
    }

    // MARK: Server streaming

    /// Calls a server-streaming method; returns once the server has started answering (its
    /// handler runs: the headers are sent then, not held back until the first response), with
    /// the responses to iterate.
    ///
    /// - Throws: `RPCStatus` when the call fails before its handler starts (an interceptor
    ///   refuses it, the method is unknown, the server cannot be reached); a failure of the
    ///   handler itself ends the iteration with its status.
    public func serverStreaming<Request, Response>(
        _ method: WireMethod<Request, Response>, _ request: Request, options: CallOptions = .defaults
    ) async throws -> ResponseStream<Response> {
        let deadline = try prepare(method, options: options)
        return try await withRetries(options: options, deadline: deadline) {
            let call = try await makeCall(method, deadline: deadline)
            let lifetime = CallLifetime(call)
            do {
                _ = try await withTaskCancellationHandler {
                    call.start(
                        headers: headers(method, options), deadline: deadline, firstMessage: request, endStream: true)
                    return try await call.headers()
                } onCancel: {
                    call.cancel()
                }
            } catch {
                throw await call.outcome()
            }
            return ResponseStream(lifetime: lifetime)
        }
    }

    // MARK: Client streaming

    /// Calls a client-streaming method: `requests` writes the requests (the call half-closes
    /// when it returns); returns the response.
    ///
    /// - Throws: `RPCStatus` when the call fails, or what `requests` throws (the call is then
    ///   cancelled). Client-streaming calls are never retried.
    public func clientStreaming<Request, Response>(
        _ method: WireMethod<Request, Response>, options: CallOptions = .defaults,
        requests: (RequestWriter<Request>) async throws -> Void
    ) async throws -> ClientResponse<Response> {
        let deadline = try prepare(method, options: options)
        let call: ClientCall<Request, Response>
        do {
            call = try await makeCall(method, deadline: deadline)
        } catch let outcome as CallOutcome {
            throw outcome.status
        }
        return try await withTaskCancellationHandler {
            call.start(headers: headers(method, options), deadline: deadline, firstMessage: nil, endStream: false)
            do {
                try await requests(writer(for: call))
            } catch {
                if call.isFinished { throw await call.outcome().status }
                call.cancel()
                throw error
            }
            call.finishRequests()
            let outcome = await call.outcome()
            guard outcome.status.isOK else { throw outcome.status }
            guard let response = call.takeSingleResponse() else {
                throw RPCStatus(code: .internal, message: "no response message for a client-streaming call")
            }
            let metadata = (try? await call.headers()) ?? Metadata()
            return ClientResponse(message: response, metadata: metadata, trailingMetadata: outcome.trailingMetadata)
        } onCancel: {
            call.cancel()
        }
    }

    // MARK: Bidirectional

    /// Starts a bidirectional call: write requests and read responses independently. Dropping
    /// the call's responses before the end cancels it.
    ///
    /// - Throws: `RPCStatus` UNAVAILABLE when no connection can be made. Never retried.
    public func bidirectional<Request, Response>(
        _ method: WireMethod<Request, Response>, options: CallOptions = .defaults
    ) async throws -> BidirectionalCall<Request, Response> {
        let deadline = try prepare(method, options: options)
        let call: ClientCall<Request, Response>
        do {
            call = try await makeCall(method, deadline: deadline)
        } catch let outcome as CallOutcome {
            throw outcome.status
        }
        let lifetime = CallLifetime(call)
        call.start(headers: headers(method, options), deadline: deadline, firstMessage: nil, endStream: false)
        return BidirectionalCall(requests: writer(for: call), responses: ResponseStream(lifetime: lifetime))
    }

    // MARK: Plumbing

    /// Checks the options and turns the deadline into the event loop's clock.
    private func prepare<Request, Response>(
        _ method: WireMethod<Request, Response>, options: CallOptions
    ) throws -> NIODeadline? {
        do throws(MetadataError) {
            try options.metadata.validate()
        } catch {
            throw RPCStatus(code: .invalidArgument, message: "request metadata of \(method.path): \(error)")
        }
        let now = ContinuousClock.now
        guard let deadline = options.effectiveDeadline(from: now) else { return nil }
        guard deadline > now else {
            throw RPCStatus(code: .deadlineExceeded, message: "the deadline passed before the call was sent")
        }
        return NIODeadline.now() + TimeAmount(now.duration(to: deadline))
    }

    private func headers<Request, Response>(_ method: WireMethod<Request, Response>, _ options: CallOptions) -> RequestHeaders {
        RequestHeaders(
            method: method.path, authority: authority, timeoutMs: 0, idempotent: options.isIdempotent,
            metadata: options.metadata.wireEntries)
    }

    private func makeCall<Request, Response>(
        _ method: WireMethod<Request, Response>, deadline: NIODeadline?
    ) async throws -> ClientCall<Request, Response> {
        let connection: ClientConnection
        do {
            connection = try await manager.connection(before: deadline)
        } catch let status as RPCStatus {
            throw CallOutcome(status: status, notProcessed: true)
        }
        return ClientCall(kind: method.kind, connection: connection.ref)
    }

    private func writer<Request, Response>(for call: ClientCall<Request, Response>) -> RequestWriter<Request> {
        RequestWriter(sendMessage: { try await call.send($0) }, halfClose: { call.finishRequests() })
    }

    /// Runs `attempt` until it succeeds, or fails in a way that is not safe to retry, or the
    /// attempts or the deadline run out.
    private func withRetries<Result>(
        options: CallOptions, deadline: NIODeadline?, _ attempt: () async throws -> Result
    ) async throws -> Result {
        var attempts = 1
        while true {
            do {
                return try await attempt()
            } catch let outcome as CallOutcome {
                let retryable =
                    outcome.status.code == .unavailable && (outcome.notProcessed || options.isIdempotent)
                    && attempts < options.maxAttempts && !Task.isCancelled
                    && (deadline.map { $0 > .now() } ?? true)
                guard retryable else { throw outcome.status }
                attempts += 1
            }
        }
    }
}

extension CallOutcome: Error {}

import CRMMessages
public import CRMRPC
import CRMTLS
import CRMWire

/// The Swift client of the CRM: one TLS connection to `crmd`, shared by a typed client per service.
///
/// Every call carries the configuration's token as `authorization: Bearer <token>` and, for unary
/// calls, its default timeout. Calls fail by throwing `RPCStatus`; its `code` says what went
/// wrong (`.notFound`, `.permissionDenied`, `.invalidArgument` with the field named in the
/// message, …). Reads (`Get…`, `List…`, `Search…`, `Watch…`, `Quote…`) are retried after
/// UNAVAILABLE; writes carry an idempotency key, so sending one again after an error is safe.
///
/// ```swift
/// import CRMClient
/// import CRMMessages
///
/// let crm = try CRMClient(configuration: ClientConfiguration(
///     host: "crm.example.id", port: 7443, caFile: "ca.pem", token: ProcessInfo.processInfo.environment["CRM_TOKEN"]))
/// defer { Task { await crm.close() } }
///
/// var request = GetProfileRequest()
/// request.customer = CustomerSelector(target: .handle(Handle(kind: .phone, value: "0812-3456-789")))
/// let profile = try await crm.profiles.getProfile(request).profile
/// print(profile?.displayName ?? "unknown")
/// ```
///
/// ## A channel adapter
///
/// An adapter pushes what it receives in bulk, one client stream per batch. Each interaction's
/// idempotency key is the adapter's id and the message's id in the channel, so a batch sent again
/// after a failure stores nothing twice (those items come back `DUPLICATE`):
///
/// ```swift
/// struct ChannelMessage { var id: String; var from: String; var text: String; var sentMs: Int64 }
///
/// func push(_ batch: [ChannelMessage], through crm: CRMClient) async throws {
///     let response = try await crm.interactions.pushInteractions { requests in
///         for message in batch {
///             var interaction = Interaction()
///             interaction.key = IdempotencyKey(adapterID: "whatsapp-gw-1", externalID: message.id)
///             interaction.channel = .whatsapp
///             interaction.direction = .inbound
///             interaction.handle = Handle(kind: .whatsapp, value: message.from)
///             interaction.occurredMs = message.sentMs
///             interaction.body = message.text
///             try await requests.write(PushInteractionsRequest(interaction: interaction))
///         }
///     }
///     for result in response.results where result.outcome == .rejected {
///         let reasons = result.violations.map { "\($0.field): \($0.reason)" }
///         print("message \(batch[Int(result.index)].id) rejected: \(reasons.joined(separator: "; "))")
///     }
/// }
/// ```
///
/// The facade is `Sendable`: share one per process; ``close()`` it when done.
public final class CRMClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: ClientConfiguration
    /// The connection every service client calls through.
    public let rpc: RPCClient
    /// Interactions: push one or many, watch a queue, timelines, agent conversations.
    public let interactions: InteractionServiceClient
    /// Profiles: lookups, caller snapshots, search, identity links and field observations.
    public let profiles: ProfileServiceClient
    /// Orders: upserts, CSV-style imports, lookups and tracking events.
    public let orders: OrderServiceClient
    /// Complaints: open, follow, decide, compensate, return quality checks, watch.
    public let complaints: ComplaintServiceClient
    /// Loyalty tiers and order benefits.
    public let loyalty: LoyaltyServiceClient
    /// Ratings.
    public let feedback: FeedbackServiceClient
    /// Analytical reports.
    public let reports: ReportServiceClient
    /// Whether the server and its services are serving (needs no token).
    public let health: HealthClient
    /// The methods the server serves (needs no token).
    public let reflection: ReflectionClient

    /// A client of the server `configuration` names; nothing connects until the first call.
    ///
    /// - Throws: ``ClientConfigurationError`` when a certificate is given without its key (or the
    ///   reverse), or `TLSError` when the CA, certificate or key file cannot be loaded.
    public convenience init(configuration: ClientConfiguration) throws {
        try self.init(configuration: configuration, rpc: RPCClient(configuration: Self.rpcConfiguration(configuration)))
    }

    /// A client that calls through an existing `rpc` connection with `configuration`'s token and
    /// timeout (for tests and for sharing one connection with other clients).
    public init(configuration: ClientConfiguration, rpc: RPCClient) {
        self.configuration = configuration
        self.rpc = rpc
        let options = configuration.defaultCallOptions
        interactions = InteractionServiceClient(rpc: rpc, defaultOptions: options)
        profiles = ProfileServiceClient(rpc: rpc, defaultOptions: options)
        orders = OrderServiceClient(rpc: rpc, defaultOptions: options)
        complaints = ComplaintServiceClient(rpc: rpc, defaultOptions: options)
        loyalty = LoyaltyServiceClient(rpc: rpc, defaultOptions: options)
        feedback = FeedbackServiceClient(rpc: rpc, defaultOptions: options)
        reports = ReportServiceClient(rpc: rpc, defaultOptions: options)
        health = HealthClient(rpc: rpc, defaultOptions: options)
        reflection = ReflectionClient(rpc: rpc, defaultOptions: options)
    }

    /// The RPC configuration `configuration` means: TLS trusting its CA, with its client
    /// certificate for mTLS.
    ///
    /// - Throws: ``ClientConfigurationError`` when only one of certificate and key is given.
    public static func rpcConfiguration(_ configuration: ClientConfiguration) throws -> RPCClient.Configuration {
        switch (configuration.clientCertificateFile, configuration.clientKeyFile) {
        case (.some, nil):
            throw ClientConfigurationError("a client certificate needs its private key: set clientKeyFile (crm: --key or CRM_KEY)")
        case (nil, .some):
            throw ClientConfigurationError("a client key needs its certificate: set clientCertificateFile (crm: --cert or CRM_CERT)")
        default: break
        }
        let tls = TLSConfiguration.client(
            serverName: configuration.serverName ?? configuration.host, trustRootsFile: configuration.caFile,
            certificateChainFile: configuration.clientCertificateFile, privateKeyFile: configuration.clientKeyFile)
        return RPCClient.Configuration(
            host: configuration.host, port: configuration.port, tls: tls, serverName: configuration.serverName)
    }

    /// Closes the connection after its calls finish; later calls fail with UNAVAILABLE.
    public func close() async {
        await rpc.close()
    }
}

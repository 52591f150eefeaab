/// The outcome of a call: one of gRPC's 17 status codes and a human-readable message.
///
/// Servers send it in TRAILERS (normal end) or RST_STREAM (abort); clients fail calls with
/// it. As an `Error` it is what a failed call throws.
public struct RPCStatus: Error, Sendable, Hashable, CustomStringConvertible {
    /// The status codes, numbered and named exactly like gRPC's.
    public enum Code: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// The call succeeded.
        case ok = 0
        /// The call was cancelled, usually by the caller.
        case cancelled = 1
        /// An error with no better code.
        case unknown = 2
        /// The request is invalid whatever the system state.
        case invalidArgument = 3
        /// The deadline passed before the call completed.
        case deadlineExceeded = 4
        /// A requested entity was not found.
        case notFound = 5
        /// The entity a call tried to create already exists.
        case alreadyExists = 6
        /// The caller is known but may not do this.
        case permissionDenied = 7
        /// A limit was hit: streams, message size, quota, memory.
        case resourceExhausted = 8
        /// The system is not in the state the call needs.
        case failedPrecondition = 9
        /// The call was aborted by a concurrency conflict.
        case aborted = 10
        /// A value was past the valid range.
        case outOfRange = 11
        /// The method is not implemented or not known by the server.
        case unimplemented = 12
        /// An invariant broke, or the peer broke the protocol.
        case `internal` = 13
        /// The service is unavailable right now; safe to retry.
        case unavailable = 14
        /// Unrecoverable data loss or corruption.
        case dataLoss = 15
        /// The call carried no valid credentials.
        case unauthenticated = 16

        /// The code a status code on the wire means. A number this build does not know
        /// (from a newer peer) means `unknown`, as in gRPC.
        public init(_ wire: StatusCode) {
            self = Code(rawValue: wire.rawValue) ?? .unknown
        }

        /// The code as the protocol's control messages carry it.
        public var wireValue: StatusCode { StatusCode(rawValue: rawValue) }

        /// gRPC's name of the code, such as `DEADLINE_EXCEEDED`.
        public var name: String {
            switch self {
            case .ok: "OK"
            case .cancelled: "CANCELLED"
            case .unknown: "UNKNOWN"
            case .invalidArgument: "INVALID_ARGUMENT"
            case .deadlineExceeded: "DEADLINE_EXCEEDED"
            case .notFound: "NOT_FOUND"
            case .alreadyExists: "ALREADY_EXISTS"
            case .permissionDenied: "PERMISSION_DENIED"
            case .resourceExhausted: "RESOURCE_EXHAUSTED"
            case .failedPrecondition: "FAILED_PRECONDITION"
            case .aborted: "ABORTED"
            case .outOfRange: "OUT_OF_RANGE"
            case .unimplemented: "UNIMPLEMENTED"
            case .internal: "INTERNAL"
            case .unavailable: "UNAVAILABLE"
            case .dataLoss: "DATA_LOSS"
            case .unauthenticated: "UNAUTHENTICATED"
            }
        }

        /// The code with gRPC's name of the code, such as `DEADLINE_EXCEEDED`.
        public init?(name: String) {
            guard let code = Code.allCases.first(where: { $0.name == name }) else { return nil }
            self = code
        }

        public var description: String { name }
    }

    /// What happened.
    public var code: Code
    /// Why, for a person; empty on success.
    public var message: String

    /// A status with `code` and `message`.
    public init(code: Code, message: String = "") {
        self.code = code
        self.message = message
    }

    /// Success.
    public static let ok = RPCStatus(code: .ok)

    /// Whether the call succeeded.
    public var isOK: Bool { code == .ok }

    /// The status TRAILERS carry (their metadata aside). A code this build does not know
    /// becomes `unknown`, its number kept in the message.
    public init(_ trailers: Trailers) {
        self.init(wireCode: trailers.statusCode, message: trailers.message)
    }

    /// The status a RST_STREAM carries.
    public init(_ reset: StreamReset) {
        self.init(wireCode: reset.statusCode, message: reset.message)
    }

    /// The status a GOAWAY carries: `ok` for a graceful shutdown.
    public init(_ goAway: GoAway) {
        self.init(wireCode: goAway.statusCode, message: goAway.message)
    }

    private init(wireCode: StatusCode, message: String) {
        let code = Code(wireCode)
        if code == .unknown, wireCode != .unknown {
            let prefix = "unknown status code \(wireCode.rawValue)"
            self.init(code: code, message: message.isEmpty ? prefix : "\(prefix): \(message)")
        } else {
            self.init(code: code, message: message)
        }
    }

    /// TRAILERS that end a call with this status and `metadata`.
    public func trailers(metadata: [MetadataEntry] = []) -> Trailers {
        Trailers(statusCode: code.wireValue, message: message, metadata: metadata)
    }

    /// A RST_STREAM payload that aborts a stream with this status.
    public var streamReset: StreamReset {
        StreamReset(statusCode: code.wireValue, message: message)
    }

    /// A GOAWAY payload with this status, naming the highest stream the sender accepted.
    public func goAway(lastStreamID: StreamID) -> GoAway {
        GoAway(lastStreamID: lastStreamID.rawValue, statusCode: code.wireValue, message: message)
    }

    /// `NAME: message`, or the name alone when there is no message.
    public var description: String {
        message.isEmpty ? code.name : "\(code.name): \(message)"
    }
}

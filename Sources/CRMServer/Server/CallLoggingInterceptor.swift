public import CRMRPC
import CRMWire
public import Logging

/// Logs every call's end with swift-log: method, status, duration, client address. Successful
/// calls and calls the client cancelled (a watch it closed, a caller that gave up) at `debug`, refused ones
/// (client errors) at `info`, server faults at `error`.
public struct CallLoggingInterceptor: RPCInterceptor {
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func intercept(context: RPCContext, next: () async throws -> Void) async throws {
        let start = ContinuousClock.now
        var metadata: Logger.Metadata = ["method": "\(context.method.path)"]
        if let address = context.remoteAddress { metadata["peer"] = "\(address)" }
        do {
            try await next()
            metadata["status"] = "OK"
            metadata["duration_ms"] = "\(Self.milliseconds(since: start))"
            logger.debug("call", metadata: metadata)
        } catch {
            let code = CallStatus.code(of: error)
            metadata["status"] = "\(code.name)"
            metadata["duration_ms"] = "\(Self.milliseconds(since: start))"
            metadata["message"] = "\((error as? RPCStatus)?.message ?? "\(error)")"
            switch code {
            case .internal, .unknown, .dataLoss:
                logger.error("call failed", metadata: metadata)
            case .cancelled:
                logger.debug("call cancelled", metadata: metadata)
            default:
                logger.info("call refused", metadata: metadata)
            }
            throw error
        }
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        return ((Double(seconds) * 1000 + Double(attoseconds) / 1e15) * 1000).rounded() / 1000
    }
}

import ArgumentParser
import CRMClient
import CRMWire

/// The exit status of `crm`, following the RPC status of the call that failed, so that scripts
/// can tell "not found" from "not allowed" from "try again".
///
/// | status | meaning | RPC status codes |
/// |---|---|---|
/// | 0 | success | OK |
/// | 1 | any other error | UNKNOWN, INTERNAL, UNIMPLEMENTED, DATA_LOSS, RESOURCE_EXHAUSTED, CANCELLED, local errors |
/// | 2 | usage: bad arguments, options or configuration | (before any call) |
/// | 3 | not found | NOT_FOUND |
/// | 4 | not signed in or not allowed | UNAUTHENTICATED, PERMISSION_DENIED |
/// | 5 | invalid input (a field named in the message; rejected CSV rows) | INVALID_ARGUMENT, OUT_OF_RANGE |
/// | 6 | wrong state for this (e.g. an illegal complaint move) | FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED |
/// | 7 | server unreachable or too slow; safe to try again | UNAVAILABLE, DEADLINE_EXCEEDED |
enum ExitStatus: Int32, CaseIterable, Sendable {
    case success = 0
    case failure = 1
    case usage = 2
    case notFound = 3
    case denied = 4
    case invalid = 5
    case precondition = 6
    case unavailable = 7

    /// The exit status for a call that ended with `code`.
    init(_ code: RPCStatus.Code) {
        switch code {
        case .ok: self = .success
        case .notFound: self = .notFound
        case .unauthenticated, .permissionDenied: self = .denied
        case .invalidArgument, .outOfRange: self = .invalid
        case .failedPrecondition, .alreadyExists, .aborted: self = .precondition
        case .unavailable, .deadlineExceeded: self = .unavailable
        case .cancelled, .unknown, .resourceExhausted, .unimplemented, .internal, .dataLoss: self = .failure
        }
    }

    /// The table printed by `crm --help` and written in the README.
    static let helpText = """
        EXIT STATUS (from the RPC status of the call)
          0  success
          1  other errors: INTERNAL, UNKNOWN, UNIMPLEMENTED, DATA_LOSS, ...
          2  usage: bad arguments, options or settings; nothing was sent
          3  not found: NOT_FOUND
          4  not signed in or not allowed: UNAUTHENTICATED, PERMISSION_DENIED
          5  invalid input: INVALID_ARGUMENT, OUT_OF_RANGE, rejected CSV rows
          6  wrong state: FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED
          7  unreachable or too slow, try again: UNAVAILABLE, DEADLINE_EXCEEDED
        """
}

/// An error `crm` reports itself, with the exit status it means.
struct CLIFailure: Error, CustomStringConvertible {
    var status: ExitStatus
    var message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    var description: String { message }
}

/// What `crm` prints and exits with for `error`.
func failureReport(for error: any Error, server: String? = nil) -> (status: ExitStatus, message: String) {
    switch error {
    case let failure as CLIFailure:
        return (failure.status, failure.message)
    case let status as RPCStatus:
        var message = "\(status.code.name): \(status.message.isEmpty ? "(no message)" : status.message)"
        switch status.code {
        case .unauthenticated:
            message += "\nhint: sign in with `crm login --token TOKEN`, or pass --token or CRM_TOKEN"
        case .permissionDenied:
            message += "\nhint: your token's role may not do this; ask a supervisor for one that may"
        case .unavailable where status.message.contains("certificate"):
            message += "\nhint: check that --ca (or CRM_CA) names the CA that signed \(server ?? "the server")'s certificate, and --server its name"
        case .unavailable, .deadlineExceeded:
            message += "\nhint: is crmd running at \(server ?? "the server")? Check --server, CRM_SERVER or `crm config show`"
        default: break
        }
        return (ExitStatus(status.code), message)
    case let configuration as ClientConfigurationError:
        return (.usage, configuration.message)
    case let validation as ValidationError:
        return (.usage, validation.message)
    default:
        return (.failure, "\(error)")
    }
}

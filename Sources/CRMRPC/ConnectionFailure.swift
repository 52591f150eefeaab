import CRMWire

/// A connection error found by the connection (the frame layer's are `FrameError`s): the
/// status of the GOAWAY sent before closing, whose message begins with the kind's token.
struct ConnectionFailure: Error {
    let status: RPCStatus

    init(_ kind: ConnectionErrorKind, _ detail: String) {
        status = kind.status(detail)
    }

    init(_ error: FrameError) {
        status = error.status
    }
}

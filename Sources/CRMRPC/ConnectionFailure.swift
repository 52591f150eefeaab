import CRMTLS
import CRMWire
import NIOCore

/// A connection error found by the connection (the frame layer's are `FrameError`s): the
/// status of the GOAWAY sent before closing, whose message begins with the kind's token.
struct ConnectionFailure: Error, Equatable {
    let status: RPCStatus

    init(_ kind: ConnectionErrorKind, _ detail: String) {
        status = kind.status(detail)
    }

    init(_ error: FrameError) {
        status = error.status
    }
}

extension ChannelHandlerContext {
    /// Closes the connection after a connection error (docs/PROTOCOL.md, section 14.3): what is flushed goes out,
    /// then TLS `close_notify`, and the socket closes without waiting for the peer's answer, so that a peer that
    /// does not answer cannot hold the socket open. Without a TLS handler in the pipeline, simply closes.
    func closeAfterConnectionError() {
        let promise = eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenFailure { [channel] _ in channel.close(promise: nil) }
        triggerUserOutboundEvent(TLSCloseWithoutWaiting(), promise: promise)
    }
}

import CRMTLS
import Foundation
import NIOCore

/// A value behind a lock, shared between event loops and the test.
///
/// `@unchecked Sendable`: `value` is only touched with `lock` held. An `NSLock` rather than
/// `Synchronization.Mutex`, because the thread sanitizer understands pthread mutexes but not the futex
/// under `Mutex` on Linux, and would report every use as a race.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// What one end of a connection saw.
struct Observation: Sendable {
    var handshake: TLSHandshakeCompleted?
    var tlsErrors: [TLSError] = []
    var otherErrors: [String] = []
    var received = ByteBuffer()
    var shutdownCompleted = false
    var inactive = false

    var tlsErrorKinds: [TLSError.Kind] { tlsErrors.map(\.kind) }

    var summary: String {
        "handshake: \(handshake.map { "\($0.protocolVersion) alpn \($0.alpn ?? "none")" } ?? "none"), "
            + "TLS errors: \(tlsErrors), other errors: \(otherErrors), received \(received.readableBytes) bytes, "
            + "shutdown completed: \(shutdownCompleted), closed: \(inactive)"
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// A test precondition that did not hold.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
}

/// Collects what a ``RecordingHandler`` sees, and lets a test wait for a condition on it.
final class Recorder: Sendable {
    private let box = LockedBox(Observation())

    var snapshot: Observation { box.withLock { $0 } }

    func update(_ body: (inout Observation) -> Void) { box.withLock(body) }

    /// Waits until `condition` holds, polling; `limit` is only an upper bound against hangs.
    @discardableResult
    func wait(
        for what: String,
        limit: Duration = .seconds(20),
        until condition: (borrowing Observation) -> Bool
    ) async throws -> Observation {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while true {
            // Checked under the lock, without taking a copy: a copy held while the handler appends to
            // `received` would make every append copy the whole buffer.
            if box.withLock({ condition($0) }) { return snapshot }
            guard clock.now < deadline else { throw TimedOut(what: "\(what); saw \(snapshot.summary)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until the channel has closed.
    @discardableResult
    func waitUntilClosed(limit: Duration = .seconds(20)) async throws -> Observation {
        try await wait(for: "the connection to close", limit: limit) { $0.inactive }
    }
}

/// The application end of a test pipeline: records events, errors and data; optionally echoes what it
/// receives, greets when the handshake completes, or closes right after it.
final class RecordingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Behaviour: Sendable {
        var echo = false
        var greeting: String? = nil
        var closeAfterHandshake = false
    }

    private let recorder: Recorder
    private let behaviour: Behaviour

    init(recorder: Recorder, behaviour: Behaviour = Behaviour()) {
        self.recorder = recorder
        self.behaviour = behaviour
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        recorder.update { observation in
            var copy = buffer
            observation.received.writeBuffer(&copy)
        }
        if behaviour.echo {
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if behaviour.echo { context.flush() }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let handshake as TLSHandshakeCompleted:
            recorder.update { $0.handshake = handshake }
            if let greeting = behaviour.greeting {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: greeting)), promise: nil)
            }
            if behaviour.closeAfterHandshake {
                context.close(promise: nil)
            }
        case is TLSShutdownCompleted:
            recorder.update { $0.shutdownCompleted = true }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if ProcessInfo.processInfo.environment["CRMTLS_TEST_VERBOSE"] != nil {
            print("errorCaught on \(context.channel.localAddress?.description ?? "?"): \(error)")
        }
        recorder.update { observation in
            if let error = error as? TLSError {
                observation.tlsErrors.append(error)
            } else {
                observation.otherErrors.append(String(describing: error))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        recorder.update { $0.inactive = true }
        context.fireChannelInactive()
    }
}

/// Sits between the socket and the TLS handler so that a test can act below TLS: close the socket
/// without close_notify, or send raw bytes into an established session.
final class BelowTLSHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Closes the socket under TLS: no close_notify.
    func abort() { context?.close(promise: nil) }

    /// Writes bytes under TLS, as if they were a record.
    func injectRaw(_ bytes: ByteBuffer) { context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil) }
}

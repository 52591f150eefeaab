@testable import CRMRPC
import CRMTLS
import CRMWire
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// A client that sends calls and never reads the answers must not make the server hold more and more of them
/// (docs/PROTOCOL.md, section 12): once the server's output is backed up it stops reading that connection, and goes on
/// when the client reads again.
@Suite("Backpressure")
struct BackpressureTests {
    @Test("a client that pipelines calls without reading makes the server hold a bounded output; reading again answers every call")
    func unreadAnswersStopTheServerReading() async throws {
        // 400,000 frames keep event loops busy for seconds: on loops of their own, the other tests running at the
        // same time (on the shared loops) do not wait behind them.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        do {
            try await pipelineWithoutReading(on: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    private func pipelineWithoutReading(on group: MultiThreadedEventLoopGroup) async throws {
        try await withHarness(eventLoopGroup: group) { harness in
            let raw = try await RawConnection.connect(
                port: harness.port, context: try harness.rawClientContext(), receiveBufferSize: 4096, group: group)
            try await raw.setReading(false)
            // Every call is answered (trailers) or refused (RST_STREAM REFUSED_STREAM beyond the 100 concurrent
            // streams). Neither is flow-controlled: without backpressure the server would read all 12 MB of calls
            // and queue some 14 MB of answers, far more than the kernel's socket buffers take.
            let calls = 200_000
            let request = try HealthCheckRequest(service: "sleep:0").wireBytes()
            let counter = RawConnection.WriteCounter()
            var frames: [Frame] = []
            for n in 0..<calls {
                let stream = StreamID(rawValue: UInt32(2 * n + 1))!
                frames.append(try RawConnection.headers(stream: stream, method: Echo.block.path))
                frames.append(RawConnection.message(stream: stream, bytes: request))
                if frames.count == 10_000 {
                    raw.sendWithoutWaiting(frames, counter: counter)
                    frames.removeAll()
                }
            }
            raw.sendWithoutWaiting(frames, counter: counter)

            // What the server holds for the connection (frames waiting to be sent) stays small while the client goes
            // on sending; the client's writes settle once the kernel's buffers are full.
            let connection = try #require(harness.server.connectionChannels.first)
            var largest = 0
            var settled = counter.written
            var unchanged = 0
            _ = try await poll(limit: .seconds(300)) {
                let held = try await connection.getOption(.bufferedWritableBytes).get()
                largest = max(largest, held)
                let now = counter.written
                if now == settled { unchanged += 1 } else { (settled, unchanged) = (now, 0) }
                return unchanged >= 400 ? now : nil  // two seconds without a frame written
            } failure: { "the client's writes to settle; \(counter.written) frames written" }
            #expect(settled < 2 * calls, "the server read every frame while its answers went unread")
            #expect(largest < 1 << 20, "the server held \(largest) bytes of output for a client that does not read")

            // Reading again, the client gets an answer to every call: each stream is answered or refused, once.
            try await raw.setReading(true)
            try await raw.waitFor("an answer to every call", limit: .seconds(300)) { observation in
                observation.frames.count { $0.type == .trailers || $0.type == .rstStream } >= calls
            }
            let seen = raw.snapshot
            var answered = Set<UInt32>()
            for frame in seen.frames where frame.type == .trailers || frame.type == .rstStream {
                #expect(answered.insert(frame.streamID.rawValue).inserted, "stream \(frame.streamID) answered twice")
                if frame.type == .rstStream {
                    let reset = try frame.decodeControlPayload(as: StreamReset.self, using: WireDecoder())
                    #expect(reset.message.hasPrefix("REFUSED_STREAM"), "stream \(frame.streamID) reset: \(reset)")
                }
            }
            #expect(answered.count == calls)
            #expect(seen.goAway == nil)
            #expect(harness.probe.snapshot.started > 0)
            try await harness.expectServed()
            await raw.close()
        }
    }
}

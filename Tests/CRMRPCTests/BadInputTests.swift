import CRMRPC
import CRMTLS
import CRMWire
import NIOCore
import NIOPosix
import Testing

/// Each bad input of issue 3 that concerns the RPC layer: it is sent, its exact outcome checked,
/// and another client is still served.
@Suite("Bad input")
struct BadInputTests {
    @Test("after a connection error the server closes the socket at once, without waiting for the client's close_notify")
    func connectionErrorClosesWithoutWaiting() async throws {
        // A close_notify timeout twice the wait below: a server that waited for the client's answer would fail the
        // test by keeping the connection open (and its shutdown would then end at the timeout, not hang).
        try await withHarness(closeNotifyTimeout: .seconds(120)) { harness in
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            #expect(harness.server.connectionCount == 1)
            // A client that reads nothing more never sees, and so never answers, the server's close_notify.
            try await raw.setReading(false)
            try await raw.send(.windowUpdate, stream: .connection, WindowUpdate(incrementBytes: 0))
            _ = try await poll(limit: .seconds(60)) {
                harness.server.connectionCount == 0 ? true : nil
            } failure: { "the server to close the connection after the PROTOCOL_ERROR" }
            // The client's side is closed too (it may have gone before the client read the GOAWAY: a socket closed
            // with unread input is reset).
            if raw.channel.isActive { try? await raw.setReading(true) }
            try await raw.waitFor("the connection to close") { $0.closed }
            if let goAway = raw.snapshot.goAway { #expect(goAway.message.hasPrefix("PROTOCOL_ERROR"), "\(goAway)") }
            try await harness.expectServed()
        }
    }

    @Test("an unknown method is UNIMPLEMENTED")
    func unknownMethod() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            try await expectStatus(.unimplemented, "unknown method /test.Nowhere/Nothing") {
                _ = try await client.unary(Echo.missing, HealthCheckRequest())
            }
            try await harness.expectServed()
            await client.close()
        }
    }

    @Test("a request that is not protobuf is INVALID_ARGUMENT with the decoder's message")
    func undecodableRequest() async throws {
        try await withHarness { harness in
            let bytes: [UInt8] = [0x0A, 0x05, 0x61]  // field 1, 5 bytes announced, 1 there
            let expected = decodingError(bytes)
            #expect(
                expected
                    == "cannot decode crm.v1.HealthCheckRequest, field service: the bytes end inside a field; send the whole message")
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            try await raw.sendHeaders(stream: 1, method: Echo.unary.path)
            try await raw.sendMessage(stream: 1, bytes: bytes)
            #expect(try await raw.trailers(on: 1) == RPCStatus(code: .invalidArgument, message: expected))
            // The connection goes on.
            try await raw.sendHeaders(stream: 3, method: Echo.unary.path)
            try await raw.sendMessage(stream: 3, bytes: try HealthCheckRequest(service: "ok").wireBytes())
            #expect(try await raw.trailers(on: 3) == .ok)
            try await harness.expectServed()
            await raw.close()
        }
    }

    @Test("a string that is not UTF-8 is INVALID_ARGUMENT with the decoder's message")
    func invalidUTF8() async throws {
        try await withHarness { harness in
            let bytes: [UInt8] = [0x0A, 0x02, 0xC3, 0x28]
            let expected = decodingError(bytes)
            #expect(
                expected
                    == "cannot decode crm.v1.HealthCheckRequest, field service: the string is not valid UTF-8; send UTF-8 text")
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            try await raw.sendHeaders(stream: 1, method: Echo.unary.path)
            try await raw.sendMessage(stream: 1, bytes: bytes)
            #expect(try await raw.trailers(on: 1) == RPCStatus(code: .invalidArgument, message: expected))
            try await harness.expectServed()
            await raw.close()
        }
    }

    @Test("a second request on a unary call is INTERNAL")
    func twoRequests() async throws {
        try await withHarness { harness in
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            try await raw.sendHeaders(stream: 1, method: Echo.block.path)
            try await raw.sendMessage(stream: 1, bytes: try HealthCheckRequest(service: "a").wireBytes(), endStream: false)
            try await raw.sendMessage(stream: 1, bytes: try HealthCheckRequest(service: "b").wireBytes())
            #expect(
                try await raw.trailers(on: 1)
                    == RPCStatus(code: .internal, message: "expected exactly one request message for a unary call, got more"))
            try await harness.expectServed()
            await raw.close()
        }
    }

    @Test("bad request metadata is INVALID_ARGUMENT naming the key")
    func badMetadata() async throws {
        try await withHarness { harness in
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            try await raw.send(
                .headers, stream: 1,
                RequestHeaders(method: Echo.unary.path, metadata: [MetadataEntry(key: "Trace-ID", value: .text("x"))]))
            #expect(
                try await raw.trailers(on: 1)
                    == RPCStatus(
                        code: .invalidArgument,
                        message: "metadata key \"Trace-ID\" is not valid; keys are lower-case ASCII letters, digits, '-', '_' and '.'"))
            await raw.close()
        }
    }

    @Test("a reused stream id is a connection error PROTOCOL_ERROR")
    func reusedStreamID() async throws {
        try await withHarness { harness in
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            try await raw.sendHeaders(stream: 1, method: Echo.unary.path)
            try await raw.sendMessage(stream: 1, bytes: try HealthCheckRequest(service: "a").wireBytes())
            _ = try await raw.trailers(on: 1)
            try await raw.sendHeaders(stream: 1, method: Echo.unary.path)
            let status = try await raw.closedWithGoAway()
            #expect(
                status
                    == RPCStatus(
                        code: .internal,
                        message: "PROTOCOL_ERROR: HEADERS on stream 1, which is not above 1, the highest stream opened so far; "
                            + "open each call on a new, higher odd stream id"))
            #expect(raw.snapshot.goAway?.lastStreamID == 1)
            try await harness.expectServed()
        }
    }

    @Test("stream id 0 on HEADERS is a connection error PROTOCOL_ERROR")
    func zeroStreamID() async throws {
        try await withHarness { harness in
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            var bytes = ByteBuffer()
            FrameHeader(length: 0, type: .headers, streamID: .connection).write(to: &bytes)
            try await raw.sendRaw(bytes)
            let status = try await raw.closedWithGoAway()
            #expect(status == FrameError.streamIDRequired(type: .headers).status)
            #expect(status?.message.hasPrefix("PROTOCOL_ERROR: a HEADERS frame arrived on stream 0") == true)
            try await harness.expectServed()
        }
    }

    @Test("an unknown frame type is a connection error PROTOCOL_ERROR")
    func unknownFrameType() async throws {
        try await withHarness { harness in
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            try await raw.sendRaw(ByteBuffer(bytes: [0, 0, 0, 0, 9, 0, 0, 0, 0, 1]))
            let status = try await raw.closedWithGoAway()
            #expect(
                status
                    == RPCStatus(
                        code: .internal,
                        message: "PROTOCOL_ERROR: frame type 9 (stream 1) is not a crm/1 frame type (1 to 8); "
                            + "the peer speaks another protocol version"))
            try await harness.expectServed()
        }
    }

    @Test("a frame over the size limit closes the connection with GOAWAY before its body is read")
    func oversizedFrame() async throws {
        try await withHarness { harness in
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            try await raw.sendHeaders(stream: 1, method: Echo.unary.path)
            // Only the header of a 5,000,000-byte MESSAGE: the server must not wait for the body.
            var bytes = ByteBuffer()
            FrameHeader(length: 5_000_000, type: .message, streamID: 1).write(to: &bytes)
            try await raw.sendRaw(bytes)
            let status = try await raw.closedWithGoAway()
            #expect(
                status
                    == RPCStatus(
                        code: .resourceExhausted,
                        message: "FRAME_SIZE_ERROR: a MESSAGE frame of 5000000 bytes is over the limit of 4194304 bytes "
                            + "for its type; the sender must respect the MAX_MESSAGE_SIZE and MAX_FRAME_SIZE the receiver announced"))
            try await harness.expectServed()
        }
    }

    @Test("a truncated frame then EOF closes the connection and nothing else")
    func truncatedFrame() async throws {
        try await withHarness { harness in
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            try await raw.sendHeaders(stream: 1, method: Echo.unary.path)
            var bytes = ByteBuffer()
            FrameHeader(length: 100, type: .message, streamID: 1).write(to: &bytes)
            bytes.writeBytes([UInt8](repeating: 0x0A, count: 10))
            try await raw.sendRaw(bytes)
            await raw.close()
            try await harness.probe.wait(for: "the server to drop the connection") { _ in
                harness.server.connectionCount == 0
            }
            #expect(harness.probe.snapshot.started == 0)
            try await harness.expectServed()
        }
    }

    @Test("more concurrent streams than allowed are refused with RESOURCE_EXHAUSTED REFUSED_STREAM")
    func tooManyStreams() async throws {
        try await withHarness(limits: ProtocolLimits(maxConcurrentStreams: 2)) { harness in
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            for stream: StreamID in [1, 3, 5] {
                try await raw.sendHeaders(stream: stream, method: Echo.block.path)
                try await raw.sendMessage(stream: stream, bytes: try HealthCheckRequest(service: "wait").wireBytes())
            }
            let seen = try await raw.waitFor("RST_STREAM on stream 5") { $0.frames(on: 5).contains { $0.type == .rstStream } }
            let reset = try #require(seen.frames(on: 5).first { $0.type == .rstStream })
            #expect(
                RPCStatus(try reset.decodeControlPayload(as: StreamReset.self, using: WireDecoder()))
                    == RPCStatus(code: .resourceExhausted, message: "REFUSED_STREAM: more than 2 concurrent streams"))
            try await harness.probe.wait(for: "two handlers") { $0.started == 2 }
            await raw.close()
            try await harness.expectServed()
        }
    }

    @Test("a client queues calls beyond the server's stream limit instead of being refused")
    func clientQueuesBeyondTheLimit() async throws {
        try await withHarness(limits: ProtocolLimits(maxConcurrentStreams: 2)) { harness in
            let client = try harness.client()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let answer = try await client.unary(Echo.block, HealthCheckRequest(service: "sleep:50"))
                        #expect(answer.service == "sleep:50")
                    }
                }
                try await group.waitForAll()
            }
            #expect(harness.probe.snapshot.finished == 6)
            await client.close()
        }
    }

    @Test("a client that never reads a server stream holds the handler in its writes (memory bounded)")
    func slowReader() async throws {
        // The client accepts messages of up to 64 KiB with a 256 KiB window per stream: the server
        // can have at most 256 KiB of 16 KiB messages (16) in flight before its writes suspend.
        let clientLimits = ProtocolLimits(
            initialStreamWindowSize: 256 << 10, connectionWindowSize: 1 << 20, maxMessageSize: 64 << 10)
        try await withHarness { harness in
            let client = try harness.client(limits: clientLimits)
            let stream = try await client.serverStreaming(Echo.expand, HealthCheckRequest(service: "forever:16000"))
            // The handler is stuck in a write that cannot complete: the window is full. That the server sends no
            // more than the window holds at every moment, not only now: the client refuses a MESSAGE beyond its
            // window with a connection error (FLOW_CONTROL_ERROR), which would fail the reads below.
            let stuck = try await harness.probe.wait(for: "the handler's writes to suspend") {
                $0.writesStarted > 0 && $0.writesStarted == $0.writesCompleted + 1
                    && $0.writesCompleted >= (256 << 10) / 16_010
            }
            #expect(stuck.writesCompleted <= (256 << 10) / 16_000 + 1)
            let later = harness.probe.snapshot
            #expect(later.writesCompleted <= (256 << 10) / 16_000 + 1)
            // Reading some lets the handler go on; dropping the stream cancels it.
            var iterator = stream.makeAsyncIterator()
            for _ in 0..<16 { _ = try await iterator.next() }
            try await harness.probe.wait(for: "more writes") { $0.writesCompleted > later.writesCompleted }
            stream.cancel()
            try await harness.probe.wait(for: "the handler to be cancelled") { $0.cancelled == 1 }
            try await harness.expectServed()
            await client.close()
        }
    }

    @Test("1,000 idle connections while another client still gets answers")
    func manyIdleConnections() async throws {
        try await withHarness { harness in
            let context = try harness.rawClientContext()
            var idle: [RawConnection] = []
            for _ in 0..<20 {
                try await withThrowingTaskGroup(of: RawConnection.self) { group in
                    for _ in 0..<50 {
                        group.addTask { try await RawConnection.connect(port: harness.port, context: context) }
                    }
                    for try await connection in group { idle.append(connection) }
                }
            }
            #expect(harness.server.connectionCount == 1000)
            try await harness.expectServed()
            for connection in idle { await connection.close() }
        }
    }

    @Test("connections over the limit are closed before the TLS handshake")
    func connectionLimit() async throws {
        try await withHarness(limits: ProtocolLimits(maxConnections: 2)) { harness in
            let context = try harness.rawClientContext()
            let first = try await RawConnection.connect(port: harness.port, context: context)
            let second = try await RawConnection.connect(port: harness.port, context: context)
            let third = try await RawConnection.connect(port: harness.port, context: context, start: false)
            let seen = try await third.waitFor("the third connection to close") { $0.closed }
            #expect(seen.handshake == nil)
            let client = try harness.client()
            try await expectStatus(.unavailable) { _ = try await client.unary(Echo.unary, HealthCheckRequest()) }
            await first.close()
            await second.close()
            try await harness.probe.wait(for: "the connections to close") { _ in harness.server.connectionCount == 0 }
            try await harness.expectServed()
            await client.close()
        }
    }

    private func decodingError(_ bytes: [UInt8]) -> String {
        do {
            _ = try HealthCheckRequest(wireBytes: bytes)
            return "decoded"
        } catch {
            return error.description
        }
    }
}

import CRMRPC
import CRMWire
import Testing

@Suite("Streaming calls over TLS")
struct StreamingTests {
    @Test("server streaming delivers every message in order, then ends")
    func serverStreaming() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let stream = try await client.serverStreaming(Echo.expand, HealthCheckRequest(service: "20:100"))
            var count = 0
            for try await message in stream {
                #expect(message.service.count == 100)
                count += 1
            }
            #expect(count == 20)
            #expect(try await stream.status() == .ok)
            await client.close()
        }
    }

    @Test("server streaming of zero messages ends OK at once")
    func serverStreamingEmpty() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let stream = try await client.serverStreaming(Echo.expand, HealthCheckRequest(service: "0:1"))
            var count = 0
            for try await _ in stream { count += 1 }
            #expect(count == 0)
            await client.close()
        }
    }

    @Test("a server-streaming call returns before its handler writes anything, and cancelling it stops the handler")
    func serverStreamingReturnsBeforeFirstMessage() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            // The deadline only bounds the test: without the response headers the call would wait for a first message.
            let stream = try await client.serverStreaming(
                Echo.expand, HealthCheckRequest(service: "silent"), options: CallOptions(timeout: .seconds(30)))
            stream.cancel()
            try await harness.probe.wait(for: "the handler to be cancelled") { $0.cancelled == 1 }
            await client.close()
        }
    }

    @Test("many messages larger than the windows flow through (flow control returns credit)")
    func serverStreamingPastTheWindow() async throws {
        // 64 messages of 512 KiB: 32 MiB, four times the stream window and twice the connection's.
        try await withHarness { harness in
            let client = try harness.client()
            let stream = try await client.serverStreaming(Echo.expand, HealthCheckRequest(service: "64:524288"))
            var count = 0
            for try await message in stream {
                #expect(message.service.utf8.count == 524_288)
                count += 1
            }
            #expect(count == 64)
            await client.close()
        }
    }

    @Test("streams sharing a small connection window all finish (credit goes round the blocked streams)")
    func sharedConnectionWindow() async throws {
        let clientLimits = ProtocolLimits(
            initialStreamWindowSize: 128 << 10, connectionWindowSize: 192 << 10, maxMessageSize: 64 << 10)
        try await withHarness { harness in
            let client = try harness.client(limits: clientLimits)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var count = 0
                        for try await _ in try await client.serverStreaming(Echo.expand, HealthCheckRequest(service: "100:16000")) {
                            count += 1
                        }
                        return count
                    }
                }
                for try await count in group { #expect(count == 100) }
            }
            await client.close()
        }
    }

    @Test("Health/Watch streams the status, then each change")
    func healthWatch() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            harness.server.health.setStatus(.serving, forService: "test.Echo")
            let stream = try await client.serverStreaming(Health.watch, HealthWatchRequest(service: "test.Echo"))
            var iterator = stream.makeAsyncIterator()
            #expect(try await iterator.next()?.servingStatus == .serving)
            harness.server.health.setStatus(.notServing, forService: "test.Echo")
            #expect(try await iterator.next()?.servingStatus == .notServing)
            stream.cancel()
            await client.close()
        }
    }

    @Test("client streaming sends many requests and gets one answer")
    func clientStreaming() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let response = try await client.clientStreaming(Echo.collect) { writer in
                for index in 0..<10 { try await writer.write(HealthCheckRequest(service: String(index))) }
            }
            #expect(response.message.service == "0,1,2,3,4,5,6,7,8,9")
            let none = try await client.clientStreaming(Echo.collect) { _ in }
            #expect(none.message.service == "")
            await client.close()
        }
    }

    @Test("client streaming of more than the windows (the handler's reading returns credit)")
    func clientStreamingPastTheWindow() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let chunk = String(repeating: "y", count: 1 << 20)
            let response = try await client.clientStreaming(Echo.collect) { writer in
                for _ in 0..<40 { try await writer.write(HealthCheckRequest(service: chunk)) }
            }
            #expect(response.message.service == "40 requests, \(40 << 20) bytes")
            await client.close()
        }
    }

    @Test("bidirectional: each request is answered as it arrives")
    func bidirectional() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let call = try await client.bidirectional(Echo.chat)
            var responses = call.responses.makeAsyncIterator()
            for index in 0..<5 {
                try await call.requests.write(HealthCheckRequest(service: "ping \(index)"))
                #expect(try await responses.next()?.service == "echo:ping \(index)")
            }
            call.requests.finish()
            #expect(try await responses.next() == nil)
            await client.close()
        }
    }
}

import CRMRPC
import CRMWire
import Testing

@Suite("Unary calls over TLS")
struct UnaryTests {
    @Test("Health/Check answers SERVING for the server")
    func healthCheck() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let response = try await client.unary(Health.check, HealthCheckRequest(service: ""))
            #expect(response.servingStatus == .serving)
            await client.close()
        }
    }

    @Test("an echo comes back, many times on one connection")
    func echo() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            for index in 0..<50 {
                let response = try await client.unary(Echo.unary, HealthCheckRequest(service: "hello \(index)"))
                #expect(response.service == "hello \(index)")
            }
            #expect(harness.server.connectionCount == 1)
            await client.close()
        }
    }

    @Test("calls run concurrently on one connection")
    func concurrent() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<64 {
                    group.addTask {
                        let response = try await client.unary(Echo.unary, HealthCheckRequest(service: "call \(index)"))
                        #expect(response.service == "call \(index)")
                    }
                }
                try await group.waitForAll()
            }
            await client.close()
        }
    }

    @Test("a handler registered to run on the event loop runs there, and others do not")
    func handlerOnEventLoop() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        let response = try await client.unary(Echo.onLoop, HealthCheckRequest())
                        #expect(response.service == "loop")
                    }
                }
                try await group.waitForAll()
            }
            let collected = try await client.clientStreaming(Echo.collectOnLoop) { writer in
                try await writer.write(HealthCheckRequest(service: "a"))
                try await writer.write(HealthCheckRequest(service: "b"))
            }
            #expect(collected.message.service == "a,b,loop")
            let ordinary = try await client.unary(Echo.unary, HealthCheckRequest(service: "x"))
            #expect(ordinary.service == "x")
            await client.close()
        }
    }

    @Test("callers may run on the client's event loop: calls work and stay on that loop")
    func callerOnClientEventLoop() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let loop = client.executor.eventLoop
            let answers = try await Task(executorPreference: client.executor) {
                var answers: [String] = []
                for index in 0..<20 {
                    answers.append(try await client.unary(Echo.unary, HealthCheckRequest(service: "\(index)")).service)
                    #expect(loop.inEventLoop)
                }
                return answers
            }.value
            #expect(answers == (0..<20).map(String.init))
            await client.close()
        }
    }

    @Test("an empty request and response travel as empty messages")
    func emptyMessage() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let response = try await client.unary(Echo.unary, HealthCheckRequest())
            #expect(response == HealthCheckRequest())
            await client.close()
        }
    }

    @Test("metadata travels both ways: request, response headers and trailers")
    func metadata() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            var metadata = Metadata(["trace-id": "7f3a"])
            metadata.addBinary("token-bin", [0, 1, 2, 255])
            let response = try await client.unaryResponse(
                Echo.unary, HealthCheckRequest(service: "metadata"), options: CallOptions(metadata: metadata))
            #expect(response.metadata == metadata)
            #expect(response.trailingMetadata.firstText("trailer-count") == "2")
            await client.close()
        }
    }

    @Test("a handler's RPCStatus is the call's status; another error is UNKNOWN")
    func handlerErrors() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            try await expectStatus(.notFound, "no such customer") {
                _ = try await client.unary(Echo.unary, HealthCheckRequest(service: "fail:NOT_FOUND:no such customer"))
            }
            try await expectStatus(
                .unknown, "the handler of /test.Echo/Unary failed with an error of type TestFailure"
            ) {
                _ = try await client.unary(Echo.unary, HealthCheckRequest(service: "throw"))
            }
            await client.close()
        }
    }

    @Test("Reflection lists every method with its call kind")
    func reflection() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let all = try await client.unary(Reflection.listMethods, ListMethodsRequest())
            let names = all.methods.map(\.name)
            #expect(names == names.sorted())
            #expect(names.contains("/crm.v1.Health/Check"))
            #expect(names.contains("/crm.v1.Reflection/ListMethods"))
            let echo = try await client.unary(Reflection.listMethods, ListMethodsRequest(prefix: "/test.Echo/"))
            #expect(
                echo.methods.map { "\($0.name) \($0.callKind.protoName)" } == [
                    "/test.Echo/Block CALL_KIND_UNARY",
                    "/test.Echo/Chat CALL_KIND_BIDIRECTIONAL_STREAMING",
                    "/test.Echo/Collect CALL_KIND_CLIENT_STREAMING",
                    "/test.Echo/CollectOnLoop CALL_KIND_CLIENT_STREAMING",
                    "/test.Echo/Expand CALL_KIND_SERVER_STREAMING",
                    "/test.Echo/Ignore CALL_KIND_CLIENT_STREAMING",
                    "/test.Echo/OnLoop CALL_KIND_UNARY",
                    "/test.Echo/Unary CALL_KIND_UNARY",
                ])
            #expect(echo.methods.first?.requestMessage == "crm.v1.HealthCheckRequest")
            await client.close()
        }
    }
}

import CRMMessages
import CRMRPC
import CRMServerTesting
import CRMWire
import Foundation
import Testing
@testable import CRMServer

// Client streams are consumed as they arrive: each chunk of 1,000 items is appended while the stream is still open,
// so a stream that fails later keeps what was appended, and the server holds one chunk and one response's results.

@Suite("Bulk streams")
struct BulkStreamTests {
    /// Items per chunk, as the .proto comment of PushInteractions promises.
    static let chunk = 1_000

    private struct StopSending: Error {}

    /// How many interactions the customer of `handle` has, through GetProfile (0 while the customer is unknown).
    static func interactions(_ h: TestServer, _ handle: CRMMessages.Handle) async throws -> UInt32 {
        do {
            return try await h.call(CRMMessages.ProfileService.getProfile, GetProfileRequest(customer: byHandle(handle)), as: .sales)
                .profile?.counters?.interactionsTotal ?? 0
        } catch let status as RPCStatus where status.code == .notFound {
            return 0
        }
    }

    @Test("a bulk push stores each chunk while its stream is open; a stream that fails later keeps them")
    func chunksAreStoredWhileTheStreamIsOpen() async throws {
        try await withTestServer { h in
            let handle = phone("0812-3456-7890")
            var storedBeforeTheEnd: UInt32 = 0
            do {
                _ = try await h.rpc.clientStreaming(
                    CRMMessages.InteractionService.pushInteractions, options: try await h.options(.adapter)
                ) { writer in
                    for n in 0..<(Self.chunk + 10) {
                        try await writer.write(PushInteractionsRequest(interaction: interaction("chunk-\(n)", handle: handle)))
                    }
                    // The stream is still open: the first chunk's append must become visible without it ending.
                    let deadline = ContinuousClock.now + .seconds(120)
                    while storedBeforeTheEnd < UInt32(Self.chunk), ContinuousClock.now < deadline {
                        storedBeforeTheEnd = try await Self.interactions(h, handle)
                        if storedBeforeTheEnd < UInt32(Self.chunk) { try await Task.sleep(for: .milliseconds(20)) }
                    }
                    throw StopSending()
                }
                Issue.record("the stream was abandoned by its sender, so the call cannot succeed")
            } catch is StopSending {}
            #expect(storedBeforeTheEnd == UInt32(Self.chunk))
            // The abandoned stream's first chunk stays; its last ten items never reached an append.
            #expect(try await Self.interactions(h, handle) == UInt32(Self.chunk))

            // Sent again in full, the stored items answer DUPLICATE and the rest are stored.
            let again = try await h.rpc.clientStreaming(
                CRMMessages.InteractionService.pushInteractions, options: try await h.options(.adapter)
            ) { writer in
                for n in 0..<(Self.chunk + 10) {
                    try await writer.write(PushInteractionsRequest(interaction: interaction("chunk-\(n)", handle: handle)))
                }
            }.message
            #expect(again.duplicateCount == UInt64(Self.chunk))
            #expect(again.acceptedCount == 10)
            #expect(again.results.map(\.index) == (0..<UInt64(Self.chunk + 10)).map { $0 })
            #expect(try await Self.interactions(h, handle) == UInt32(Self.chunk + 10))
        }
    }

    @Test("the results a bulk response can carry are bounded: past one message, RESOURCE_EXHAUSTED says what to do")
    func resultsAreBounded() throws {
        var byCount = BulkResults<PushInteractionResult>(limits: WireLimits(maxMessageSize: 1 << 20, maxRepeatedCount: 3))
        for n in 0..<3 { try byCount.add(PushInteractionResult(index: UInt64(n), outcome: .accepted), at: n, items: n + 1) }
        let countError = #expect(throws: RPCStatus.self) {
            try byCount.add(PushInteractionResult(index: 3, outcome: .accepted), at: 3, items: 4)
        }
        #expect(countError?.code == .resourceExhausted)
        #expect(countError?.message == "this stream carried more items (4) than one response can report (at most 3 results in \((1 << 20) - 64 * 1024) bytes); the items appended so far are stored and answer DUPLICATE when sent again: send the rest, or everything again, in a new stream")
        #expect(byCount.inStreamOrder.map(\.index) == [0, 1, 2])

        var bySize = BulkResults<PushInteractionResult>(limits: WireLimits(maxMessageSize: 64 * 1024 + 200, maxRepeatedCount: 100_000))
        let long = PushInteractionResult(index: 0, outcome: .accepted, interactionID: String(repeating: "x", count: 120))
        try bySize.add(long, at: 1, items: 2)
        let sizeError = #expect(throws: RPCStatus.self) { try bySize.add(long, at: 0, items: 2) }
        #expect(sizeError?.code == .resourceExhausted)
        #expect(bySize.inStreamOrder.count == 1)
    }
}

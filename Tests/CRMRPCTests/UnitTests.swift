@testable import CRMRPC
import CRMWire
import Testing

@Suite("Backoff, windows, metadata, stream states")
struct UnitTests {
    @Test("gRPC's backoff: 1 s, ×1.6, at most 120 s, jitter ±20 %")
    func backoff() {
        let backoff = Backoff.grpc
        #expect(backoff.baseDelay(afterFailures: 1) == .seconds(1))
        #expect(backoff.baseDelay(afterFailures: 2) == .milliseconds(1600))
        #expect(backoff.baseDelay(afterFailures: 3) == .milliseconds(2560))
        #expect(backoff.baseDelay(afterFailures: 30) == .seconds(120))
        #expect(backoff.delay(afterFailures: 1, random: 1) == .milliseconds(1200))
        #expect(backoff.delay(afterFailures: 1, random: -1) == .milliseconds(800))
        for failures in 1...20 {
            let delay = backoff.delay(afterFailures: failures)
            let base = backoff.baseDelay(afterFailures: failures)
            #expect(delay >= base * 0.8 - .milliseconds(1) && delay <= base * 1.2 + .milliseconds(1))
        }
    }

    @Test("a receive window returns credit at half its size, or when drained below the largest message")
    func receiveWindow() {
        var window = ReceiveWindow(initial: 1000, largestMessage: 400)
        #expect(window.receive(300) == true)
        #expect(window.consume(300) == nil)  // 300 < 500, and 700 left ≥ 400
        #expect(window.receive(300) == true)
        #expect(window.consume(100) == nil)
        #expect(window.consume(200) == 600)  // 600 ≥ 500
        #expect(window.senderRemaining == 1000)
        #expect(window.receive(1001) == false)

        var small = ReceiveWindow(initial: 1000, largestMessage: 900)
        #expect(small.receive(200) == true)
        #expect(small.consume(200) == 200)  // all consumed and 800 left < 900
    }

    @Test("a send window refuses to grow past 2^31 - 1")
    func sendWindow() {
        var window = SendWindow(initial: 10)
        #expect(window.permits(10) && !window.permits(11))
        window.spend(10)
        #expect(window.permits(0))
        let grown = window.grant(UInt32(Int32.max) - 5)
        let overflowed = window.grant(6)
        #expect(grown && !overflowed)
    }

    @Test("metadata from the wire is checked and reserved keys are dropped")
    func metadataValidation() throws {
        let good = try Metadata(validating: [
            MetadataEntry(key: "trace-id", value: .text("7f3a")),
            MetadataEntry(key: "crm-internal", value: .text("dropped")),
            MetadataEntry(key: "blob-bin", value: .binary([0, 255])),
            MetadataEntry(key: "empty", value: nil),
        ])
        #expect(good.count == 3)
        #expect(good.firstText("trace-id") == "7f3a")
        #expect(good["blob-bin"] == [.binary([0, 255])])
        #expect(good.firstText("empty") == "")

        #expect(throws: MetadataError(key: "Upper", reason: .invalidKey)) {
            try Metadata(validating: [MetadataEntry(key: "Upper", value: .text("x"))])
        }
        #expect(throws: MetadataError(key: "a-bin", reason: .textForBinaryKey)) {
            try Metadata(validating: [MetadataEntry(key: "a-bin", value: .text("x"))])
        }
        #expect(throws: MetadataError(key: "a", reason: .binaryForTextKey)) {
            try Metadata(validating: [MetadataEntry(key: "a", value: .binary([1]))])
        }
        #expect(throws: MetadataError(key: "a", reason: .nonPrintableText)) {
            try Metadata(validating: [MetadataEntry(key: "a", value: .text("line\nbreak"))])
        }
        #expect(throws: MetadataError(key: "crm-x", reason: .reservedKey)) {
            try Metadata(["crm-x": "y"]).validate()
        }
    }

    @Test("stream states: what may arrive and what may be sent")
    func streamStates() {
        var server = StreamState.open
        #expect(server.inboundMessage == .accept && server.canSend)
        server.receiveEndStream()
        #expect(server == .halfClosedRemote && server.inboundMessage == .afterEndStream && server.canSend)
        var client = StreamState.open
        client.sendEndStream()
        #expect(client == .halfClosedLocal && !client.canSend && client.inboundMessage == .accept)
        #expect(StreamState.closed.inboundMessage == .discard)
    }
}

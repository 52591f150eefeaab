#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CRMWire
import NIOCore
import Testing

@Suite("The worked example of docs/PROTOCOL.md: real encoder, exact bytes")
struct WorkedExampleTests {
    let encoder = WireEncoder()
    let decoder = WireDecoder()

    var clientBytes: [UInt8] {
        get throws { ConnectionPreface.bytes + (try WorkedExample.clientFrames(encoder)).flatMap(\.wireBytes) }
    }

    var serverBytes: [UInt8] {
        get throws { try WorkedExample.serverFrames(encoder).flatMap(\.wireBytes) }
    }

    @Test("the client's bytes are the ones the document shows")
    func clientBytesMatchDocument() throws {
        let documented = try #require(try Self.documentedBytes("client-bytes"))
        #expect(Hex.string(documented) == Hex.string(try clientBytes))
    }

    @Test("the server's bytes are the ones the document shows")
    func serverBytesMatchDocument() throws {
        let documented = try #require(try Self.documentedBytes("server-bytes"))
        #expect(Hex.string(documented) == Hex.string(try serverBytes))
    }

    @Test("the documented bytes decode, on each side, to the call they describe")
    func documentedBytesDecode() throws {
        let server = try DecodingChannel(role: .server)
        try server.feed(try #require(try Self.documentedBytes("client-bytes")))
        let fromClient = try server.frames()
        #expect(fromClient.map(\.type) == [.settings, .settings, .headers, .message])
        #expect(try fromClient[0].decodeSettings(using: decoder) == Settings())
        #expect(try fromClient[1].decodeSettings(using: decoder).ack)
        #expect(try fromClient[2].decodeControlPayload(as: RequestHeaders.self, using: decoder) == WorkedExample.requestHeaders)
        #expect(fromClient[3].endsStream(from: .client) && fromClient[3].carriesMessage(from: .client))
        #expect(try fromClient[3].payload.decodeWireMessage(HealthCheckRequest.self, using: decoder) == WorkedExample.request)
        #expect(try server.finish().isEmpty)

        let client = try DecodingChannel(role: .client)
        try client.feed(try #require(try Self.documentedBytes("server-bytes")))
        let fromServer = try client.frames()
        #expect(fromServer.map(\.type) == [.settings, .settings, .headers, .message, .trailers])
        let settings = try fromServer[0].decodeSettings(using: decoder)
        #expect(try ProtocolLimits.default.applying(settings, isFirst: true) == .default)
        #expect(try fromServer[2].decodeControlPayload(as: ResponseHeaders.self, using: decoder) == ResponseHeaders())
        #expect(try fromServer[3].payload.decodeWireMessage(HealthCheckResponse.self, using: decoder) == WorkedExample.response)
        #expect(RPCStatus(try fromServer[4].decodeControlPayload(as: Trailers.self, using: decoder)) == .ok)
        #expect(try client.finish().isEmpty)
    }

    @Test("the smaller examples in the document are exact too")
    func smallExamples() throws {
        let document = try Self.document()
        let examples: [(String, Frame)] = [
            ("00 00 00 00 02 01 00 00 00 03", .endOfRequests(streamID: 3)),
            ("00 00 00 00 02 00 00 00 00 03", .message(ByteBuffer(), streamID: 3)),
            ("00 00 00 02 04 00 00 00 00 05 08 01", try .rstStream(streamID: 5, status: RPCStatus(code: .cancelled), using: encoder)),
            ("00 00 00 04 08 00 00 00 00 00 08 80 80 04", try .windowUpdate(streamID: .connection, increment: 65_536, using: encoder)),
            ("00 00 00 02 07 00 00 00 00 00 08 07", try .goAway(lastStreamID: 7, status: .ok, using: encoder)),
            ("00 00 00 02 06 00 00 00 00 00 08 2A", try .ping(opaqueData: 42, using: encoder)),
            ("00 00 00 04 06 01 00 00 00 00 08 2A 10 01", try .ping(opaqueData: 42, ack: true, using: encoder)),
        ]
        for (hex, frame) in examples {
            #expect(Hex.string(frame.wireBytes) == hex)
            #expect(document.contains(hex), "docs/PROTOCOL.md should show \(frame) as \(hex)")
        }
    }

    // MARK: reading the document

    /// The hex in the fenced block right after `<!-- worked-example:NAME -->`.
    static func documentedBytes(_ name: String) throws -> [UInt8]? {
        let lines = try document().split(separator: "\n", omittingEmptySubsequences: false)
        guard let marker = lines.firstIndex(where: { $0.contains("<!-- worked-example:\(name) -->") }),
            let open = lines[(marker + 1)...].firstIndex(where: { $0.hasPrefix("```") }),
            let close = lines[(open + 1)...].firstIndex(where: { $0.hasPrefix("```") })
        else { return nil }
        return Hex.bytes(lines[(open + 1)..<close].joined(separator: " "))
    }

    /// docs/PROTOCOL.md, found from this file's path: Tests/CRMWireFrameTests/ → the package root.
    static func document() throws -> String {
        let path = String(#filePath)
        guard let tests = path.ranges(of: "/Tests/").last else { throw DocumentMissing(path: path) }
        let documentPath = String(path[..<tests.lowerBound]) + "/docs/PROTOCOL.md"
        guard let file = fopen(documentPath, "rb") else { throw DocumentMissing(path: documentPath) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    struct DocumentMissing: Error, CustomStringConvertible {
        let path: String
        var description: String { "cannot read \(path): the worked example's bytes are checked against it" }
    }
}

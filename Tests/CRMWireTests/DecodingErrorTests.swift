import CRMWire
import Testing

/// Every way the decoder refuses bytes, each with the exact error it gives.
@Suite struct DecodingErrorTests {
    static let headers = RequestHeaders(
        method: "/crm.v1.InteractionService/PushInteraction", timeoutMs: 1500,
        metadata: [MetadataEntry(key: "authorization", value: .text("Bearer t")), MetadataEntry(key: "trace", value: .binary([1, 2]))])

    private func error(_ expected: WireDecodingError.Reason, at path: String = "", in name: String = "crm.v1.RequestHeaders")
        -> WireDecodingError
    {
        WireDecodingError(messageName: name, fieldPath: path, reason: expected)
    }

    private func decodeError<M: WireMessage>(_ type: M.Type, _ bytes: [UInt8], limits: WireLimits = .default) -> WireDecodingError? {
        do {
            _ = try M(wireBytes: bytes, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func truncatedInsideAString() throws {
        let bytes = try RequestHeaders(method: "abc").wireBytes()
        #expect(decodeError(RequestHeaders.self, Array(bytes.dropLast())) == error(.truncated, at: "method"))
    }

    @Test func truncatedInsideANestedMessage() throws {
        var bytes = try Self.headers.wireBytes()
        bytes.removeLast()
        #expect(decodeError(RequestHeaders.self, bytes) == error(.truncated, at: "metadata"))
    }

    @Test func malformedVarint() {
        // Field 3 (timeout_ms) as a varint of eleven bytes, all with the continuation bit.
        let bytes: [UInt8] = [0x18] + Array(repeating: 0xFF, count: 11)
        #expect(decodeError(RequestHeaders.self, bytes) == error(.malformedVarint, at: "timeout_ms"))
    }

    @Test func wrongWireType() {
        // Field 1 (method, a string) sent as a varint.
        #expect(
            decodeError(RequestHeaders.self, [0x08, 0x01])
                == error(.wrongWireType(fieldNumber: 1, expected: .lengthDelimited, found: .varint), at: "method"))
    }

    @Test func fieldNumberZero() {
        #expect(decodeError(RequestHeaders.self, [0x00, 0x01]) == error(.invalidFieldNumber(0)))
    }

    @Test func groupWireType() {
        #expect(decodeError(RequestHeaders.self, [0x0B, 0x0C]) == error(.unsupportedWireType(3)))
    }

    @Test func invalidUTF8() {
        #expect(decodeError(RequestHeaders.self, [0x0A, 0x02, 0xC3, 0x28]) == error(.invalidUTF8, at: "method"))
    }

    @Test func invalidUTF8DeepInside() throws {
        // metadata[1].key = "\xFF"
        let first = try MetadataEntry(key: "ok").wireBytes()
        let bad: [UInt8] = [0x0A, 0x01, 0xFF]
        let bytes = [0x2A, UInt8(first.count)] + first + [0x2A, UInt8(bad.count)] + bad
        #expect(decodeError(RequestHeaders.self, bytes) == error(.invalidUTF8, at: "metadata[1].key"))
    }

    @Test func nulInsideAString() {
        #expect(decodeError(RequestHeaders.self, [0x0A, 0x03, 0x61, 0x00, 0x62]) == error(.nulInString, at: "method"))
    }

    @Test func nestingOverTheLimit() throws {
        let bytes = try Self.headers.wireBytes()
        let limits = WireLimits(maxNestingDepth: 1)
        #expect(decodeError(RequestHeaders.self, bytes, limits: limits) == error(.nestingTooDeep(limit: 1), at: "metadata[0]"))
        #expect(try RequestHeaders(wireBytes: bytes, limits: WireLimits(maxNestingDepth: 2)) == Self.headers)
    }

    @Test func repeatedCountOverTheLimit() throws {
        let bytes = try Self.headers.wireBytes()
        let limits = WireLimits(maxRepeatedCount: 1)
        #expect(decodeError(RequestHeaders.self, bytes, limits: limits) == error(.tooManyElements(count: 2, limit: 1), at: "metadata"))
    }

    @Test func messageOverTheSizeLimit() throws {
        let bytes = try Self.headers.wireBytes()
        let limits = WireLimits(maxMessageSize: 10)
        #expect(
            decodeError(RequestHeaders.self, bytes, limits: limits)
                == error(.messageTooLarge(size: bytes.count, limit: 10)))
    }

    @Test func unpackingOverTheMemoryBudget() throws {
        let many = RequestHeaders(metadata: Array(repeating: MetadataEntry(key: "k"), count: 50))
        let bytes = try many.wireBytes()
        let limits = WireLimits(maxDecodeMemory: 256)
        #expect(decodeError(RequestHeaders.self, bytes, limits: limits) == error(.decodeMemoryExceeded(limit: 256)))
    }

    @Test func unknownFieldsAreSkipped() throws {
        // Field 99 as a varint and field 100 as bytes, as a newer peer might add.
        let bytes = try Self.headers.wireBytes() + [0x98, 0x06, 0x2A, 0xA2, 0x06, 0x02, 0x68, 0x69]
        #expect(try RequestHeaders(wireBytes: bytes) == Self.headers)
    }

    @Test func malformedUnknownFieldsAreRefused() throws {
        // Field 100 claims 5 bytes but only 2 follow.
        let bytes = try Self.headers.wireBytes() + [0xA2, 0x06, 0x05, 0x68, 0x69]
        #expect(decodeError(RequestHeaders.self, bytes) == error(.truncated, at: "#100"))
    }

    @Test func errorsSayWhatToDo() {
        let e = error(.invalidUTF8, at: "metadata[1].key")
        #expect(e.description == "cannot decode crm.v1.RequestHeaders, field metadata[1].key: the string is not valid UTF-8; send UTF-8 text")
    }
}

@Suite struct EncodingErrorTests {
    @Test func nulInAString() {
        #expect(throws: WireEncodingError(messageName: "crm.v1.RequestHeaders", fieldPath: "method", reason: .nulInString)) {
            try RequestHeaders(method: "a\u{0}b").wireBytes()
        }
    }

    @Test func nulDeepInside() {
        let headers = RequestHeaders(metadata: [MetadataEntry(key: "a"), MetadataEntry(key: "b\u{0}")])
        #expect(throws: WireEncodingError(messageName: "crm.v1.RequestHeaders", fieldPath: "metadata[1].key", reason: .nulInString)) {
            try headers.wireBytes()
        }
    }

    @Test func overTheSizeLimit() throws {
        let headers = RequestHeaders(method: String(repeating: "m", count: 100))
        #expect(throws: WireEncodingError(messageName: "crm.v1.RequestHeaders", fieldPath: "", reason: .messageTooLarge(size: 102, limit: 50))) {
            try headers.wireBytes(limits: WireLimits(maxMessageSize: 50))
        }
    }

    @Test func unknownEnumNumbersSurvive() throws {
        let trailers = Trailers(statusCode: .unrecognized(42), message: "from a newer peer")
        let copy = try Trailers(wireBytes: trailers.wireBytes())
        #expect(copy.statusCode == .unrecognized(42))
        #expect(copy == trailers)
    }

    @Test func reusedCodersGiveTheSameBytes() throws {
        let encoder = WireEncoder()
        let decoder = WireDecoder()
        for i in 0..<100 {
            let headers = RequestHeaders(method: "/s/m\(i)", timeoutMs: Int64(i), metadata: DecodingErrorTests.headers.metadata)
            let bytes = try encoder.encode(headers)
            #expect(bytes == (try headers.wireBytes()))
            #expect(try decoder.decode(RequestHeaders.self, from: bytes) == headers)
            #expect(try encoder.withEncodedBytes(headers) { Array($0) } == bytes)
        }
    }
}

import CRMMessages
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

    @Test func fieldNumberAboveTheLargest() {
        // 2^32 as the field number: a key of six bytes, refused with the number named.
        let key = UInt64(1 << 32) << 3
        #expect(decodeError(RequestHeaders.self, varint(key) + [0x01]) == error(.invalidFieldNumber(1 << 32)))
        // 2^29 (the largest field number is 2^29 - 1) still fits the five-byte key protobuf-c reads, which takes it as
        // an unknown field and skips it, as it does 2^29 - 1: neither reaches a message.
        #expect(decodeError(RequestHeaders.self, varint(UInt64(1 << 29) << 3) + [0x01]) == nil)
        #expect(decodeError(RequestHeaders.self, varint(UInt64((1 << 29) - 1) << 3) + [0x01]) == nil)
    }

    @Test(arguments: [4, 6, 7])
    func wireTypesThatDoNotExistOrAreGroups(wireType: Int) {
        #expect(decodeError(RequestHeaders.self, [UInt8(0x08 | wireType), 0x00]) == error(.unsupportedWireType(wireType)))
    }

    @Test func truncatedFixed64AndFixed32() {
        // Unknown fields 9 (64-bit) and 10 (32-bit) with fewer bytes than their width.
        #expect(decodeError(RequestHeaders.self, [0x49, 1, 2, 3, 4, 5, 6, 7]) == error(.truncated, at: "#9"))
        #expect(decodeError(RequestHeaders.self, [0x55, 1, 2, 3]) == error(.truncated, at: "#10"))
        #expect(decodeError(RequestHeaders.self, [0x49, 1, 2, 3, 4, 5, 6, 7, 8]) == nil)
    }

    @Test func malformedPackedField() {
        // ListRatingsRequest.stars (field 2, repeated uint32) packed: two bytes whose varint never ends.
        #expect(
            decodeError(ListRatingsRequest.self, [0x12, 0x02, 0x01, 0x80])
                == error(.malformedPackedField(fieldNumber: 2), at: "stars", in: "crm.v1.ListRatingsRequest"))
        #expect(decodeError(ListRatingsRequest.self, [0x12, 0x02, 0x01, 0x05]) == nil)
    }

    @Test func rejectedByProtobufCAlone() {
        // Field 1 of RequestHeaders as a key of six bytes (0x08 padded with continuation bytes): a well-formed
        // varint, so our scan passes, but protobuf-c reads keys of at most five bytes and refuses it.
        #expect(
            decodeError(RequestHeaders.self, [0x8A, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x61])
                == error(.rejectedByProtobufC))
    }

    /// Every reason, mapped to the test above that makes the decoder give it: a reason added to
    /// `WireDecodingError.Reason` does not compile here until it has a test of its own.
    @Test func everyReasonHasATest() {
        let samples: [WireDecodingError.Reason] = [
            .messageTooLarge(size: 1, limit: 0), .truncated, .malformedVarint, .invalidFieldNumber(0),
            .unsupportedWireType(3), .wrongWireType(fieldNumber: 1, expected: .varint, found: .fixed32),
            .malformedPackedField(fieldNumber: 1), .invalidUTF8, .nulInString, .nestingTooDeep(limit: 1),
            .tooManyElements(count: 2, limit: 1), .decodeMemoryExceeded(limit: 1), .rejectedByProtobufC,
        ]
        for reason in samples {
            let test: String
            switch reason {
            case .messageTooLarge: test = "messageOverTheSizeLimit"
            case .truncated: test = "truncatedInsideAString, truncatedFixed64AndFixed32"
            case .malformedVarint: test = "malformedVarint"
            case .invalidFieldNumber: test = "fieldNumberZero, fieldNumberAboveTheLargest"
            case .unsupportedWireType: test = "groupWireType, wireTypesThatDoNotExistOrAreGroups"
            case .wrongWireType: test = "wrongWireType"
            case .malformedPackedField: test = "malformedPackedField"
            case .invalidUTF8: test = "invalidUTF8"
            case .nulInString: test = "nulInsideAString"
            case .nestingTooDeep: test = "nestingOverTheLimit"
            case .tooManyElements: test = "repeatedCountOverTheLimit"
            case .decodeMemoryExceeded: test = "unpackingOverTheMemoryBudget"
            case .rejectedByProtobufC: test = "rejectedByProtobufCAlone"
            }
            #expect(!test.isEmpty)
        }
    }

    private func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
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

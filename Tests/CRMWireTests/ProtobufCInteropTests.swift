import CProtobufC
import CRMProtoC
import CRMWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Bytes made by protobuf-c's own generated C API decode in Swift, and the other way round.
@Suite struct ProtobufCInteropTests {
    @Test func cEncodedHeadersDecodeInSwift() throws {
        var entry = Crm__V1__MetadataEntry()
        crm__v1__metadata_entry__init(&entry)
        let key = strdup("authorization")!
        let text = strdup("Bearer s3cret")!
        defer { free(key); free(text) }
        entry.key = key
        entry.value_case = CRM__V1__METADATA_ENTRY__VALUE_TEXT
        entry.text = text

        var headers = Crm__V1__RequestHeaders()
        crm__v1__request_headers__init(&headers)
        let method = strdup("/crm.v1.Health/Check")!
        defer { free(method) }
        headers.method = method
        headers.timeout_ms = 2500
        headers.idempotent = 1
        var entries: [UnsafeMutablePointer<Crm__V1__MetadataEntry>?] = []
        try withUnsafeMutablePointer(to: &entry) { entryPointer in
            entries = [entryPointer]
            try entries.withUnsafeMutableBufferPointer { list in
                headers.n_metadata = 1
                headers.metadata = list.baseAddress
                let size = crm__v1__request_headers__get_packed_size(&headers)
                var bytes = [UInt8](repeating: 0, count: size)
                #expect(crm__v1__request_headers__pack(&headers, &bytes) == size)
                let decoded = try RequestHeaders(wireBytes: bytes)
                #expect(
                    decoded
                        == RequestHeaders(
                            method: "/crm.v1.Health/Check", timeoutMs: 2500, idempotent: true,
                            metadata: [MetadataEntry(key: "authorization", value: .text("Bearer s3cret"))]))
            }
        }
    }

    @Test func swiftEncodedTrailersUnpackInC() throws {
        let trailers = Trailers(
            statusCode: .permissionDenied, message: "agents may not close complaints; ask After-Sales",
            metadata: [MetadataEntry(key: "retry-bin", value: .binary([0, 1, 2, 255]))])
        let bytes = try trailers.wireBytes()
        let unpacked = try #require(crm__v1__trailers__unpack(nil, bytes.count, bytes))
        defer { crm__v1__trailers__free_unpacked(unpacked, nil) }
        let c = unpacked.pointee
        #expect(c.status_code.rawValue == 7)
        #expect(String(cString: c.message) == "agents may not close complaints; ask After-Sales")
        #expect(c.n_metadata == 1)
        let entry = try #require(c.metadata[0]).pointee
        #expect(String(cString: entry.key) == "retry-bin")
        #expect(entry.value_case == CRM__V1__METADATA_ENTRY__VALUE_BINARY)
        #expect(Array(UnsafeBufferPointer(start: entry.binary.data, count: entry.binary.len)) == [0, 1, 2, 255])
    }

    @Test func swiftAndCAgreeOnEmptyAndDefaultValues() throws {
        let settings = Settings(entries: [SettingEntry(key: .unspecified, value: 0)], ack: false)
        let bytes = try settings.wireBytes()
        let unpacked = try #require(crm__v1__settings__unpack(nil, bytes.count, bytes))
        defer { crm__v1__settings__free_unpacked(unpacked, nil) }
        #expect(unpacked.pointee.n_entries == 1)
        #expect(unpacked.pointee.ack == 0)
    }
}

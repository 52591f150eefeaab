import CRMFuzzTargets
import CRMMessages
import CRMWire
import Testing

/// The JSON mapping generated for every message type: random values round-trip, and bad JSON is refused by path.
@Suite struct GeneratedJSONMappingTests {
    @Test(arguments: 0..<3)
    func randomValuesRoundTripThroughJSON(round: Int) throws {
        for (index, type) in GeneratedTypesRoundTripTests.allTypes.enumerated() {
            let mapped = try #require(type as? any WireJSONMessage.Type, "\(type.protoName) has no JSON mapping")
            try Self.check(mapped, seed: UInt64(round * 10_000 + index))
        }
    }

    static func check<M: WireJSONMessage>(_ type: M.Type, seed: UInt64) throws {
        let arena = WireArena()
        var filler = RandomCMessage(arena: arena, rng: SeededGenerator(seed: seed))
        for _ in 0..<6 {
            let value = try M(wireBytes: RandomCMessage.pack(filler.make(M.wireDescriptor.pointer)))
            #expect(try M(json: value.json, path: "v") == value, "\(M.protoName) (seed \(seed)) does not round-trip through JSON")
        }
        #expect(M().json == .object([:]), "\(M.protoName) at its defaults is an empty object")
    }

    @Test func namesKindsAndNumbersFollowTheProto3Mapping() throws {
        var request = GetCallerSnapshotRequest()
        request.customer = CustomerSelector(target: .handle(Handle(kind: .phone, value: "0812")))
        request.channel = .whatsapp
        let json = request.json
        #expect(json == .object([
            "customer": .object(["handle": .object(["kind": .string("HANDLE_KIND_PHONE"), "value": .string("0812")])]),
            "channel": .string("CHANNEL_WHATSAPP"),
        ]))
        // The .proto's own names, enum numbers and 64-bit integers as numbers or strings are read too.
        let page = try TimeRange(json: .object(["from_ms": .integer(5), "toMs": .string("9007199254740993")]), path: "r")
        #expect(page.fromMs == 5 && page.toMs == 9_007_199_254_740_993)
        #expect(WireJSON.value(page.toMs) == .string("9007199254740993"), "64-bit integers are written as strings")
        #expect(try Handle(json: .object(["kind": .integer(2)]), path: "h").kind == Handle(kind: .email).kind)
    }

    @Test func badJSONIsRefusedWithItsPath() {
        func reason(_ body: () throws -> Void) -> String {
            do { try body(); return "accepted" } catch let error as WireJSONError { return error.description } catch { return "\(error)" }
        }
        #expect(reason { _ = try GetCallerSnapshotRequest(json: .object(["handle": .null, "custmer": .object([:])]), path: "request") }
            == "request: crm.v1.GetCallerSnapshotRequest has no field \"custmer\"; its fields are customer, channel, statedIntent")
        #expect(reason { _ = try GetCallerSnapshotRequest(json: .object(["channel": .string("CHANNEL_PIGEON")]), path: "request") }
            .hasPrefix("request.channel: \"CHANNEL_PIGEON\" is not a value of crm.v1.Channel; give one of CHANNEL_UNSPECIFIED"))
        #expect(reason { _ = try TimeRange(json: .object(["fromMs": .number(1.5)]), path: "r") } == "r.fromMs: 1.5 is not a whole number of 64 bits")
        #expect(reason { _ = try TimeRange(json: .array([]), path: "r") } == "r: is an array; crm.v1.TimeRange is a JSON object of its fields")
        #expect(reason {
            _ = try GetOrderBenefitsRequest(json: .object(["orderNumber": .string("SO-1"), "draft": .object([:])]), path: "request")
        }.contains("sets the oneof subject again; give only one of orderNumber, draft"))
        #expect(reason { _ = try ListRatingsRequest(json: .object(["stars": .object([:])]), path: "q") } == "q.stars: is an object; give a JSON array")
    }

    @Test func bytesAreBase64() throws {
        for bytes: [UInt8] in [[], [0], [0xFF, 0x00], Array("hello, world".utf8), Array(0...255)] {
            #expect(try WireJSON.bytes(WireJSON.value(bytes), "b") == bytes)
        }
        #expect(WireJSON.value(Array("hi".utf8)) == .string("aGk="))
        #expect(throws: WireJSONError.self) { try WireJSON.bytes(.string("a*b="), "b") }
    }
}

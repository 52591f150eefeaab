import CRMMessages
import CRMFuzzTargets
import CRMWire
import Testing

/// Every generated message type, against protobuf-c's own encoding of random values.
@Suite struct GeneratedTypesRoundTripTests {
    static let allTypes: [any WireMessage.Type] = RPCProtoTypes.messageTypes + CRMProtoTypes.messageTypes

    @Test func everyMessageTypeIsListed() {
        #expect(RPCProtoTypes.messageTypes.count >= 10)
        #expect(CRMProtoTypes.messageTypes.count >= 80)
        let names = Self.allTypes.map { $0.protoName }
        #expect(Set(names).count == names.count)
    }

    @Test func defaultValuesRoundTrip() throws {
        for type in Self.allTypes {
            try Self.checkDefault(type)
        }
    }

    static func checkDefault<M: WireMessage>(_ type: M.Type) throws {
        let bytes = try M().wireBytes()
        #expect(bytes.isEmpty, "\(M.protoName) at its defaults must encode to nothing in proto3")
        #expect(try M(wireBytes: bytes) == M())
    }

    /// For each type, random C values packed by protobuf-c decode in Swift, re-encode to the
    /// very same bytes, and decode again to an equal value (Swift → bytes → Swift).
    @Test(arguments: 0..<4)
    func randomValuesMatchProtobufC(round: Int) throws {
        for (index, type) in Self.allTypes.enumerated() {
            try Self.check(type, seed: UInt64(round * 10_000 + index))
        }
    }

    static func check<M: WireMessage>(_ type: M.Type, seed: UInt64) throws {
        let arena = WireArena()
        var filler = RandomCMessage(arena: arena, rng: SeededGenerator(seed: seed))
        for _ in 0..<8 {
            let cBytes = RandomCMessage.pack(filler.make(M.wireDescriptor.pointer))
            let value = try M(wireBytes: cBytes)
            let swiftBytes = try value.wireBytes()
            #expect(swiftBytes == cBytes, "\(M.protoName) (seed \(seed)): Swift re-encoding differs from protobuf-c")
            #expect(try M(wireBytes: swiftBytes) == value, "\(M.protoName) (seed \(seed)) does not round-trip")
        }
    }

    @Test func everyEnumRoundTripsByNumberAndName() {
        for type in RPCProtoTypes.enumTypes + CRMProtoTypes.enumTypes {
            Self.checkEnum(type)
        }
    }

    static func checkEnum<E: WireEnum>(_ type: E.Type) {
        #expect(!E.allCases.isEmpty)
        for value in E.allCases {
            #expect(E(rawValue: value.rawValue) == value)
            #expect(E(protoName: value.protoName) == value)
        }
        #expect(E(rawValue: 987_654).rawValue == 987_654)
        #expect(E(protoName: "NO_SUCH_VALUE") == nil)
    }
}

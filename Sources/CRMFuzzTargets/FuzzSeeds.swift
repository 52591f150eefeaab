import CRMCommandLine
import CRMDataset
import CRMDomain
import CRMMessages
import CRMStore
import CRMWire
import NIOCore

/// Valid inputs each target starts from, made by the same encoders the product uses, so the fuzzer begins deep in
/// the format instead of guessing its magic numbers. `tools/fuzz --seed` writes them to `Fuzz/Corpus/TARGET`.
extension FuzzTarget {
    /// The seed inputs of this target, each with the leading choice bytes the target reads.
    public var seeds: [[UInt8]] {
        switch self {
        case .frames:
            // Role: 0 (server: the input follows the preface) and 1 (client); chunk sizes 1 and 64.
            [[0, 63] + FuzzSeeds.clientFrames(), [0, 0] + FuzzSeeds.clientFrames(), [1, 63] + FuzzSeeds.serverFrames()]
        case .connection:
            [[127] + FuzzSeeds.clientFrames(), [0] + FuzzSeeds.clientFrames()]
        case .messages:
            FuzzSeeds.messages()
        case .handles:
            FuzzSeeds.handles()
        case .storedFacts:
            FuzzSeeds.storedFacts()
        case .configuration:
            [Array("# crmd.conf\nlisten = 127.0.0.1:7443\ndata-dir = \"/var/lib/crmd\"\nlog-level = info\n".utf8)]
        case .tlsHandshake:
            // A ClientHello is made by a real client at fuzzing time; here, the record header of one and garbage.
            [[254, 0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00], [0, 0x47, 0x45, 0x54, 0x20, 0x2f]]
        case .orderCSV:
            FuzzSeeds.orderCSVs()
        }
    }
}

enum FuzzSeeds {
    static func encode(_ frames: [Frame]) -> [UInt8] {
        var buffer = ByteBuffer()
        for frame in frames { frame.write(to: &buffer) }
        return Array(buffer.readableBytesView)
    }

    static func frame<M: WireMessage>(_ type: FrameType, flags: FrameFlags = [], stream: UInt32, _ message: M) -> Frame {
        do {
            return try Frame(type, flags: flags, streamID: StreamID(rawValue: stream)!, message: message, using: WireEncoder())
        } catch {
            preconditionFailure("a seed frame does not encode: \(error)")
        }
    }

    /// What a client sends after the preface: SETTINGS, a unary call, a PING, a WINDOW_UPDATE, a call it resets, GOAWAY.
    static func clientFrames() -> [UInt8] {
        var settings = Settings()
        settings.entries = [SettingEntry(key: .initialWindowSize, value: 65_535), SettingEntry(key: .maxFrameSize, value: 16_384)]
        let request = (try? HealthCheckRequest(service: "crm.v1.ProfileService").wireBytes()) ?? []
        return encode([
            frame(.settings, stream: 0, settings),
            frame(.headers, stream: 1, RequestHeaders(method: "/crm.v1.ProfileService/GetProfile", authority: "localhost", timeoutMs: 1_000)),
            Frame(type: .message, flags: .endStream, streamID: StreamID(rawValue: 1)!, payload: ByteBuffer(bytes: request)),
            frame(.ping, stream: 0, Ping(opaqueData: 42, ack: false)),
            frame(.windowUpdate, stream: 0, WindowUpdate(incrementBytes: 1_024)),
            frame(.headers, stream: 3, RequestHeaders(method: "/grpc.health.v1.Health/Watch", authority: "localhost", timeoutMs: 0)),
            frame(.rstStream, stream: 3, StreamReset(statusCode: .cancelled, message: "CANCELLED")),
            frame(.goAway, stream: 0, GoAway(lastStreamID: 0, statusCode: .ok, message: "OK")),
        ])
    }

    /// What a server sends: SETTINGS, its ack, response headers, a message and trailers.
    static func serverFrames() -> [UInt8] {
        encode([
            frame(.settings, stream: 0, Settings()),
            frame(.settings, flags: .ack, stream: 0, Settings(entries: [], ack: true)),
            frame(.headers, stream: 1, ResponseHeaders()),
            Frame(type: .message, streamID: StreamID(rawValue: 1)!, payload: ByteBuffer(bytes: [0x08, 0x01])),
            frame(.trailers, stream: 1, Trailers(statusCode: .ok, message: "", metadata: [])),
        ])
    }

    /// Of every message type, with the choice byte that picks it: its empty encoding and two filled with random
    /// values by protobuf-c itself, so the fuzzer starts from every field of every message.
    static func messages() -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        for (index, type) in MessageFuzzing.types.enumerated() where index < 256 {
            seeds.append([UInt8(index)])
            for bytes in filled(type, seed: UInt64(index)) { seeds.append([UInt8(index)] + bytes) }
        }
        return seeds
    }

    private static func filled<M: WireMessage>(_ type: M.Type, seed: UInt64) -> [[UInt8]] {
        let arena = WireArena()
        var filler = RandomCMessage(arena: arena, rng: SeededGenerator(seed: seed))
        return (0..<2).map { _ in RandomCMessage.pack(filler.make(M.wireDescriptor.pointer)) }
    }

    static func handles() -> [[UInt8]] {
        let examples: [(CRMDomain.HandleKind, String)] = [
            (.phone, "0812-3456-789"), (.phone, "+62 812 3456 789"), (.phone, "(021) 555-1234"),
            (.email, "Budi.Santoso@Example.co.id"), (.email, "\"odd local\"@example.com"),
            (.instagram, "@tokobudi"), (.instagram, "toko.budi_"), (.tiktok, "@toko.budi"),
            (.facebook, "tokobudi"), (.facebook, "100012345678"), (.orderSystem, "C-10023"),
        ]
        var seeds: [[UInt8]] = []
        for (kind, text) in examples {
            let choice = UInt8(CRMDomain.HandleKind.allCases.firstIndex(of: kind)!)
            seeds.append([choice] + Array(text.utf8))
        }
        return seeds
    }

    /// Order files as people write them: every column, quoted cells with commas and line breaks, an order of two
    /// rows, dotted rupiah, a byte-order mark, and rows with errors.
    static func orderCSVs() -> [[UInt8]] {
        let every = (OrderCSV.required + OrderCSV.optional).joined(separator: ",")
        let files = [
            "order_number,customer,placed,sku,quantity,unit_price\nSO-1,oms:C-1001,2024-05-01,MUG-01,2,45000\n",
            every + "\nSO-2,oms:C-1002,2024-01-31,LAMP-2,1,\"1.250.000\",Lampu meja,taobao,https://item.taobao.com/1,"
                + "15000,5000,1000,\"Rp 1.269.000\",instalment-50,2024-02-20,wa:+62 812 3456 789;email:budi@example.co.id,"
                + "\"Budi, Santoso\",0812-3456-789,\"Jl. Melati 5\nRT 02\",Menteng,Jakarta Pusat,DKI Jakarta,10310\n"
                + "SO-2,oms:C-1002,2024-01-31,CUP-9,3,12.500,Cangkir,alibaba-1688,,,,,,,,,,,,,,\n",
            "\u{FEFF}Order Number,Customer,Placed,SKU,Quantity,Unit-Price\r\nSO-3,phone:0812-1111-2222,2024-02-29,A,1,0\r\n"
                + "SO-4,,2024-13-01,B,0,-5\r\n,oms:C-9,2024-01-01,C,1,1\r\n",
        ]
        return files.map { [0] + Array($0.utf8) }
    }

    /// One stored payload of each kind the dataset generator makes (interactions, links, orders, complaints, …).
    static func storedFacts() -> [[UInt8]] {
        let generator = DatasetGenerator(seed: 7)
        var byKind: [UInt8: [UInt8]] = [:]
        for index in 0..<20 {
            for fact in generator.customer(index).facts {
                guard let bytes = try? FactCodec.encode(fact.payload), bytes.count > 1 else { continue }
                if byKind[bytes[1]] == nil { byKind[bytes[1]] = bytes }
            }
        }
        return byKind.keys.sorted().map { byKind[$0]! }
    }
}

import CProtobufC
import CRMMessages
import CRMWire

/// The codec benchmark: the Swift bridge (Swift value ⇄ protobuf-c C struct ⇄ bytes)
/// against raw protobuf-c pack and unpack of the same C message, in the same run.
///
///     swift run -c release crm-codec-bench
@main
enum CodecBenchmark {
    static func main() throws {
        let measure = Measure()
        print("crm-codec-bench: ns per message (median of \(measure.rounds) paired rounds); ratio = Swift bridge / raw protobuf-c, median of per-round ratios")
        print("")
        print(pad("message", 34) + pad("bytes", 8) + pad("operation", 30) + pad("raw C ns", 12) + pad("bridge ns", 12) + "ratio")
        try run("Interaction", Samples.interaction(7), measure)
        try run("CustomerProfile (50 id, 200 tl)", Samples.profile(), measure)
    }

    static func run<M: WireMessage>(_ name: String, _ value: M, _ measure: Measure) throws {
        let bytes = try value.wireBytes()
        let descriptor = M.wireDescriptor.pointer

        // The raw C message, unpacked by protobuf-c with its default allocator.
        guard let cMessage = protobuf_c_message_unpack(descriptor, nil, bytes.count, bytes) else {
            fatalError("protobuf-c cannot unpack the sample \(M.protoName)")
        }
        defer { protobuf_c_message_free_unpacked(cMessage, nil) }
        var output = [UInt8](repeating: 0, count: bytes.count + 64)

        let rawPack = {
            let size = protobuf_c_message_get_packed_size(cMessage)
            output.withUnsafeMutableBufferPointer { blackHole(protobuf_c_message_pack(cMessage, $0.baseAddress!) + size) }
        }
        let rawUnpack = {
            let m = protobuf_c_message_unpack(descriptor, nil, bytes.count, bytes)
            protobuf_c_message_free_unpacked(m, nil)
        }
        let encoder = WireEncoder()
        let decoder = WireDecoder()

        func row(_ op: String, _ c: Measure.Comparison) {
            print(pad(name, 34) + pad(String(bytes.count), 8) + pad(op, 30)
                + pad(format(c.baselineNanoseconds), 12) + pad(format(c.candidateNanoseconds), 12)
                + format(c.ratio, digits: 2) + "x")
        }
        row("encode (into a buffer)", measure.compare(baseline: rawPack) {
            blackHole(try! encoder.withEncodedBytes(value) { $0.count })
        })
        row("encode (to a new [UInt8])", measure.compare(baseline: rawPack) {
            blackHole(try! encoder.encode(value))
        })
        row("decode (reused decoder)", measure.compare(baseline: rawUnpack) {
            blackHole(try! decoder.decode(M.self, from: bytes))
        })
        row("decode (init(wireBytes:))", measure.compare(baseline: rawUnpack) {
            blackHole(try! M(wireBytes: bytes))
        })
        if try M(wireBytes: bytes) != value { fatalError("\(M.protoName) does not round-trip") }
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }

    static func format(_ x: Double, digits: Int = 0) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (x * scale).rounded() / scale
        if digits == 0 { return String(Int(rounded)) }
        let whole = Int(rounded)
        let fraction = Int(((rounded - Double(whole)) * scale).rounded())
        let fractionText = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - fractionText.count) + fractionText
    }
}

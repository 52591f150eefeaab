import CRMMessages
import CRMWire

/// Every message type of the protocol and of the CRM services: the first byte chooses the type, the rest is its wire
/// form. What decodes must encode, and decode again to the same value.
enum MessageFuzzing {
    static let types: [any WireMessage.Type] = RPCProtoTypes.messageTypes + CRMProtoTypes.messageTypes

    static func run(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        let type = types[Int(input.choice()) % types.count]
        roundTrip(type, input.rest)
    }

    private static func roundTrip<M: WireMessage>(_ type: M.Type, _ bytes: UnsafeRawBufferPointer) {
        let decoder = WireDecoder()
        guard let message = try? decoder.decode(M.self, from: bytes) else { return }
        let encoded: [UInt8]
        do { encoded = try WireEncoder().encode(message) } catch {
            preconditionFailure("\(M.protoName) decoded but does not encode: \(error)")
        }
        let again: M
        do { again = try decoder.decode(M.self, from: encoded) } catch {
            preconditionFailure("\(M.protoName) encoded by us does not decode: \(error)")
        }
        precondition(again == message, "\(M.protoName) changed in a round trip: \(message) became \(again)")
    }
}

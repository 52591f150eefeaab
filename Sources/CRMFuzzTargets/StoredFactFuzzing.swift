import CRMDomain
import CRMStore

/// The codec of stored facts, as read back from a damaged or hostile database file: bytes decode to a payload or
/// are refused with a `FactDecodingError`; a payload that decodes encodes, and decodes again to itself.
enum StoredFactFuzzing {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let payload = try? FactCodec.decodePayload(bytes) else { return }
        let encoded: [UInt8]
        do { encoded = try FactCodec.encode(payload) } catch {
            preconditionFailure("a stored payload decodes but does not encode again: \(error)")
        }
        let again: FactPayload
        do { again = try encoded.withUnsafeBytes { bytes throws(FactDecodingError) in try FactCodec.decodePayload(bytes) } } catch {
            preconditionFailure("a payload encoded by the codec does not decode: \(error)")
        }
        precondition(again == payload, "a stored fact changed in a round trip: \(payload) became \(again)")
    }
}

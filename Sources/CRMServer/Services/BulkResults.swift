import CRMRPC
import CRMWire

/// The per-item results of a client-streaming bulk call (`PushInteractions`, `ImportOrders`), collected while its
/// stream is consumed chunk by chunk.
///
/// The single response carries one result per item, so what a stream may carry is bounded by what one response can
/// hold: the results' encoded size stays under the message limit (4 MiB, less room for the counts) and their number
/// under the decoder's repeated-field limit (100,000). The item that would pass either ends the call with
/// RESOURCE_EXHAUSTED, saying how many items were taken; every chunk appended before it stays stored, so the sender
/// resends the rest (or everything: stored items answer DUPLICATE) in a new stream. The server so holds at most one
/// response's worth of results per stream, however long the stream is kept open.
struct BulkResults<Result: WireMessage>: Sendable {
    /// The most encoded bytes of results one response may carry: the message limit, less room for the counts.
    let maximumBytes: Int
    /// The most results one response may carry: the decoder's repeated-field limit.
    let maximumCount: Int

    private var results: [(position: Int, result: Result)] = []
    private var bytes = 0

    /// Results bounded by `limits` (the protocol's defaults unless a test says otherwise).
    init(limits: WireLimits = .default) {
        maximumBytes = limits.maxMessageSize - 64 * 1024
        maximumCount = limits.maxRepeatedCount
    }

    /// Adds the result of the item at `position` in the stream; `items` is how many items the stream has carried so
    /// far (for the error's message).
    mutating func add(_ result: Result, at position: Int, items: Int) throws {
        // A repeated field's element costs its tag, its length and itself.
        let size = (try? result.wireBytes().count) ?? 0
        bytes += size + 1 + (size < 128 ? 1 : size < 16_384 ? 2 : 3)
        guard bytes <= maximumBytes && results.count < maximumCount else {
            throw RPCStatus(
                code: .resourceExhausted,
                message: "this stream carried more items (\(items)) than one response can report (at most \(maximumCount) results in \(maximumBytes) bytes); "
                    + "the items appended so far are stored and answer DUPLICATE when sent again: send the rest, or everything again, in a new stream")
        }
        results.append((position, result))
    }

    /// The results in stream order.
    var inStreamOrder: [Result] { results.sorted { $0.position < $1.position }.map(\.result) }
}

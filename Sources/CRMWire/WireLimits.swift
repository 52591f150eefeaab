/// Bounds on what a decoder accepts, so that no peer can make it use unbounded memory or stack.
///
/// protobuf-c itself checks none of these; `WireDecoder` does, before or after protobuf-c
/// unpacks, and says which one a message broke.
public struct WireLimits: Sendable, Hashable {
    /// The largest encoded message, in bytes. Like gRPC, 4 MiB by default.
    public var maxMessageSize: Int

    /// The deepest nesting of messages, counting the outermost as 1. 64 by default.
    public var maxNestingDepth: Int

    /// The most elements one repeated field of one message may hold. 100,000 by default:
    /// bulk data travels as a stream of messages, not one huge message.
    public var maxRepeatedCount: Int

    /// The most memory protobuf-c may take to unpack one message, in bytes. 64 MiB by
    /// default. A small message of many empty sub-messages can unpack to a hundred times
    /// its size; this bounds that.
    public var maxDecodeMemory: Int

    /// Limits with the given values; each one not given keeps its default.
    public init(
        maxMessageSize: Int = 4 << 20,
        maxNestingDepth: Int = 64,
        maxRepeatedCount: Int = 100_000,
        maxDecodeMemory: Int = 64 << 20
    ) {
        self.maxMessageSize = maxMessageSize
        self.maxNestingDepth = maxNestingDepth
        self.maxRepeatedCount = maxRepeatedCount
        self.maxDecodeMemory = maxDecodeMemory
    }

    /// The defaults: 4 MiB messages, depth 64, 100,000 elements, 64 MiB to unpack.
    public static let `default` = WireLimits()
}

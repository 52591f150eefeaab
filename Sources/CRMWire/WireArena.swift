#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CProtobufC

/// A bump allocator for the C structs of one message, freed all at once.
///
/// protobuf-c calls `malloc` for every string, array and sub-message it unpacks, and
/// `free` for each again. Building and unpacking into an arena instead costs one pointer
/// bump per allocation and one `reset()` per message. Each allocation is preceded by an
/// 8-byte header holding its size, which lets the decoder learn a string's length without
/// `strlen` (and so notice a NUL byte inside it), and the arena can stop at a budget so
/// that no message unpacks to unbounded memory.
public final class WireArena {
    private struct Chunk {
        let base: UnsafeMutableRawPointer
        let size: Int
    }

    private static let headerSize = 8
    private static let alignment = 8

    private var chunks: [Chunk] = []
    private var cursor: UnsafeMutableRawPointer
    private var end: UnsafeMutableRawPointer
    private let minimumChunkSize: Int

    /// Bytes handed out since the last reset, headers included.
    public private(set) var bytesAllocated = 0
    /// Allocations beyond this many bytes fail (return nil), as if memory ran out.
    public var budget: Int = .max
    /// Whether an allocation failed because of `budget` since the last reset.
    public private(set) var budgetExceeded = false

    /// An arena whose first chunk holds `initialCapacity` bytes.
    public init(initialCapacity: Int = 4096) {
        minimumChunkSize = max(256, initialCapacity)
        let base = UnsafeMutableRawPointer.allocate(byteCount: minimumChunkSize, alignment: Self.alignment)
        chunks = [Chunk(base: base, size: minimumChunkSize)]
        cursor = base
        end = base + minimumChunkSize
    }

    deinit {
        for chunk in chunks { chunk.base.deallocate() }
    }

    /// Forgets every allocation; keeps the largest chunk for the next message.
    public func reset(budget: Int = .max) {
        if chunks.count > 1 {
            let keep = chunks.max { $0.size < $1.size }!
            for chunk in chunks where chunk.base != keep.base { chunk.base.deallocate() }
            chunks = [keep]
        }
        cursor = chunks[0].base
        end = chunks[0].base + chunks[0].size
        bytesAllocated = 0
        self.budget = budget
        budgetExceeded = false
    }

    /// `byteCount` bytes aligned to 8, or nil when the budget would be exceeded.
    @inlinable
    public func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
        allocateRaw(byteCount: byteCount)
    }

    @usableFromInline
    func allocateRaw(byteCount: Int, bounded: Bool = true) -> UnsafeMutableRawPointer? {
        let need = Self.headerSize + ((byteCount + Self.alignment - 1) & ~(Self.alignment - 1))
        if bounded && bytesAllocated + need > budget {
            budgetExceeded = true
            return nil
        }
        if end - cursor < need { grow(atLeast: need) }
        let header = cursor
        header.storeBytes(of: byteCount, as: Int.self)
        cursor += need
        bytesAllocated += need
        return header + Self.headerSize
    }

    /// Room for `count` values of `T`, uninitialized; for building C structs, where running
    /// out is not a decoding failure, so the budget does not apply.
    @inlinable
    public func allocate<T>(_ type: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        let raw = allocateRaw(byteCount: MemoryLayout<T>.stride * count, bounded: false)!
        return raw.bindMemory(to: T.self, capacity: count)
    }

    private func grow(atLeast need: Int) {
        let last = chunks.last?.size ?? minimumChunkSize
        let size = max(need, min(last * 2, 1 << 20), minimumChunkSize)
        let base = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Self.alignment)
        chunks.append(Chunk(base: base, size: size))
        cursor = base
        end = base + size
    }

    /// The size requested for the allocation that starts at `pointer`, or nil when the
    /// pointer did not come from this arena.
    @usableFromInline
    func allocationSize(of pointer: UnsafeRawPointer) -> Int? {
        for chunk in chunks.reversed() {
            let base = UnsafeRawPointer(chunk.base)
            if pointer >= base + Self.headerSize && pointer < base + chunk.size {
                return (pointer - Self.headerSize).load(as: Int.self)
            }
        }
        return nil
    }

    /// A protobuf-c allocator that takes memory from this arena and frees nothing.
    /// Valid while the arena lives.
    public var protobufCAllocator: ProtobufCAllocator {
        ProtobufCAllocator(
            alloc: { data, size in
                Unmanaged<WireArena>.fromOpaque(data!).takeUnretainedValue().allocateRaw(byteCount: size)
            },
            free: { _, _ in },
            allocator_data: Unmanaged.passUnretained(self).toOpaque()
        )
    }
}

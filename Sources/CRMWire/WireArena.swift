#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import CProtobufC

/// A bump allocator for the C structs of one message, freed all at once.
///
/// protobuf-c calls `malloc` for every string, array and sub-message it unpacks, and
/// `free` for each again. Building and unpacking into an arena instead costs one pointer
/// bump per allocation and one `reset()` per message. Each allocation is preceded by an
/// 8-byte header holding its size, which lets the decoder learn a string's length without
/// `strlen` (and so notice a NUL byte inside it), and the arena can stop at a budget so
/// that no message unpacks to unbounded memory.
public final class WireArena {
    @usableFromInline
    struct Chunk {
        let base: UnsafeMutableRawPointer
        let size: Int
    }

    /// The bump state lives behind a pointer rather than in stored properties: the
    /// allocator runs once per string and array, and class properties would pay for a
    /// dynamic exclusivity check on every access.
    @usableFromInline
    struct State {
        @usableFromInline var cursor: UnsafeMutableRawPointer
        @usableFromInline var end: UnsafeMutableRawPointer
        @usableFromInline var bytesAllocated: Int
        @usableFromInline var budget: Int
        @usableFromInline var budgetExceeded: Bool
    }

    @usableFromInline static let headerSize = 8
    @usableFromInline static let alignment = 8

    @usableFromInline let state: UnsafeMutablePointer<State>
    // Read for every decoded string; never accessed re-entrantly.
    @exclusivity(unchecked) private var chunks: [Chunk] = []
    private let minimumChunkSize: Int

    /// Bytes handed out since the last reset, headers included.
    public var bytesAllocated: Int { state.pointee.bytesAllocated }
    /// Whether an allocation failed because of the budget since the last reset.
    public var budgetExceeded: Bool { state.pointee.budgetExceeded }

    /// An arena whose first chunk holds `initialCapacity` bytes.
    public init(initialCapacity: Int = 4096) {
        minimumChunkSize = max(256, initialCapacity)
        let base = UnsafeMutableRawPointer.allocate(byteCount: minimumChunkSize, alignment: Self.alignment)
        chunks = [Chunk(base: base, size: minimumChunkSize)]
        state = .allocate(capacity: 1)
        state.initialize(to: State(cursor: base, end: base + minimumChunkSize, bytesAllocated: 0, budget: .max, budgetExceeded: false))
    }

    deinit {
        for chunk in chunks { chunk.base.deallocate() }
        state.deallocate()
    }

    /// Forgets every allocation and sets the budget for the next message; keeps the
    /// largest chunk.
    public func reset(budget: Int = .max) {
        if chunks.count > 1 {
            var largest = 0
            for i in chunks.indices where chunks[i].size > chunks[largest].size { largest = i }
            let keep = chunks[largest]
            for chunk in chunks where chunk.base != keep.base { chunk.base.deallocate() }
            chunks = [keep]
        }
        state.pointee = State(
            cursor: chunks[0].base, end: chunks[0].base + chunks[0].size, bytesAllocated: 0, budget: budget,
            budgetExceeded: false)
    }

    /// `byteCount` bytes aligned to 8, or nil when the budget would be exceeded.
    @inlinable
    public func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
        allocateRaw(byteCount: byteCount, bounded: true)
    }

    /// Room for `count` values of `T`, uninitialized. For building C structs to encode,
    /// where the budget (a defence against hostile input) does not apply.
    @inlinable
    public func allocate<T>(_ type: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        let raw = allocateRaw(byteCount: MemoryLayout<T>.stride * count, bounded: false)!
        return raw.bindMemory(to: T.self, capacity: count)
    }

    @inlinable @inline(__always)
    func allocateRaw(byteCount: Int, bounded: Bool) -> UnsafeMutableRawPointer? {
        let need = Self.headerSize + ((byteCount + Self.alignment - 1) & ~(Self.alignment - 1))
        if bounded && state.pointee.bytesAllocated + need > state.pointee.budget {
            state.pointee.budgetExceeded = true
            return nil
        }
        if state.pointee.end - state.pointee.cursor < need { grow(atLeast: need) }
        let header = state.pointee.cursor
        header.storeBytes(of: byteCount, as: Int.self)
        state.pointee.cursor = header + need
        state.pointee.bytesAllocated += need
        return header + Self.headerSize
    }

    @usableFromInline
    func grow(atLeast need: Int) {
        let last = chunks.last?.size ?? minimumChunkSize
        let size = max(need, min(last * 2, 1 << 20), minimumChunkSize)
        let base = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Self.alignment)
        chunks.append(Chunk(base: base, size: size))
        state.pointee.cursor = base
        state.pointee.end = base + size
    }

    /// The size requested for the allocation that starts at `pointer`, or nil when the
    /// pointer did not come from this arena.
    @usableFromInline
    func allocationSize(of pointer: UnsafeRawPointer) -> Int? {
        // Usually everything fits in the one chunk a reset keeps: try the last one first.
        if let last = chunks.last, pointer >= UnsafeRawPointer(last.base) + Self.headerSize,
            pointer < UnsafeRawPointer(state.pointee.cursor)
        {
            return (pointer - Self.headerSize).load(as: Int.self)
        }
        var i = chunks.count - 2
        while i >= 0 {
            let base = UnsafeRawPointer(chunks[i].base)
            if pointer >= base + Self.headerSize && pointer < base + chunks[i].size {
                return (pointer - Self.headerSize).load(as: Int.self)
            }
            i -= 1
        }
        return nil
    }

    /// A protobuf-c allocator that takes memory from this arena, within its budget, and
    /// frees nothing. Valid while the arena lives.
    public var protobufCAllocator: ProtobufCAllocator {
        ProtobufCAllocator(
            alloc: { data, size in
                Unmanaged<WireArena>.fromOpaque(data!)._withUnsafeGuaranteedRef {
                    $0.allocateRaw(byteCount: size, bounded: true)
                }
            },
            free: { _, _ in },
            allocator_data: Unmanaged.passUnretained(self).toOpaque()
        )
    }
}

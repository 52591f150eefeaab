import NIOCore

/// Plaintext writes not yet given to OpenSSL, in order, and how many of them have been flushed.
///
/// Writes wait here while the handshake runs; a flush marks everything written so far as due, and
/// only due writes are encrypted, so that NIO's write/flush semantics hold across the TLS layer.
struct PendingWrites {
    struct Write {
        var data: ByteBuffer
        var promise: EventLoopPromise<Void>?
    }

    private var writes = CircularBuffer<Write>(initialCapacity: 4)
    /// The first `flushedCount` writes have been flushed by the user.
    private var flushedCount = 0

    /// Whether a flushed write is waiting.
    var hasFlushed: Bool { flushedCount > 0 }

    mutating func append(_ data: ByteBuffer, promise: EventLoopPromise<Void>?) {
        writes.append(Write(data: data, promise: promise))
    }

    /// Marks every write so far as flushed.
    mutating func markFlushed() {
        flushedCount = writes.count
    }

    /// Removes and returns the oldest flushed write.
    mutating func popFlushed() -> Write? {
        guard flushedCount > 0 else { return nil }
        flushedCount -= 1
        return writes.removeFirst()
    }

    /// Puts back a flushed write that could not be finished, at the front.
    mutating func pushBackFlushed(_ write: Write) {
        writes.prepend(write)
        flushedCount += 1
    }

    /// Drops every write not yet flushed, failing its promise.
    mutating func failUnflushed(_ error: any Error) {
        while writes.count > flushedCount {
            writes.removeLast().promise?.fail(error)
        }
    }

    /// Drops every write, failing its promise.
    mutating func failAll(_ error: any Error) {
        flushedCount = 0
        while let write = writes.popFirst() {
            write.promise?.fail(error)
        }
    }
}

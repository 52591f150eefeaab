/// The credit a sender may still spend on one stream or on the connection, in MESSAGE payload
/// bytes (docs/PROTOCOL.md, section 12).
struct SendWindow: Sendable, Hashable {
    /// Bytes that may be sent before the next WINDOW_UPDATE.
    private(set) var available: Int

    init(initial: Int) {
        available = initial
    }

    /// Whether a message of `size` bytes may be sent now. An empty message always may.
    func permits(_ size: Int) -> Bool {
        size <= available
    }

    /// Spends `size` bytes; the caller checked `permits(size)`.
    mutating func spend(_ size: Int) {
        available -= size
    }

    /// Adds a WINDOW_UPDATE's increment; false when the window would exceed 2^31 - 1 (a
    /// FLOW_CONTROL_ERROR).
    mutating func grant(_ increment: UInt32) -> Bool {
        let grown = available + Int(increment)
        guard grown <= Int(Int32.max) else { return false }
        available = grown
        return true
    }
}

/// A receiver's exact view of one window: what the sender may still send, what is buffered,
/// and what has been consumed but not yet returned (section 12, rules 3 and 5).
struct ReceiveWindow: Sendable, Hashable {
    /// The window's initial size, as this side announced it.
    let initial: Int
    /// The largest message this side accepts: `min(MAX_MESSAGE_SIZE, MAX_FRAME_SIZE)`.
    let largestMessage: Int
    /// What the sender may still send before it needs a WINDOW_UPDATE.
    private(set) var senderRemaining: Int
    /// Received and not yet consumed by the application.
    private(set) var buffered = 0
    /// Consumed and not yet returned with a WINDOW_UPDATE.
    private(set) var unreturned = 0

    init(initial: Int, largestMessage: Int) {
        self.initial = initial
        self.largestMessage = largestMessage
        senderRemaining = initial
    }

    /// Accounts a received MESSAGE of `size` bytes; false when it is larger than what remains
    /// (a FLOW_CONTROL_ERROR).
    mutating func receive(_ size: Int) -> Bool {
        guard size <= senderRemaining else { return false }
        senderRemaining -= size
        buffered += size
        return true
    }

    /// Accounts `size` bytes taken out of the buffers; returns the increment of the WINDOW_UPDATE
    /// that must be sent now, if the rules call for one.
    mutating func consume(_ size: Int) -> UInt32? {
        let size = min(size, buffered)
        buffered -= size
        unreturned += size
        guard unreturned > 0 else { return nil }
        let due = unreturned >= initial / 2 || (buffered == 0 && senderRemaining < largestMessage)
        guard due else { return nil }
        return returnCredit()
    }

    /// Everything still buffered counts as consumed (the stream closed and its buffer was
    /// dropped); returns the bytes to return on the connection window.
    mutating func dropBuffered() -> Int {
        let dropped = buffered
        buffered = 0
        return dropped
    }

    private mutating func returnCredit() -> UInt32 {
        let increment = unreturned
        unreturned = 0
        senderRemaining += increment
        return UInt32(clamping: increment)
    }
}

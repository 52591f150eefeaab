import NIOCore

/// The one scheduled task a connection handler keeps for `ConnectionCore`'s timers, armed for the core's next
/// deadline. A task that fires before anything is due (the deadline moved later since it was armed) finds nothing
/// expired and arms again, so moving a deadline later costs nothing.
struct ConnectionTimer {
    private var scheduled: Scheduled<Void>?
    private var deadline: NIODeadline?

    /// Arms for `next`, unless a task already fires at or before it.
    mutating func arm(for next: NIODeadline?, on eventLoop: any EventLoop, fire: @escaping () -> Void) {
        guard let next else { return }
        if let deadline, deadline <= next { return }
        scheduled?.cancel()
        deadline = next
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: next, fire)
    }

    /// The task ran.
    mutating func fired() {
        scheduled = nil
        deadline = nil
    }

    mutating func cancel() {
        scheduled?.cancel()
        fired()
    }
}

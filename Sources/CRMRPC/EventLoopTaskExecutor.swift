public import NIOCore

/// A `TaskExecutor` that runs jobs on one NIO event loop.
///
/// A task that prefers it (`Task(executorPreference:)`, `withTaskExecutorPreference`) runs on the
/// event loop's thread, so its work with a connection on that loop needs no thread hop: the server
/// runs handlers registered with `runsOnEventLoop` on it, and a client's callers may run on
/// ``RPCClient/executor``. Only for code that never blocks: while a job runs, the loop serves no I/O.
public final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    /// The loop the jobs run on.
    public let eventLoop: any EventLoop

    /// An executor for `eventLoop`.
    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

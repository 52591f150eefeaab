public import Logging
public import ServiceLifecycle

/// One periodic background job of the server, such as sending proactive delay notices for
/// overdue orders or flagging complaints past their service level. The services provide them;
/// the ``Sweeper`` runs them.
public struct SweepTask: Sendable {
    /// A short name for logs: `overdue-orders`.
    public var name: String
    /// The time between the end of one run and the start of the next.
    public var interval: Duration
    /// One run. Errors are logged and the task runs again after `interval`.
    public var run: @Sendable () async throws -> Void

    public init(name: String, interval: Duration, run: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.run = run
    }
}

/// Runs each ``SweepTask`` every `interval` until cancelled or, as a ServiceLifecycle `Service` in a group, until the
/// group's graceful shutdown; a run in progress finishes first unless it honours cancellation.
public struct Sweeper: Service, Sendable {
    /// The tasks.
    public let tasks: [SweepTask]
    private let logger: Logger

    public init(tasks: [SweepTask], logger: Logger) {
        self.tasks = tasks
        self.logger = logger
    }

    /// Runs the tasks until the calling task is cancelled or a graceful shutdown begins.
    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for task in tasks {
                    group.addTask { await loop(task) }
                }
            }
        }
    }

    private func loop(_ task: SweepTask) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: task.interval)
            } catch {
                return
            }
            let start = ContinuousClock.now
            do {
                try await task.run()
                logger.debug("sweep done", metadata: ["sweep": "\(task.name)", "duration": "\(ContinuousClock.now - start)"])
            } catch is CancellationError {
                return
            } catch {
                logger.error("sweep failed; it runs again later", metadata: ["sweep": "\(task.name)", "error": "\(error)"])
            }
        }
    }
}

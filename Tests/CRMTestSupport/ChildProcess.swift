public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// glibc (2.34 and 2.29) declares these only with _GNU_SOURCE, which Swift's Glibc module does not set.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnActionsCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func spawnActionsChangeDirectory(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> Int32

/// A child process started with `posix_spawn`, with the part of Foundation's `Process` API the tests use.
///
/// Foundation's `Process.run()` on Linux lists `/proc/self/fd` and copies each directory entry whole, reading past
/// the end of glibc's buffer: with many descriptors open (the suite holds a thousand connections at times) it crashes
/// the test process with SIGSEGV now and then (swift-corelibs-foundation pull request 5472, not in this toolchain).
/// This spawner closes the child's other descriptors with `posix_spawn_file_actions_addclosefrom_np` instead.
public final class ChildProcess: @unchecked Sendable {
    /// Why the process ended.
    public enum TerminationReason: Sendable { case exit, uncaughtSignal }

    public var executableURL: URL?
    public var arguments: [String] = []
    /// The environment; `nil` for this process's own.
    public var environment: [String: String]?
    public var currentDirectoryURL: URL?
    /// A `Pipe` or a `FileHandle`; `nil` for this process's own.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?

    private let state = Mutex<(pid: pid_t, status: Int32?)>((0, nil))

    public init() {}

    public var processIdentifier: Int32 { state.withLock { $0.pid } }

    /// Spawns the process; throws with the `posix_spawn` error when it cannot.
    public func run() throws {
        guard let executable = executableURL?.path else { throw SpawnError(message: "no executable set") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentCloses: [FileHandle] = []
        for (target, descriptor) in [(standardInput, Int32(0)), (standardOutput, 1), (standardError, 2)] {
            switch target {
            case let pipe as Pipe:
                let end = descriptor == 0 ? pipe.fileHandleForReading : pipe.fileHandleForWriting
                posix_spawn_file_actions_adddup2(&actions, end.fileDescriptor, descriptor)
                parentCloses.append(end)
            case let handle as FileHandle:
                posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, descriptor)
            default:
                break
            }
        }
        _ = spawnActionsCloseFrom(&actions, 3)
        if let directory = currentDirectoryURL?.path { _ = spawnActionsChangeDirectory(&actions, directory) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with no signal blocked and every signal at its default (the test process ignores SIGPIPE).
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let environment = (self.environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let error = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard error == 0 else { throw SpawnError(message: "cannot start \(executable): \(String(cString: strerror(error)))") }
        state.withLock { $0.pid = pid }
        // The child has its ends now; the parent's copies would keep the pipes open after the child exits.
        for end in parentCloses { try? end.close() }
    }

    /// Whether the process has not ended yet.
    public var isRunning: Bool {
        state.withLock { state in
            guard state.status == nil, state.pid != 0 else { return false }
            var status: Int32 = 0
            if waitpid(state.pid, &status, WNOHANG) == state.pid {
                state.status = status
                return false
            }
            return true
        }
    }

    /// Blocks until the process has ended.
    public func waitUntilExit() {
        let pid = state.withLock { $0.status == nil ? $0.pid : 0 }
        guard pid != 0 else { return }
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, 0)
            if result == pid {
                state.withLock { $0.status = $0.status ?? status }
                return
            }
            if result == -1 && errno == EINTR { continue }
            // Reaped by `isRunning` on another thread: wait for it to record the status.
            while state.withLock({ $0.status == nil }) { usleep(1_000) }
            return
        }
    }

    /// The exit status, or the signal that ended the process.
    public var terminationStatus: Int32 {
        let status = state.withLock { $0.status } ?? 0
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    public var terminationReason: TerminationReason {
        let status = state.withLock { $0.status } ?? 0
        return status & 0x7f == 0 ? .exit : .uncaughtSignal
    }

    /// Sends SIGINT.
    public func interrupt() { signal(SIGINT) }

    /// Sends SIGTERM.
    public func terminate() { signal(SIGTERM) }

    private func signal(_ number: Int32) {
        let pid = state.withLock { $0.status == nil ? $0.pid : 0 }
        if pid != 0 { kill(pid, number) }
    }

    struct SpawnError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

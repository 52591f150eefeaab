import CRMTestSupport

/// Child processes are started with posix_spawn, not Foundation's `Process` (see ``ChildProcess``).
typealias Process = ChildProcess

#if canImport(Glibc)
import Glibc
#endif

/// Keeps what glibc's allocator holds after frees from piling up in crmd.
///
/// Under steady mixed load crmd's live heap grows slowly (12.4 to 14.3 MB in use over nine minutes of the soak in
/// docs/RELIABILITY.md), but glibc kept freed blocks in up to 16 arenas (8 per core), fragmented, and the resident
/// heap grew twice as fast as what was in use (18 to 36 MiB in the same span). crmd therefore caps the arenas at two
/// (``limitArenas(to:)``, unless the operator set `MALLOC_ARENA_MAX`) and trims them every 30 s
/// (``releasePeriodically(every:)``, on a background task, so no call waits for it).
package enum FreedMemory {
    /// Trims the allocator every `interval` until the task is cancelled. Does nothing where the C library has no
    /// `malloc_trim` (it is glibc's).
    static func releasePeriodically(every interval: Duration = .seconds(30)) async {
        guard let trim = mallocTrim else { return }
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            _ = trim(0)
        }
    }

    /// Caps glibc's arenas at `count` for the rest of the process (`mallopt(M_ARENA_MAX, count)`), unless
    /// `MALLOC_ARENA_MAX` is set in the environment, which glibc reads itself. Call it before the threads start.
    package static func limitArenas(to count: Int32 = 2) {
        #if canImport(Glibc)
        guard getenv("MALLOC_ARENA_MAX") == nil, let symbol = dlsym(nil, "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        let arenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
        _ = mallopt(arenaMax, count)
        #endif
    }

    /// glibc's `malloc_trim`, looked up at run time: `<malloc.h>` is not part of the C library module Swift imports.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()
}

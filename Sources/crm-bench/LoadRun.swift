// The load loop and its report, shared word for word by `crm-bench` and the grpc-swift-2 peer
// (Benchmarks/grpc-peer links this file), so that both count and time calls the same way.
// Only the standard library, Glibc and HdrHistogram: nothing of either RPC runtime.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Histogram

/// Nanoseconds on the monotonic clock.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// N connections with M calls in flight each, for T seconds after a warm-up.
struct LoadShape: Sendable {
    var connections: Int
    var inFlight: Int
    var warmupSeconds: Double
    var seconds: Double

    var description: String { "\(connections) conn × \(inFlight) in flight" }
}

/// What one run measured.
struct LoadResult: Sendable {
    var label: String
    var shape: LoadShape
    /// Calls that started after the warm-up and completed inside the measured window.
    var calls: Int
    /// Messages those calls received (1 per unary call; the stream length for streams).
    var messages: Int
    var errors: Int
    var firstError: String?
    var timedOut: Bool
    /// Latency of those calls, in nanoseconds.
    var histogram: Histogram<UInt64>
    /// CPU seconds the server process and this process spent in the measured window (nil: unknown).
    var serverCPUSeconds: Double?
    var clientCPUSeconds: Double?

    var callsPerSecond: Double { Double(calls) / shape.seconds }
    var messagesPerSecond: Double { Double(messages) / shape.seconds }

    func microseconds(atPercentile percentile: Double) -> Double {
        guard histogram.totalCount > 0 else { return .nan }
        return Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    /// CPU microseconds per call of a process.
    func cpuMicrosecondsPerCall(_ seconds: Double?) -> Double? {
        guard let seconds, calls > 0 else { return nil }
        return seconds * 1e6 / Double(calls)
    }

    /// A human-readable block.
    var text: String {
        var lines = [
            "\(label): \(shape.description), \(formatted(shape.seconds, 1)) s after \(formatted(shape.warmupSeconds, 1)) s warm-up",
            "  calls/s   \(formatted(callsPerSecond, 0))   (\(calls) calls, \(messages) messages, \(errors) errors\(timedOut ? ", TIMED OUT" : ""))",
            "  latency   p50 \(formatted(microseconds(atPercentile: 50), 1)) µs   p99 \(formatted(microseconds(atPercentile: 99), 1)) µs   p99.9 \(formatted(microseconds(atPercentile: 99.9), 1)) µs   max \(formatted(Double(histogram.max) / 1000, 1)) µs",
        ]
        if messages != calls {
            lines.append("  messages/s \(formatted(messagesPerSecond, 0))")
        }
        if let server = cpuMicrosecondsPerCall(serverCPUSeconds) {
            lines.append("  CPU/call  server \(formatted(server, 1)) µs" + (cpuMicrosecondsPerCall(clientCPUSeconds).map { ", client \(formatted($0, 1)) µs" } ?? ""))
        } else if let client = cpuMicrosecondsPerCall(clientCPUSeconds) {
            lines.append("  CPU/call  client+server \(formatted(client, 1)) µs (one process)")
        }
        if let firstError { lines.append("  first error: \(firstError)") }
        return lines.joined(separator: "\n")
    }

    /// One line of JSON, prefixed with `RESULT `, for tools/bench-rpc.
    var jsonLine: String {
        func number(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "null" }
            return formatted(value, 3)
        }
        let fields: [(String, String)] = [
            ("label", "\"\(label)\""),
            ("connections", "\(shape.connections)"),
            ("in_flight", "\(shape.inFlight)"),
            ("seconds", number(shape.seconds)),
            ("calls", "\(calls)"),
            ("messages", "\(messages)"),
            ("errors", "\(errors)"),
            ("timed_out", timedOut ? "true" : "false"),
            ("calls_per_s", number(callsPerSecond)),
            ("messages_per_s", number(messagesPerSecond)),
            ("p50_us", number(microseconds(atPercentile: 50))),
            ("p90_us", number(microseconds(atPercentile: 90))),
            ("p99_us", number(microseconds(atPercentile: 99))),
            ("p999_us", number(microseconds(atPercentile: 99.9))),
            ("max_us", number(Double(histogram.max) / 1000)),
            ("server_cpu_us_per_call", number(cpuMicrosecondsPerCall(serverCPUSeconds))),
            ("client_cpu_us_per_call", number(cpuMicrosecondsPerCall(clientCPUSeconds))),
        ]
        return "RESULT {" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }
}

/// Formats with a fixed number of decimals, without Foundation.
func formatted(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return "n/a" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = String(Int64(rounded))
    if rounded < 0 && Int64(rounded) == 0 { text = "-0" }
    guard decimals > 0 else { return text }
    let fraction = Int64((abs(rounded) * scale).rounded()) % Int64(scale)
    var digits = String(fraction)
    while digits.count < decimals { digits = "0" + digits }
    return text + "." + digits
}

/// Calls made by one slot (one call in flight at a time).
private struct SlotResult: Sendable {
    var histogram: Histogram<UInt64>
    var calls = 0
    var messages = 0
    var errors = 0
    var firstError: String?
}

/// A fresh latency histogram: 1 ns to 100 s, 3 significant digits.
func makeLatencyHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 100_000_000_000, numberOfSignificantValueDigits: .three)
}

/// Runs `shape.inFlight` concurrent loops per client, each making one call after another with
/// `call`, which returns how many messages the call received. Every loop stops at the end of
/// the window; a loop whose call hangs is cancelled 30 s after it.
///
/// - Parameters:
///   - cpuSample: read at the start and the end of the measured window: (server CPU s, client CPU s).
func runLoad<Client: Sendable>(
    label: String, clients: [Client], shape: LoadShape,
    cpuSample: @escaping @Sendable () -> (server: Double?, client: Double?) = { (nil, nil) },
    executor: @escaping @Sendable (Client) -> (any TaskExecutor)? = { _ in nil },
    call: @escaping @Sendable (Client) async throws -> Int
) async -> LoadResult {
    let start = monotonicNanoseconds()
    let measureStart = start + UInt64(shape.warmupSeconds * 1e9)
    let measureEnd = measureStart + UInt64(shape.seconds * 1e9)
    let giveUp = measureEnd + 30_000_000_000
    let slots = clients.count * shape.inFlight

    let cpuAtStart = Task { () -> (server: Double?, client: Double?) in
        let now = monotonicNanoseconds()
        if now < measureStart { try? await Task.sleep(nanoseconds: measureStart - now) }
        return cpuSample()
    }

    var total = SlotResult(histogram: makeLatencyHistogram())
    var timedOut = false
    await withTaskGroup(of: SlotResult?.self) { group in
        for client in clients {
            for _ in 0..<shape.inFlight {
                group.addTask(executorPreference: executor(client)) {
                    var result = SlotResult(histogram: makeLatencyHistogram())
                    while !Task.isCancelled {
                        let begin = monotonicNanoseconds()
                        do {
                            let messages = try await call(client)
                            let end = monotonicNanoseconds()
                            if begin >= measureStart && end <= measureEnd {
                                result.histogram.record(end - begin)
                                result.calls += 1
                                result.messages += messages
                            }
                            if end >= measureEnd { break }
                        } catch {
                            let end = monotonicNanoseconds()
                            if begin >= measureStart && end <= measureEnd { result.errors += 1 }
                            if result.firstError == nil { result.firstError = "\(error)" }
                            if end >= measureEnd || result.errors > 1000 { break }
                            // Do not spin on a dead server.
                            try? await Task.sleep(nanoseconds: 1_000_000)
                        }
                    }
                    return result
                }
            }
        }
        group.addTask {
            let now = monotonicNanoseconds()
            if now < giveUp { try? await Task.sleep(nanoseconds: giveUp - now) }
            return nil
        }
        var remaining = slots
        for await slot in group {
            guard let slot else {
                if remaining > 0 {
                    timedOut = true
                    group.cancelAll()
                }
                continue
            }
            total.histogram.add(slot.histogram)
            total.calls += slot.calls
            total.messages += slot.messages
            total.errors += slot.errors
            if total.firstError == nil { total.firstError = slot.firstError }
            remaining -= 1
            if remaining == 0 { group.cancelAll() }
        }
    }
    let cpuAtEnd = cpuSample()
    let startCPU = await cpuAtStart.value
    // The window's CPU: the end sample is taken when the last call returned, shortly after the window.
    let elapsedAfterStart = Double(monotonicNanoseconds() - measureStart) / 1e9
    let scale = elapsedAfterStart > 0 ? shape.seconds / elapsedAfterStart : 1
    func delta(_ a: Double?, _ b: Double?) -> Double? {
        guard let a, let b else { return nil }
        return (b - a) * scale
    }
    return LoadResult(
        label: label, shape: shape, calls: total.calls, messages: total.messages, errors: total.errors,
        firstError: total.firstError, timedOut: timedOut, histogram: total.histogram,
        serverCPUSeconds: delta(startCPU.server, cpuAtEnd.server),
        clientCPUSeconds: delta(startCPU.client, cpuAtEnd.client))
}

// MARK: Processes: CPU, memory, file descriptors

/// CPU seconds (user + system) this process has used.
func ownCPUSeconds() -> Double {
    var used = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used)
    return Double(used.tv_sec) + Double(used.tv_nsec) / 1e9
}

/// Reads a whole small file (from /proc) as text, or nil.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
        if count <= 0 { break }
        bytes.append(contentsOf: buffer[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// CPU seconds (user + system) process `pid` has used, from /proc/PID/stat.
func processCPUSeconds(pid: Int32) -> Double? {
    guard let stat = readSmallFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
    // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The resident set size of process `pid` ("self" for this one) in KiB, from /proc/PID/status.
func residentKiB(pid: String = "self") -> Int? {
    statusKiB(pid: pid, field: "VmRSS")
}

/// A size field of /proc/PID/status in KiB: `VmRSS`, `RssAnon` (heap and stacks), `RssFile` (mapped files).
func statusKiB(pid: String, field: String) -> Int? {
    guard let status = readSmallFile("/proc/\(pid)/status") else { return nil }
    let prefix = field + ":"
    for line in status.split(separator: "\n") where line.hasPrefix(prefix) {
        return Int(line.dropFirst(prefix.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
    }
    return nil
}

/// Raises the soft limit on open files to `wanted` (at most the hard limit); returns the new soft limit.
@discardableResult
func raiseOpenFileLimit(to wanted: Int) -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    let target = min(rlim_t(wanted), limit.rlim_max)
    if limit.rlim_cur < target {
        limit.rlim_cur = target
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(limit.rlim_cur)
}

/// The hard limit on open files.
func hardOpenFileLimit() -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    return Int(limit.rlim_max)
}

/// A printable ASCII payload of `size` bytes (no NUL: protobuf-c strings are C strings).
func benchPayload(size: Int, prefix: String = "") -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    var text = prefix
    var index = 0
    while text.utf8.count < size {
        text.append(alphabet[index % alphabet.count])
        index += 1
    }
    return text
}

import Foundation
import Synchronization

/// Writes whole lines to standard output at once, unbuffered, from any task: a reader (the kill test) sees a line as
/// soon as it is written and never half of one.
final class LineWriter: Sendable {
    static let standardOutput = LineWriter()
    private let lock = Mutex(())

    func write(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        let data = Data((lines.joined(separator: "\n") + "\n").utf8)
        lock.withLock { _ in FileHandle.standardOutput.write(data) }
    }

    func write(_ line: String) { write([line]) }
}

/// Progress and results for people, on standard error so they never mix with machine-read output.
func report(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

import CRMDomain
public import CRMStore
import Foundation

/// Fills a store with generated customers, several appenders in parallel, a chunk of customers per append.
public struct Seeder: Sendable {
    public let generator: DatasetGenerator
    public let appenders: Int
    public let customersPerAppend: Int

    public init(generator: DatasetGenerator, appenders: Int, customersPerAppend: Int) {
        self.generator = generator
        self.appenders = appenders
        self.customersPerAppend = customersPerAppend
    }

    /// Seeds customers `range`; returns how many facts were appended. With `progress`, a line on standard error
    /// every 200 chunks of the first appender; `onChunk` hears of each chunk appended, with its number of customers.
    public func seed(
        _ store: any Store, range: Range<Int>, progress: Bool = true, onChunk: (@Sendable (_ customers: Int) -> Void)? = nil
    ) async throws -> Int {
        let chunks = stride(from: range.lowerBound, to: range.upperBound, by: customersPerAppend).map {
            $0..<min($0 + customersPerAppend, range.upperBound)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            let workers = max(1, appenders)
            for worker in 0..<workers {
                group.addTask {
                    var facts = 0
                    for (n, chunk) in chunks.enumerated() where n % workers == worker {
                        var batch: [Fact] = []
                        for index in chunk { batch += generator.customer(index).facts }
                        _ = try await store.append(batch)
                        facts += batch.count
                        onChunk?(chunk.count)
                        if progress && worker == 0 && (n / workers) % 200 == 0 {
                            let seconds = (clock.now - start).seconds
                            FileHandle.standardError.write(Data("  seeded ~\(chunk.upperBound - range.lowerBound) of \(range.count) customers (\(Int(seconds)) s)\n".utf8))
                        }
                    }
                    return facts
                }
            }
            return try await group.reduce(0, +)
        }
        return total
    }
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}

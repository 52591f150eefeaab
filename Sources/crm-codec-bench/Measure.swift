/// Times two closures against each other: a baseline and a candidate.
///
/// Each round times a batch of the baseline and then a batch of the candidate, so that both
/// see the same machine load; the ratio is taken per round and the median reported. A
/// batch is grown until it takes at least `minimumBatch`, so that the clock's resolution
/// and the loop do not matter.
struct Measure {
    var rounds = 9
    var minimumBatch: Duration = .milliseconds(100)

    struct Comparison {
        var baselineNanoseconds: Double
        var candidateNanoseconds: Double
        var ratio: Double
    }

    func compare(baseline: () -> Void, candidate: () -> Void) -> Comparison {
        let baselineIterations = iterations(for: baseline)
        let candidateIterations = iterations(for: candidate)
        var baselineSamples: [Double] = []
        var candidateSamples: [Double] = []
        var ratios: [Double] = []
        for _ in 0..<rounds {
            let b = time(baseline, baselineIterations)
            let c = time(candidate, candidateIterations)
            baselineSamples.append(b)
            candidateSamples.append(c)
            ratios.append(c / b)
        }
        return Comparison(
            baselineNanoseconds: median(baselineSamples), candidateNanoseconds: median(candidateSamples),
            ratio: median(ratios))
    }

    private func iterations(for body: () -> Void) -> Int {
        var count = 1
        while ContinuousClock().measure({ for _ in 0..<count { body() } }) < minimumBatch { count *= 2 }
        return count
    }

    private func time(_ body: () -> Void, _ count: Int) -> Double {
        let elapsed = ContinuousClock().measure { for _ in 0..<count { body() } }
        let (seconds, attoseconds) = elapsed.components
        return (Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(count)
    }

    private func median(_ values: [Double]) -> Double {
        values.sorted()[values.count / 2]
    }
}

/// Keeps the optimizer from deleting work whose result is otherwise unused.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

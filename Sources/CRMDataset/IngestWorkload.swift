public import CRMDomain
public import CRMStore

extension DatasetGenerator {
    /// The interactions of the ingest benchmarks: `interactions` follow-up messages (WhatsApp, e-mail, IVR, SMS,
    /// Instagram, … from the customers' own handles, each with a unique id) from the first `customers` customers of
    /// this dataset, spread over all of them, in an order shuffled by `shuffleSeed`.
    ///
    /// `crm-store-tool bench ingest` appends them to the store; `crm-bench crmd-push` sends the same rows to crmd.
    public func ingestWorkload(customers: Int, interactions: Int, shuffleSeed: UInt64) -> [Fact] {
        var all: [Fact] = []
        all.reserveCapacity(interactions + customers)
        // Every customer when there are fewer customers than interactions, else every `step`-th one.
        let perCustomer = max(1, (interactions + customers - 1) / customers)
        let step = max(1, customers / interactions)
        for index in stride(from: 0, to: customers, by: step) where all.count < interactions {
            all += followUpInteractions(index, count: perCustomer, round: 0)
        }
        all = Array(all.prefix(interactions))
        var rng = SplitMix64(seed: shuffleSeed)
        all.shuffle(using: &rng)
        return all
    }
}

/// The store-only ingest: `appenders` concurrent tasks each append `perAppend` facts at a time and wait for the
/// acknowledgement (after the group commit) before the next append, as adapters writing straight to the store would.
public struct StoreIngest: Sendable {
    /// Concurrent appenders.
    public var appenders: Int
    /// Facts per append call.
    public var perAppend: Int

    public init(appenders: Int, perAppend: Int) {
        self.appenders = appenders
        self.perAppend = perAppend
    }

    /// What one run did.
    public struct Outcome: Sendable {
        /// Facts the store reported as new.
        public var inserted: Int
        /// Wall-clock seconds from the first append to the last acknowledgement.
        public var seconds: Double
        /// Nanoseconds each append call took, from the call to its acknowledgement.
        public var appendNanoseconds: [UInt64]
    }

    /// Appends `facts` to `store`, appender `k` taking facts `k`, `k + appenders`, … in order.
    public func run(_ facts: [Fact], into store: some Store) async throws -> Outcome {
        let slices = (0..<appenders).map { worker in stride(from: worker, to: facts.count, by: appenders).map { facts[$0] } }
        let batch = perAppend
        let clock = ContinuousClock()
        let start = clock.now
        let (inserted, latencies) = try await withThrowingTaskGroup(of: (Int, [UInt64]).self) { group in
            for slice in slices {
                group.addTask {
                    var inserted = 0
                    var latencies: [UInt64] = []
                    latencies.reserveCapacity(slice.count / batch + 1)
                    for first in stride(from: 0, to: slice.count, by: batch) {
                        let begin = clock.now
                        let outcomes = try await store.append(Array(slice[first..<min(first + batch, slice.count)]))
                        latencies.append(UInt64((clock.now - begin).seconds * 1e9))
                        inserted += outcomes.count(where: { $0 == .inserted })
                    }
                    return (inserted, latencies)
                }
            }
            var total = 0
            var all: [UInt64] = []
            for try await (inserted, latencies) in group {
                total += inserted
                all += latencies
            }
            return (total, all)
        }
        return Outcome(inserted: inserted, seconds: (clock.now - start).seconds, appendNanoseconds: latencies)
    }
}

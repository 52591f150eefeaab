public import CRMRPC
public import CRMStore

/// Every CRM service of the server, over one store and one event hub.
///
/// Read-only methods are registered as idempotent, so clients may retry them.
public struct CRMServices: Sendable {
    /// The store the services read and write.
    public let store: any Store
    /// The hub the watch streams listen to; publish proactive notices here too.
    public let events: EventHub
    let env: ServiceEnvironment

    /// Creates the services. `now` gives the server time in Unix milliseconds.
    public init(store: any Store, events: EventHub, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.events = events
        self.env = ServiceEnvironment(store: store, events: events, now: now)
    }

    /// Every CRM service, ready for `RPCServer(services:)`.
    public var all: [any RPCService] {
        [
            InteractionServiceProvider(env: env),
            ProfileServiceProvider(env: env),
            OrderServiceProvider(env: env),
            ComplaintServiceProvider(env: env),
            LoyaltyServiceProvider(env: env),
            FeedbackServiceProvider(env: env),
            ReportServiceProvider(env: env),
        ]
    }

    /// The proactive-notice sweeps over the same store, hub and clock.
    public var noticeSweeps: NoticeSweeps {
        NoticeSweeps(store: store, events: events, now: env.now)
    }

    /// The background jobs that go with the services, ready for ``ServerComponents/sweeps``: delay notices for
    /// overdue orders and service-level warnings for complaints, each run every `interval`, and on a shared store
    /// the ``peerEvents`` follower.
    public func sweeps(interval: Duration = .seconds(60)) -> [SweepTask] {
        noticeSweeps.tasks(interval: interval) + (peerEvents.map { [$0.task] } ?? [])
    }

    /// On a store other nodes write too, the follower that publishes their writes to this node's watch streams
    /// every 200 ms (it wants a deduplicating hub: ``EventHub/init(bufferSize:replayLimit:deduplicating:deduplicationWindow:)``);
    /// nil on a store of this node's own.
    public var peerEvents: PeerEventFollower? {
        store.sharedWithOtherNodes ? PeerEventFollower(env: env, interval: .milliseconds(200)) : nil
    }
}

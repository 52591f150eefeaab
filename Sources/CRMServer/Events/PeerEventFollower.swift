import CRMDomain
import CRMStore
import Synchronization

/// Publishes to this node's watch streams what other nodes stored, when several crmd nodes share one database.
///
/// A node's services publish what they store themselves; what another node stored reaches this one only through the
/// database. The follower reads the fact log by position: every ``interval`` it reads the last position and turns
/// the watched facts after the one it saw last (interactions, complaint openings and steps, delay notices) into the
/// events the services would have published, then the service-level warnings recorded since (those are kept apart
/// from the facts). Positions follow commit order (``Store/lastFactPosition()``), so no fact is skipped; the hub
/// deduplicates (``EventHub/init(bufferSize:replayLimit:deduplicating:deduplicationWindow:)``), so an event this
/// node published itself is not sent twice. While nobody watches, the follower only moves its position on.
///
/// Delay: a watcher sees another node's write within about one ``interval``, plus the time to read it.
public final class PeerEventFollower: Sendable {
    /// How often the fact log is read.
    public let interval: Duration
    private let env: ServiceEnvironment
    private let cursor = Mutex(Cursor.unstarted)

    /// Where the follower is in the fact log and the record of sent warnings.
    private enum Cursor {
        /// Not yet read: the first poll starts at the end of the log (what came before is history, for replays).
        case unstarted
        /// Every fact up to `position` was handled, and every warning recorded before `warningsSince`.
        case following(position: Int64, warningsSince: Int64)
    }

    /// How far back each poll reads the record of sent warnings again: a warning is recorded with the time its node
    /// took before it committed, so one committed just after a poll may carry a time the poll already passed. The hub
    /// drops the ones it published already.
    static let warningLookBack: Int64 = 5_000

    init(env: ServiceEnvironment, interval: Duration) {
        self.env = env
        self.interval = interval
    }

    /// The follower as a sweep for the server's ``Sweeper``.
    public var task: SweepTask {
        SweepTask(name: "peer-events", interval: interval) { [self] in try await poll() }
    }

    /// Publishes what was stored since the last poll.
    func poll() async throws {
        let last = try await env.store.lastFactPosition()
        let now = env.now()
        guard case .following(let position, let warningsSince) = cursor.withLock({ $0 }) else {
            cursor.withLock { $0 = .following(position: last, warningsSince: now - Self.warningLookBack) }
            return
        }
        guard await env.events.subscriberCount > 0 else {
            // Nobody to tell: what was stored until now is history, which a new watcher replays from the store.
            cursor.withLock { $0 = .following(position: last, warningsSince: now - Self.warningLookBack) }
            return
        }
        if last > position { try await publishFacts(after: position, through: last) }
        try await publishWarnings(since: warningsSince)
        cursor.withLock { $0 = .following(position: last, warningsSince: now - Self.warningLookBack) }
    }

    /// The events of the watched facts at positions after `position` and at most `last`.
    private func publishFacts(after position: Int64, through last: Int64) async throws {
        let interactions = InteractionServiceProvider(env: env)
        let complaints = ComplaintServiceProvider(env: env)
        let replay = WatchReplay(store: env.store, events: env.events)
        try await replay.facts([.interactions, .complaintSteps, .delayNotices], since: 0, after: position, through: last) { positioned in
            let fact = positioned.fact
            switch fact.payload {
            case .interaction(let interaction):
                let event = try await interactions.replayedEvent(interaction, fact: fact)
                await env.events.publish(.interaction(event, customerID: event.interaction?.customerID ?? ""))
            case .complaintOpened, .complaintTransition:
                if let (event, customer) = try await complaints.replayedChange(fact) {
                    await env.events.publish(.complaint(event, customerID: customer))
                }
                if let notice = try await complaints.replayedNotice(fact) { await env.events.publish(.notice(notice)) }
            case .delayNoticeSent:
                if let notice = try await complaints.replayedNotice(fact) { await env.events.publish(.notice(notice)) }
            default:
                break
            }
        }
    }

    /// The service-level warnings recorded at or after `since`.
    private func publishWarnings(since: Int64) async throws {
        let complaints = ComplaintServiceProvider(env: env)
        var after: SentNotice?
        while true {
            let page = try await env.store.sentNotices(since: since, after: after, limit: WatchReplay.pageSize)
            for sent in page {
                if let notice = try await complaints.replayedWarning(sent) { await env.events.publish(.notice(notice)) }
            }
            guard page.count == WatchReplay.pageSize else { return }
            after = page.last
        }
    }
}

public import CRMMessages

/// Something that happened, as the watch streams show it.
public enum CRMEvent: Sendable {
    /// A new interaction was stored, with the customer its handle resolved to.
    case interaction(WatchInteractionsResponse, customerID: String)
    /// A complaint was opened or changed.
    case complaint(WatchComplaintsResponse, customerID: String)
    /// A proactive notice was emitted.
    case notice(ProactiveNotice)

    /// What identifies it however it reaches the hub (published by the service that stored it, or read back from
    /// the fact log): the interaction's id, the complaint change's id, the notice's id.
    public var id: String {
        switch self {
        case .interaction(let event, _): "interaction/" + (event.interaction?.interactionID ?? "")
        case .complaint(let event, _): "complaint/" + ComplaintServiceProvider.changeID(event)
        case .notice(let notice): "notice/" + notice.noticeID
        }
    }

    /// When it happened at its source, Unix milliseconds.
    public var time: Int64 {
        switch self {
        case .interaction(let event, _): event.interaction?.occurredMs ?? 0
        case .complaint(let event, _): event.changedMs
        case .notice(let notice): notice.createdMs
        }
    }
}

/// Fans events out to the watch streams (WatchInteractions, WatchComplaints, WatchMyNotices, Converse).
///
/// Services publish after the store committed. Each subscriber gets its own `AsyncStream` with a bounded buffer:
/// a subscriber that does not keep up loses the oldest events it has not read, never slows the publisher, and
/// never grows memory without bound. The hub also keeps the most recent events (``replayLimit``) so a new
/// subscriber can ask for those since a time before the live ones; older history is in the store.
public actor EventHub {
    /// Events buffered per subscriber before the oldest are dropped.
    public let bufferSize: Int
    /// Recent events kept for replay.
    public let replayLimit: Int
    /// The ids of the events published last, when the hub drops an event published twice (several nodes: an event
    /// arrives from the service that stored it and again from the fact log); nil when it does not.
    private var published: RecentIDs?

    private var subscribers: [Int: AsyncStream<CRMEvent>.Continuation] = [:]
    private var nextID = 0
    private var recent: [(at: Int64, event: CRMEvent)] = []
    private var finished = false

    /// Creates a hub. With `deduplicating`, an event whose ``CRMEvent/id`` was among the last `deduplicationWindow`
    /// published is dropped (for a node that also publishes what other nodes stored, see ``PeerEventFollower``).
    public init(bufferSize: Int = 1024, replayLimit: Int = 4096, deduplicating: Bool = false, deduplicationWindow: Int = 65_536) {
        self.bufferSize = max(1, bufferSize)
        self.replayLimit = max(0, replayLimit)
        published = deduplicating ? RecentIDs(limit: deduplicationWindow) : nil
    }

    /// How many subscribers are listening.
    public var subscriberCount: Int { subscribers.count }

    /// Delivers `event` to every subscriber and keeps it for replay, as published at `at` (server time, Unix ms;
    /// the event's own time when nil). A deduplicating hub drops an event it published already.
    public func publish(_ event: CRMEvent, at: Int64? = nil) {
        if published != nil {
            let id = event.id
            guard published?.contains(id) == false else { return }
            published?.insert(id)
        }
        if replayLimit > 0 {
            recent.append((at ?? event.time, event))
            // Trim in one move once the array holds twice the limit: dropping the oldest on every
            // publish moves the whole array each time (a sixth of crmd's time in bulk pushes).
            if recent.count >= 2 * replayLimit { recent.removeFirst(recent.count - replayLimit) }
        }
        for continuation in subscribers.values { continuation.yield(event) }
    }

    /// Subscribes: returns the kept events published at or after `since` (none when `since` is 0) and the live
    /// stream, with no gap and no overlap between them. The subscription ends when the stream is dropped or its task cancelled.
    /// After ``finishAll()`` the live stream is already finished.
    public func subscribe(since: Int64 = 0) -> (replay: [CRMEvent], live: AsyncStream<CRMEvent>) {
        let id = nextID
        nextID += 1
        let (stream, continuation) = AsyncStream<CRMEvent>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        let replay = since > 0 ? recent.suffix(replayLimit).filter { $0.at >= since }.map(\.event) : []
        if finished {
            continuation.finish()
            return (replay, stream)
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            Task { await self.unsubscribe(id) }
        }
        subscribers[id] = continuation
        return (replay, stream)
    }

    /// Ends every subscription, and any made later (at shutdown).
    public func finishAll() {
        finished = true
        for continuation in subscribers.values { continuation.finish() }
        subscribers.removeAll()
    }

    private func unsubscribe(_ id: Int) {
        subscribers[id] = nil
    }
}

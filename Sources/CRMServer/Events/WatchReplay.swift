import CRMStore

/// A watch stream's history from the store, then its live events, with no gap and no repeat.
///
/// The live subscription is taken first and the store's last fact position read after it, so the replay reads the
/// facts up to that position and every later fact is published (after its commit) to the live stream. A fact
/// committed just before that position may still be published after the subscription: the ids of the events replayed
/// last are kept (``recentLimit``) and a live event with one of them is not sent again. The history is read in pages
/// of ``pageSize``, so a replay of any length holds one page in memory.
struct WatchReplay {
    /// Events read from the store per page.
    static let pageSize = 256
    /// Replayed ids kept to recognise the same events arriving live.
    static let recentLimit = 4_096

    let store: any Store
    let events: EventHub

    /// Sends the history since `since` (nothing when `since` is 0), then the live events, until the stream ends.
    ///
    /// - Parameters:
    ///   - history: reads the history up to fact position `through`, handing each event and its id to `send`.
    ///   - id: a live event's id (the same id its replay had), or nil for an event this stream does not show.
    ///   - deliver: writes one event to the client (filters applied by the caller).
    func run(
        since: Int64,
        history: (_ through: Int64, _ send: (String, CRMEvent) async throws -> Void) async throws -> Void,
        id: (CRMEvent) -> String?,
        deliver: @escaping (CRMEvent) async throws -> Void
    ) async throws {
        let (_, live) = await events.subscribe(since: 0)
        var recent = RecentIDs(limit: Self.recentLimit)
        if since > 0 {
            let through = try await store.lastFactPosition()
            try await history(through) { eventID, event in
                recent.insert(eventID)
                try await deliver(event)
            }
        }
        for await event in live {
            guard let eventID = id(event), !recent.contains(eventID) else { continue }
            try await deliver(event)
        }
    }

    /// Pages through the facts of `kinds` since `since` at positions after `start` (nil: from the first) up to
    /// position `through`.
    func facts(
        _ kinds: ReplayKinds, since: Int64, after start: Int64? = nil, through: Int64, _ body: (PositionedFact) async throws -> Void
    ) async throws {
        var after = start
        while true {
            try Task.checkCancellation()
            let page = try await store.replayFacts(kinds, since: since, after: after, through: through, limit: Self.pageSize)
            for fact in page { try await body(fact) }
            guard page.count == Self.pageSize, let last = page.last else { return }
            after = last.position
        }
    }
}

/// The last ids inserted, at most `limit`, oldest forgotten first.
struct RecentIDs {
    let limit: Int
    private var order: [String] = []
    private var start = 0
    private var members: Set<String> = []

    init(limit: Int) { self.limit = max(1, limit) }

    mutating func insert(_ id: String) {
        guard members.insert(id).inserted else { return }
        order.append(id)
        if order.count - start > limit {
            members.remove(order[start])
            start += 1
            // Compact once half the array is forgotten ids.
            if start > limit {
                order.removeFirst(start)
                start = 0
            }
        }
    }

    func contains(_ id: String) -> Bool { members.contains(id) }
}

import CRMMessages
import CRMServer
import Testing

@Suite("EventHub")
struct EventHubTests {
    func notice(_ id: String, at: Int64) -> CRMEvent {
        .notice(ProactiveNotice(noticeID: id, kind: .complaintUpdated, audience: .customer, customerID: "c", createdMs: at))
    }

    func ids(_ events: [CRMEvent]) -> [String] {
        events.compactMap { if case .notice(let n) = $0 { n.noticeID } else { nil } }
    }

    @Test("a slow subscriber keeps only the newest events of its bounded buffer")
    func boundedBuffer() async throws {
        let hub = EventHub(bufferSize: 2, replayLimit: 0)
        let (_, live) = await hub.subscribe()
        for (i, id) in ["a", "b", "c"].enumerated() { await hub.publish(notice(id, at: Int64(i + 1))) }
        await hub.finishAll()
        var received: [CRMEvent] = []
        for await event in live { received.append(event) }
        #expect(ids(received) == ["b", "c"])
    }

    @Test("a new subscriber gets the kept events since a time, then the live ones")
    func replay() async throws {
        let hub = EventHub(bufferSize: 8, replayLimit: 2)
        for (i, id) in ["a", "b", "c"].enumerated() { await hub.publish(notice(id, at: Int64(i + 1) * 10)) }
        let (replay, live) = await hub.subscribe(since: 25)
        #expect(ids(replay) == ["c"])
        await hub.publish(notice("d", at: 40))
        await hub.finishAll()
        var received: [CRMEvent] = []
        for await event in live { received.append(event) }
        #expect(ids(received) == ["d"])
        #expect(await hub.subscriberCount == 0)
    }

    @Test("replay holds exactly the last replayLimit events, however many were published")
    func replayLimitHolds() async throws {
        let hub = EventHub(bufferSize: 8, replayLimit: 3)
        for i in 1...10 {
            await hub.publish(notice("e\(i)", at: Int64(i)))
            let (replay, _) = await hub.subscribe(since: 1)
            #expect(ids(replay) == (max(1, i - 2)...i).map { "e\($0)" })
        }
        await hub.finishAll()
    }

    @Test("finishAll ends the live streams, and those of later subscribers at once")
    func finishAllEndsStreams() async throws {
        let hub = EventHub()
        let (_, live) = await hub.subscribe()
        await hub.finishAll()
        var ended = 0
        for await _ in live { ended -= 1 }
        let (_, late) = await hub.subscribe()
        for await _ in late { ended -= 1 }
        #expect(ended == 0)
        #expect(await hub.subscriberCount == 0)
    }
}

import CRMMessages
import CRMRPC
import CRMServer
import CRMServerTesting
import CRMWire
import Foundation
import Synchronization
import Testing

/// Live watches (no replay asked for) through the real server and client while other calls run: the watch call
/// returns before anything is published, and what is published afterwards reaches every watcher.
@Suite("Live watches under load")
struct LiveWatchStressTests {
    static let day: Int64 = 86_400_000

    @Test("live watches opened while other calls run return at once and each receive what is published after")
    func liveWatchesUnderLoad() async throws {
        let h = try await TestServer.start()
        let opened = Counter()
        let received = Counter()
        let watchers = 6
        do {
            let customer = try await h.seedOrder()  // estimated delivery: 30 days from the start
            for identity in [TestCaller.adapter, .supervisor, .sales, .customer(customer)] { _ = try await h.options(identity) }
            try await withTimeLimit(
                .seconds(60),
                progress: {
                    "\(opened.value) of \(watchers) watch calls returned, "
                        + "\(await h.events.subscriberCount) subscribed on the server, \(received.value) events received"
                }
            ) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Other calls keep the server's and the client's threads busy the whole time.
                    let load = Counter()
                    for worker in 0..<3 {
                        group.addTask {
                            var n = 0
                            while load.value == 0 {
                                _ = try await h.call(
                                    ProfileService.getProfile, GetProfileRequest(customer: byID(customer)), as: .supervisor)
                                _ = try await h.call(
                                    InteractionService.pushInteraction,
                                    PushInteractionRequest(interaction: interaction("load-\(worker)-\(n)", at: TestServer.now - 120_000)),
                                    as: .adapter)
                                n += 1
                            }
                        }
                    }
                    // Half the watchers follow notices, half interactions; none asks for replay.
                    let streams = Streams()
                    try await withThrowingTaskGroup(of: Void.self) { watches in
                        for i in 0..<watchers {
                            watches.addTask {
                                let box: ResponseStreamBox
                                if i % 2 == 0 {
                                    box = .notices(
                                        try await h.rpc.serverStreaming(
                                            ComplaintService.watchMyNotices, WatchMyNoticesRequest(),
                                            options: try await h.options(i == 0 ? .customer(customer) : .supervisor)))
                                } else {
                                    box = .interactions(
                                        try await h.rpc.serverStreaming(
                                            InteractionService.watchInteractions, WatchInteractionsRequest(), options: try await h.options(.sales)))
                                }
                                opened.add()
                                streams.append(box)
                            }
                        }
                        try await watches.waitForAll()
                    }
                    // The calls have returned; their handlers subscribe to the hub right after answering the headers.
                    while await h.events.subscriberCount < watchers { try await Task.sleep(for: .milliseconds(5)) }

                    h.clock.advance(by: 31 * Self.day)
                    let sent = try await h.sweeps.sendDelayNotices()
                    #expect(sent.count == 1)
                    _ = try await h.call(
                        InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("after-watch")), as: .adapter)
                    for box in streams.all {
                        switch box {
                        case .notices(let stream):
                            var iterator = stream.makeAsyncIterator()
                            #expect(try await iterator.next()?.notice == sent.first)
                            stream.cancel()
                        case .interactions(let stream):
                            var iterator = stream.makeAsyncIterator()
                            while let event = try await iterator.next() {
                                if event.interaction?.interactionID == "whatsapp-gw-1/after-watch" { break }
                            }
                            stream.cancel()
                        }
                        received.add()
                    }
                    load.add()
                    try await group.waitForAll()
                }
            }
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    @Test("shutdown ends live watch streams at once instead of waiting out the grace period")
    func shutdownEndsLiveWatches() async throws {
        // A grace period far beyond the time limit: a shutdown that waited for the watches would fail the test.
        let h = try await TestServer.start(shutdownGracePeriod: .seconds(3_600))
        do {
            try await withTimeLimit(.seconds(120), progress: { "\(await h.events.subscriberCount) subscribed on the server" }) {
                let stream = try await h.rpc.serverStreaming(
                    ComplaintService.watchMyNotices, WatchMyNoticesRequest(), options: try await h.options(.supervisor))
                let interactions = try await h.rpc.serverStreaming(
                    InteractionService.watchInteractions, WatchInteractionsRequest(), options: try await h.options(.sales))
                while await h.events.subscriberCount < 2 { try await Task.sleep(for: .milliseconds(5)) }
                await h.app.shutdown()
                var iterator = stream.makeAsyncIterator()
                var other = interactions.makeAsyncIterator()
                let afterIterator = try await iterator.next()
                #expect(afterIterator == nil, "the watch ends cleanly")
                let afterOther = try await other.next()
                #expect(afterOther == nil, "the watch ends cleanly")
                #expect(await h.events.subscriberCount == 0)
            }
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }
}

/// One open watch of either kind.
private enum ResponseStreamBox: Sendable {
    case notices(ResponseStream<WatchMyNoticesResponse>)
    case interactions(ResponseStream<WatchInteractionsResponse>)
}

/// A count shared by the tasks of a test.
private final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add() { count.withLock { $0 += 1 } }
}

/// The watches a test opened.
private final class Streams: Sendable {
    private let streams = Mutex<[ResponseStreamBox]>([])
    var all: [ResponseStreamBox] { streams.withLock { $0 } }
    func append(_ box: ResponseStreamBox) { streams.withLock { $0.append(box) } }
}

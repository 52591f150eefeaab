import CRMMessages
import CRMRPC
import CRMServerTesting
import CRMWire
import Testing

@Suite("InteractionService")
struct InteractionServiceTests {
    @Test("a push is stored once; the same key again is a duplicate and changes nothing")
    func pushAndDuplicate() async throws {
        try await withTestServer { h in
            let first = try await h.call(CRMMessages.InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("m-1")), as: TestCaller.adapter)
            #expect(first.outcome == .accepted)
            #expect(first.interactionID == "whatsapp-gw-1/m-1")
            #expect(first.customerID.hasPrefix("cus_"))
            let again = try await h.call(CRMMessages.InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("m-1")), as: TestCaller.adapter)
            #expect(again.outcome == .duplicate)
            #expect(again.interactionID == first.interactionID)
            #expect(again.customerID == first.customerID)
            let timeline = try await h.call(CRMMessages.InteractionService.getTimeline, GetTimelineRequest(customer: byHandle(phone("+62 812 3456 7890"))))
            #expect(timeline.customerID == first.customerID)
            #expect(timeline.interactions.map(\.interactionID) == ["whatsapp-gw-1/m-1"])
            #expect(timeline.interactions.first?.summary == "Halo, barang saya kapan sampai?")
            let audit = try await h.store.auditEntries(subject: first.customerID, after: nil, limit: 10)
            #expect(audit.map(\.entry.action) == ["PushInteraction"])
            #expect(audit.first?.entry.actor == "adapter:whatsapp-gw-1")
        }
    }

    @Test("an interaction with a body and a summary keeps both")
    func bodyAndSummary() async throws {
        try await withTestServer { h in
            var i = interaction("m-2", body: "Selamat siang, paket saya belum datang sejak minggu lalu.")
            i.summary = "Asks where the parcel is"
            _ = try await h.call(CRMMessages.InteractionService.pushInteraction, PushInteractionRequest(interaction: i), as: TestCaller.adapter)
            let timeline = try await h.call(CRMMessages.InteractionService.getTimeline, GetTimelineRequest(customer: byHandle(phone("0812-3456-7890"))))
            #expect(timeline.interactions.first?.summary == "Asks where the parcel is")
            #expect(timeline.interactions.first?.body == "Selamat siang, paket saya belum datang sejak minggu lalu.")
        }
    }

    @Test("the timeline pages newest first and filters by channel and window")
    func timelinePaging() async throws {
        try await withTestServer { h in
            for (i, at) in [TestServer.now - 3_000, TestServer.now - 2_000, TestServer.now - 1_000].enumerated() {
                _ = try await h.call(CRMMessages.InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("t-\(i)", at: at)), as: TestCaller.adapter)
            }
            let customer = byHandle(phone("0812-3456-7890"))
            let first = try await h.call(CRMMessages.InteractionService.getTimeline, GetTimelineRequest(customer: customer, page: PageRequest(pageSize: 2)))
            #expect(first.interactions.map(\.interactionID) == ["whatsapp-gw-1/t-2", "whatsapp-gw-1/t-1"])
            let token = first.page?.nextPageToken ?? ""
            #expect(token != "")
            let second = try await h.call(
                CRMMessages.InteractionService.getTimeline, GetTimelineRequest(customer: customer, page: PageRequest(pageSize: 2, pageToken: first.page!.nextPageToken)))
            #expect(second.interactions.map(\.interactionID) == ["whatsapp-gw-1/t-0"])
            #expect(second.page?.nextPageToken == "")
            let window = try await h.call(
                CRMMessages.InteractionService.getTimeline,
                GetTimelineRequest(customer: customer, window: CRMMessages.TimeRange(fromMs: TestServer.now - 2_500, toMs: TestServer.now - 1_500)))
            #expect(window.interactions.map(\.interactionID) == ["whatsapp-gw-1/t-1"])
            let email = try await h.call(CRMMessages.InteractionService.getTimeline, GetTimelineRequest(customer: customer, channels: [.email]))
            #expect(email.interactions.isEmpty)
            let badToken = try await h.expectFailure(
                .invalidArgument, CRMMessages.InteractionService.getTimeline, GetTimelineRequest(customer: customer, page: PageRequest(pageToken: "nonsense")))
            #expect(badToken.hasPrefix("page.page_token:"))
        }
    }

    @Test("a bad handle is refused with the field path and the domain's reason")
    func badHandle() async throws {
        try await withTestServer { h in
            let message = try await h.expectFailure(
                .invalidArgument, CRMMessages.InteractionService.pushInteraction,
                PushInteractionRequest(interaction: interaction("m-2", handle: phone("0812"))), as: TestCaller.adapter)
            #expect(message.hasPrefix("interaction.handle.value: '0812' is not a valid phone handle"))
            // A web-chat visitor id is a handle, but not one a WhatsApp message can come from.
            let visitor = try await h.expectFailure(
                .invalidArgument, CRMMessages.InteractionService.pushInteraction,
                PushInteractionRequest(interaction: interaction("m-3", handle: CRMMessages.Handle(kind: .webChatVisitor, value: "v-1"))), as: TestCaller.adapter)
            #expect(visitor.hasPrefix("interaction.handle.kind:"))
            var noKey = interaction("m-4")
            noKey.key = nil
            let keyMessage = try await h.expectFailure(.invalidArgument, CRMMessages.InteractionService.pushInteraction, PushInteractionRequest(interaction: noKey), as: TestCaller.adapter)
            #expect(keyMessage.hasPrefix("interaction.key:"))
        }
    }

    @Test("a bulk push answers per item: accepted, duplicate, rejected")
    func bulk() async throws {
        try await withTestServer { h in
            let response = try await h.rpc.clientStreaming(
                CRMMessages.InteractionService.pushInteractions, options: try await h.options(.adapter)
            ) { writer in
                try await writer.write(PushInteractionsRequest(interaction: interaction("b-1")))
                try await writer.write(PushInteractionsRequest(interaction: interaction("b-1")))
                try await writer.write(PushInteractionsRequest(interaction: interaction("b-2", handle: phone("12"))))
                try await writer.write(PushInteractionsRequest(interaction: interaction("b-3", intent: .complaint)))
            }.message
            #expect(response.results.map(\.outcome) == [.accepted, .duplicate, .rejected, .accepted])
            #expect(response.results.map(\.index) == [0, 1, 2, 3])
            #expect(response.acceptedCount == 2 && response.duplicateCount == 1 && response.rejectedCount == 1)
            #expect(response.results[2].violations.first?.field == "interaction.handle.value")
            #expect(response.results[0].customerID == response.results[3].customerID)
        }
    }

    @Test("a queue watcher gets the interactions routed to its queue")
    func watch() async throws {
        try await withTestServer { h in
            _ = try await h.call(CRMMessages.InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("w-1", intent: .order)), as: TestCaller.adapter)
            _ = try await h.call(CRMMessages.InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("w-2", intent: .complaint)), as: TestCaller.adapter)
            let stream = try await h.rpc.serverStreaming(
                CRMMessages.InteractionService.watchInteractions, WatchInteractionsRequest(queue: .afterSales, sinceMs: 1),
                options: try await h.options(.sales))
            var iterator = stream.makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first?.interaction?.interactionID == "whatsapp-gw-1/w-2")
            #expect(first?.interaction?.queue == .afterSales)
            #expect(first?.priority == .normal)
            stream.cancel()
        }
    }

    @Test("a conversation opens with history and acknowledges the agent's replies")
    func converse() async throws {
        try await withTestServer { h in
            _ = try await h.call(CRMMessages.InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("c-1")), as: TestCaller.adapter)
            let call = try await h.rpc.bidirectional(CRMMessages.InteractionService.converse, options: try await h.options(.sales))
            try await call.requests.write(ConverseRequest(action: .start(ConverseStart(customer: byHandle(phone("0812-3456-7890")), historyLimit: 5))))
            var responses = call.responses.makeAsyncIterator()
            guard case .started(let started)? = try await responses.next()?.event else {
                Issue.record("expected started")
                return
            }
            #expect(started.history.map(\.interactionID) == ["whatsapp-gw-1/c-1"])
            var reply = interaction("r-1")
            reply.key = key("r-1", adapter: "agent-desk")
            reply.direction = .outbound
            reply.body = "Barang sedang di bea cukai."
            try await call.requests.write(ConverseRequest(action: .outbound(reply)))
            var receipt: ConverseReceipt?
            while receipt == nil, let next = try await responses.next() {
                if case .receipt(let r)? = next.event { receipt = r }
            }
            #expect(receipt?.outcome == .accepted)
            #expect(receipt?.interactionID == "agent-desk/r-1")
            call.requests.finish()
        }
    }
}

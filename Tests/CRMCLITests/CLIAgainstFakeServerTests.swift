import CRMMessages
import CRMWire
import Foundation
import Testing

/// The built `crm` run as a child process against a real crm/1 server over TLS with canned CRM
/// answers (FakeCRMServer): what goes over the wire, what is printed, and the exit status.
@Suite(.serialized) struct CLIAgainstFakeServerTests {
    func withServer(_ body: (FakeCRMServer, CLIRunner) async throws -> Void) async throws {
        let server = try FakeCRMServer()
        try await server.start()
        let cli = try CLIRunner()
        do {
            try await body(server, cli)
        } catch {
            cli.cleanUp()
            await server.stop()
            throw error
        }
        cli.cleanUp()
        await server.stop()
    }

    @Test func loginChecksTheServerThenCommandsUseTheSavedSettings() async throws {
        try await withServer { server, cli in
            let login = try await cli.run(["login", "--server", server.address, "--ca", server.certificates.caFile, "--token", FakeCRMServer.token])
            #expect(login.status == 0, "\(login)")
            #expect(login.stdout.contains("serving"), "\(login)")
            let show = try await cli.run(["profile", "show", "phone:0812-3456-789"])
            #expect(show.status == 0, "\(show)")
            #expect(show.stdout.contains("Budi Santoso"), "\(show)")
            #expect(show.stdout.contains("phone:+628123456789"), "\(show)")
            #expect(show.stdout.contains("Rp 125.000.000"), "\(show)")
            let request = try #require(server.recorder.last("GetProfile", as: GetProfileRequest.self))
            #expect(request.customer == CustomerSelector(target: .handle(Handle(kind: .phone, value: "0812-3456-789"))))
            #expect(request.interactionLimit == 10)
        }
    }

    @Test func loginRefusesAServerItCannotVerify() async throws {
        try await withServer { server, cli in
            let login = try await cli.run(["login", "--server", server.address, "--ca", server.certificates.untrustedCAFile, "--token", "t"])
            #expect(login.status == 7, "\(login)")
            #expect(login.stderr.contains("UNAVAILABLE"), "\(login)")
            #expect(login.stderr.contains("--ca"), "\(login)")
            #expect(!FileManager.default.fileExists(atPath: cli.directory + "/config.json"), "nothing saved after a failed check")
        }
    }

    @Test func statusCodesBecomeExitStatuses() async throws {
        try await withServer { server, cli in
            let notFound = try await cli.run(["profile", "show", "phone:\(FakeServices.unknownPhone)"] + server.flags)
            #expect(notFound.status == 3, "\(notFound)")
            #expect(notFound.stderr.contains("NOT_FOUND"), "\(notFound)")

            let noToken = try await cli.run(["profile", "show", "phone:1", "--server", server.address, "--ca", server.certificates.caFile])
            #expect(noToken.status == 4, "\(noToken)")
            #expect(noToken.stderr.contains("crm login"), "\(noToken)")

            let stuck = try await cli.run(["complaint", "close", "CMP-STUCK"] + server.flags)
            #expect(stuck.status == 6, "\(stuck)")
            #expect(stuck.stderr.contains("FAILED_PRECONDITION"), "\(stuck)")
        }
    }

    @Test func jsonForScripts() async throws {
        try await withServer { server, cli in
            let result = try await cli.run(["profile", "search", "budi", "--limit", "2", "--json"] + server.flags)
            #expect(result.status == 0, "\(result)")
            let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(object["next_page_token"] as? String == "page-2")
            let items = try #require(object["items"] as? [[String: Any]])
            #expect(items.map { $0["customer_id"] as? String } == ["cus_budi", "cus_budi2"])
            #expect(items.first?["handles"] as? [String] == ["phone:+628123456789"])
            let request = try #require(server.recorder.last("SearchProfiles", as: SearchProfilesRequest.self))
            #expect(request.nameQuery == "budi" && request.page?.pageSize == 2)
        }
    }

    @Test func timelineFiltersAndPages() async throws {
        try await withServer { server, cli in
            let result = try await cli.run(
                ["timeline", "email:budi@example.co.id", "--channel", "whatsapp", "--channel", "email", "--limit", "5", "--page-token", "t1", "--from", "2024-05-01", "--to", "2024-05-31"] + server.flags)
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("asks where the order is"), "\(result)")
            #expect(result.stdout.contains("Order confirmed"), "\(result)")
            #expect(result.stdout.contains("--page-token t2"), "\(result)")
            let request = try #require(server.recorder.last("GetTimeline", as: GetTimelineRequest.self))
            #expect(request.channels == [.whatsapp, .email])
            #expect(request.page == PageRequest(pageSize: 5, pageToken: "t1"))
            #expect(request.window == TimeRange(fromMs: 1_714_496_400_000, toMs: 1_714_496_400_000 + 31 * 86_400_000))
        }
    }

    @Test func complaintVerbsMapToTargetStates() async throws {
        try await withServer { server, cli in
            let verbs: [(String, ComplaintState, [String])] = [
                ("review", .inReview, []), ("escalate", .waitingOnSupplier, []), ("inform", .customerInformed, []),
                ("close", .closed, []), ("reject", .rejected, ["--note", "unfounded"]), ("reopen", .reopened, ["--note", "more broken"]),
            ]
            for (verb, state, extra) in verbs {
                let result = try await cli.run(["complaint", verb, "CMP-1", "--expect", "opened"] + extra + server.flags)
                #expect(result.status == 0, "\(verb): \(result)")
                let request = try #require(server.recorder.last("TransitionComplaint", as: TransitionComplaintRequest.self))
                #expect(request.toState == state, "\(verb)")
                #expect(request.expectedState == .opened)
                #expect(request.key?.adapterID == "crm-cli")
                #expect(request.key?.externalID.isEmpty == false)
            }
            let decide = try await cli.run(
                ["complaint", "decide", "CMP-1", "--resolution", "refund", "--rationale", "photos match", "--item", "MUG-01:10:10:2:45000",
                 "--return-shipping", "30.000", "--goodwill", "25000:apology", "--idempotency-key", "k-1", "--json"] + server.flags)
            #expect(decide.status == 0, "\(decide)")
            let request = try #require(server.recorder.last("TransitionComplaint", as: TransitionComplaintRequest.self))
            #expect(request.toState == .decided)
            #expect(request.key == IdempotencyKey(adapterID: "crm-cli", externalID: "k-1"))
            let decision = try #require(request.decision)
            #expect(decision.resolution == .refund)
            #expect(decision.rationale == "photos match")
            #expect(decision.confirmedItems.map(\.quantityBroken) == [2])
            #expect(decision.returnShippingRupiah == 30_000)
            #expect(decision.adjustments == [CompensationLine(kind: .goodwill, amountRupiah: 25_000, explanation: "apology")])
            let object = try #require(JSONSerialization.jsonObject(with: Data(decide.stdout.utf8)) as? [String: Any])
            #expect(object["outcome"] as? String == "accepted")
            #expect((object["complaint"] as? [String: Any])?["state"] as? String == "decided")
        }
    }

    @Test func importSendsRowsAndReportsRejectionsByLine() async throws {
        try await withServer { server, cli in
            let csv = try cli.file("orders.csv", """
                order_number,customer,placed,sku,quantity,unit_price
                SO-1,oms:C-1,2024-05-01,MUG-01,10,45000
                SO-1,oms:C-1,2024-05-01,PLATE-02,2,30000
                SO-REJECT,oms:C-2,2024-05-01,NOPE,1,1000
                SO-BAD,oms:C-3,2024-05-01,MUG-01,0,45000
                SO-4,oms:C-4,2024-05-02,MUG-01,1,45000

                """)
            let result = try await cli.run(["order", "import", csv] + server.flags)
            #expect(result.status == 5, "\(result)")
            #expect(result.stdout.contains("line 4 (order SO-REJECT): order.items[0].sku: unknown SKU"), "\(result)")
            #expect(result.stdout.contains("line 5 (order SO-BAD): quantity"), "\(result)")
            #expect(result.stdout.contains("2 imported"), "\(result)")
            let sent = try #require(server.recorder.last("ImportOrders", as: [ImportOrdersRequest].self))
            #expect(sent.map(\.order?.orderNumber) == ["SO-1", "SO-REJECT", "SO-4"])
            #expect(sent.map(\.rowNumber) == [1, 2, 3])
            #expect(sent[0].order?.items.count == 2)
        }
    }

    @Test func ratingsAsABarChart() async throws {
        try await withServer { server, cli in
            let result = try await cli.run(["report", "ratings"] + server.flags)
            #expect(result.status == 0, "\(result)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("5 ★★★★★") == true, "\(result)")
            #expect(lines.first?.filter { $0 == "█" }.count == 40, "\(result)")
            #expect(result.stdout.contains("768 ratings, average 3.55 stars"), "\(result)")
        }
    }

    @Test func watchPrintsChangesUntilInterrupted() async throws {
        try await withServer { server, cli in
            let (process, pipe) = try cli.start(["watch", "complaints", "--category", "broken", "--json"] + server.flags)
            let lines = await readLines(pipe, count: 2)
            process.interrupt()
            process.waitUntilExit()
            #expect(lines.count == 2, "\(lines)")
            let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(objects.map { $0["kind"] as? String } == ["opened", "transitioned"])
            #expect(objects.last?["to"] as? String == "in-review")
            #expect(process.terminationStatus == 0, "Ctrl-C ends a watch cleanly")
            let request = try #require(server.recorder.last("WatchComplaints", as: WatchComplaintsRequest.self))
            #expect(request.categories == [.broken])
        }
    }
}

import CRMClient
import CRMMessages
import CRMServerTesting
import CRMWire
import Foundation
import Testing

@Suite(.serialized)
struct CLIAgainstServerTests {
    func withServer(_ body: (TestServer, CLIRunner) async throws -> Void) async throws {
        let server = try await TestServer.start(clock: .wall())
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

    /// Two orders (one of two lines) of two customers; C-9001 is also reachable by phone.
    static let orders = """
        order_number,customer,placed,estimated_delivery,sku,item_name,quantity,unit_price,shipping,city,contacts
        SO-9001,oms:C-9001,2024-05-01,2024-05-20,MUG-01,Mug,10,45000,20000,Kota Bekasi,phone:0812-3456-789
        SO-9001,oms:C-9001,2024-05-01,,PLATE-02,Plate,2,30000,,,
        SO-9002,oms:C-9002,2024-05-02,2024-05-25,CUP-03,Cup,1,15000,,,

        """

    /// 2024-05-01 00:00 in Jakarta.
    static let may1: Int64 = 1_714_496_400_000

    func object(_ result: CLIRunner.Result) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)")
    }

    func importOrders(_ server: TestServer, _ cli: CLIRunner) async throws {
        let csv = try cli.file("orders.csv", Self.orders)
        let result = try await cli.run(["order", "import", csv] + server.flags(.adapter))
        #expect(result.status == 0, "\(result)")
    }

    /// Pushes one interaction as the adapter.
    func push(
        _ server: TestServer, _ id: String, _ handle: Handle, _ channel: Channel, at: Int64, intent: Intent = .unspecified,
        body: String
    ) async throws {
        let adapter = try await server.client(as: .adapter)
        var interaction = Interaction()
        interaction.key = IdempotencyKey(adapterID: "test-adapter", externalID: id)
        interaction.channel = channel
        interaction.direction = .inbound
        interaction.handle = handle
        interaction.occurredMs = at
        interaction.intent = intent
        interaction.body = body
        interaction.summary = body
        let response = try await adapter.interactions.pushInteraction(PushInteractionRequest(interaction: interaction))
        await adapter.close()
        #expect(response.outcome == .accepted)
    }

    /// Records a full name for `handle` as the order system.
    func name(_ server: TestServer, _ handle: Handle, _ name: String) async throws {
        let adapter = try await server.client(as: .adapter)
        var observation = FieldObservation()
        observation.key = IdempotencyKey(adapterID: "test-adapter", externalID: "name-\(handle.value)")
        observation.subject = handle
        observation.field = .fullName
        observation.value = name
        observation.source = .orderSystem
        observation.observedMs = Self.may1
        _ = try await adapter.profiles.observeProfileField(ObserveProfileFieldRequest(observation: observation))
        await adapter.close()
    }

    /// Opens a complaint about SO-9001 as Sales and returns its id. (Without items: this server takes the
    /// verified items with the decision only; see `knownGapItemsAtOpening`.)
    func openComplaint(_ server: TestServer, _ cli: CLIRunner, category: String = "broken", order: String = "SO-9001", customer: String = "oms:C-9001") async throws -> String {
        let open = try await cli.run(
            ["complaint", "open", customer, "--order", order, "--category", category, "--summary", "2 mugs broken", "--json"]
                + server.flags(.sales))
        #expect(open.status == 0, "\(open)")
        return try #require((try object(open)["complaint"] as? [String: Any])?["complaint_id"] as? String, "\(open)")
    }

    func state(_ server: TestServer, _ cli: CLIRunner, _ id: String) async throws -> String? {
        let show = try await cli.run(["complaint", "show", id, "--json"] + server.flags(.sales))
        return try object(show)["state"] as? String
    }

    // MARK: Sign-in and exit statuses

    @Test func loginChecksTheServerThenCommandsUseTheSavedSettings() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            try await name(server, Handle(kind: .orderSystemID, value: "C-9001"), "Budi Santoso")
            let login = try await cli.run(["login"] + server.flags(.sales))
            #expect(login.status == 0, "\(login)")
            #expect(login.stdout.contains("serving"), "\(login)")
            let show = try await cli.run(["profile", "show", "phone:0812-3456-789"])
            #expect(show.status == 0, "\(show)")
            #expect(show.stdout.contains("Budi Santoso"), "\(show)")
            #expect(show.stdout.contains("phone:+628123456789"), "\(show)")
            #expect(show.stdout.contains("SO-9001"), "\(show)")
            #expect(show.stdout.contains("Rp 530.000"), "\(show)")
        }
    }

    @Test func loginRefusesAServerItCannotVerify() async throws {
        try await withServer { server, cli in
            let login = try await cli.run(["login", "--server", server.address, "--ca", server.untrustedCAFile, "--token", server.token(.sales)!])
            #expect(login.status == 7, "\(login)")
            #expect(login.stderr.contains("UNAVAILABLE"), "\(login)")
            #expect(login.stderr.contains("--ca"), "\(login)")
            #expect(!FileManager.default.fileExists(atPath: cli.directory + "/config.json"), "nothing saved after a failed check")
        }
    }

    @Test func statusCodesBecomeExitStatuses() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let notFound = try await cli.run(["profile", "show", "phone:0812-0000-000"] + server.flags(.sales))
            #expect(notFound.status == 3, "\(notFound)")
            #expect(notFound.stderr.contains("NOT_FOUND"), "\(notFound)")

            let noToken = try await cli.run(["profile", "show", "phone:0812-3456-789", "--server", server.address, "--ca", server.caFile])
            #expect(noToken.status == 4, "\(noToken)")
            #expect(noToken.stderr.contains("crm login"), "\(noToken)")

            let wrongRole = try await cli.run(["profile", "show", "phone:0812-3456-789"] + server.flags(.adapter))
            #expect(wrongRole.status == 4, "\(wrongRole)")
            #expect(wrongRole.stderr.contains("PERMISSION_DENIED"), "\(wrongRole)")

            let id = try await openComplaint(server, cli)
            let illegal = try await cli.run(["complaint", "close", id] + server.flags(.afterSales))
            #expect(illegal.status == 6, "\(illegal)")
            #expect(illegal.stderr.contains("FAILED_PRECONDITION"), "\(illegal)")

            // A port with nothing listening.
            let port = try closedPort()
            let down = try await cli.run(["profile", "show", "phone:0812-3456-789", "--server", "127.0.0.1:\(port)", "--ca", server.caFile, "--token", server.token(.sales)!])
            #expect(down.status == 7, "\(down)")
            #expect(down.stderr.contains("UNAVAILABLE"), "\(down)")
        }
    }

    // MARK: Output for scripts and people

    @Test func jsonForScripts() async throws {
        try await withServer { server, cli in
            for (i, full) in ["Budi Santoso", "Budi Setiawan", "Budiman Hartono"].enumerated() {
                try await push(server, "hello-\(i)", Handle(kind: .email, value: "budi\(i)@example.co.id"), .email, at: Self.may1 + Int64(i) * 60_000, body: "hello")
                try await name(server, Handle(kind: .email, value: "budi\(i)@example.co.id"), full)
            }
            let first = try await cli.run(["profile", "search", "budi", "--limit", "2", "--json"] + server.flags(.sales))
            #expect(first.status == 0, "\(first)")
            let page = try object(first)
            let items = try #require(page["items"] as? [[String: Any]], "\(first)")
            #expect(items.count == 2, "\(first)")
            #expect(items.allSatisfy { ($0["customer_id"] as? String)?.hasPrefix("cus_") == true }, "\(first)")
            #expect(items.allSatisfy { ($0["handles"] as? [String])?.first?.hasPrefix("email:budi") == true }, "\(first)")
            let token = try #require(page["next_page_token"] as? String, "\(first)")
            let second = try await cli.run(["profile", "search", "budi", "--limit", "2", "--page-token", token, "--json"] + server.flags(.sales))
            let rest = try #require(try object(second)["items"] as? [[String: Any]], "\(second)")
            #expect(rest.count == 1, "\(second)")
            #expect(try object(second)["next_page_token"] == nil, "the last page has no token: \(second)")
            let names = Set((items + rest).compactMap { $0["display_name"] as? String })
            #expect(names == ["Budi Santoso", "Budi Setiawan", "Budiman Hartono"])
            // The same command twice prints the same bytes.
            let again = try await cli.run(["profile", "search", "budi", "--limit", "2", "--json"] + server.flags(.sales))
            #expect(again.stdout == first.stdout)
        }
    }

    @Test func timelineFiltersAndPages() async throws {
        try await withServer { server, cli in
            let email = Handle(kind: .email, value: "budi@example.co.id")
            try await push(server, "t-1", email, .email, at: Self.may1 + 3_600_000, body: "Order confirmed")
            try await push(server, "t-2", Handle(kind: .whatsapp, value: "+628123456789"), .whatsapp, at: Self.may1 + 7_200_000, intent: .informationRequest, body: "asks where the order is")
            try await push(server, "t-3", email, .email, at: Self.may1 - 86_400_000, body: "April newsletter reply")
            try await push(server, "t-4", Handle(kind: .instagram, value: "budi.s"), .instagramDm, at: Self.may1 + 10_800_000, body: "instagram hello")
            let link = try await cli.run(["profile", "link", "wa:+628123456789", "email:budi@example.co.id"] + server.flags(.sales))
            #expect(link.status == 0, "\(link)")
            let link2 = try await cli.run(["profile", "link", "instagram:budi.s", "email:budi@example.co.id"] + server.flags(.sales))
            #expect(link2.status == 0, "\(link2)")
            let filter = ["timeline", "email:budi@example.co.id", "--channel", "whatsapp", "--channel", "email", "--from", "2024-05-01", "--to", "2024-05-31"]
            let first = try await cli.run(filter + ["--limit", "1"] + server.flags(.sales))
            #expect(first.status == 0, "\(first)")
            #expect(first.stdout.contains("asks where the order is"), "newest first: \(first)")
            #expect(!first.stdout.contains("Order confirmed"), "\(first)")
            let token = try #require(first.stdout.range(of: "--page-token ").map { String(first.stdout[$0.upperBound...].prefix { !$0.isWhitespace }) }, "\(first)")
            let second = try await cli.run(filter + ["--limit", "1", "--page-token", token] + server.flags(.sales))
            #expect(second.stdout.contains("Order confirmed"), "\(second)")
            let all = try await cli.run(filter + ["--json"] + server.flags(.sales))
            let items = try #require(try object(all)["items"] as? [[String: Any]], "\(all)")
            #expect(items.map { $0["channel"] as? String } == ["whatsapp", "email"], "no Instagram, nothing from April: \(all)")
        }
    }

    // MARK: Orders

    @Test func importIsIdempotentAndOrdersCanBeShown() async throws {
        try await withServer { server, cli in
            let csv = try cli.file("orders.csv", Self.orders)
            let first = try await cli.run(["order", "import", csv, "--json"] + server.flags(.adapter))
            #expect(first.status == 0, "\(first)")
            #expect(first.stdout.contains("\"accepted\" : 2"), "\(first)")
            let again = try await cli.run(["order", "import", csv, "--json"] + server.flags(.adapter))
            #expect(again.status == 0, "\(again)")
            #expect(again.stdout.contains("\"duplicate\" : 2"), "\(again)")
            let show = try await cli.run(["order", "show", "SO-9001", "--json"] + server.flags(.sales))
            #expect(show.status == 0, "\(show)")
            let order = try object(show)
            #expect(order["total_rupiah"] as? Int == 530_000)
            #expect((order["items"] as? [Any])?.count == 2)
            let missing = try await cli.run(["order", "show", "SO-NOPE"] + server.flags(.sales))
            #expect(missing.status == 3, "\(missing)")
        }
    }

    @Test func importReportsRejectionsByLineAndImportsTheRest() async throws {
        try await withServer { server, cli in
            let csv = try cli.file("orders.csv", """
                order_number,customer,placed,estimated_delivery,sku,quantity,unit_price,service_fee
                SO-1,oms:C-1,2024-05-01,2024-05-20,MUG-01,10,45000,
                SO-1,oms:C-1,2024-05-01,,PLATE-02,2,30000,
                SO-FEE,oms:C-2,2024-05-01,2024-05-20,MUG-01,1,45000,5000
                SO-BAD,oms:C-3,2024-05-01,2024-05-20,MUG-01,0,45000,
                SO-4,oms:C-4,2024-05-02,2024-05-20,MUG-01,1,45000,

                """)
            let result = try await cli.run(["order", "import", csv] + server.flags(.adapter))
            #expect(result.status == 5, "\(result)")
            // Refused by the CLI before sending; the service fee is kept and counts in the total.
            #expect(result.stdout.contains("line 5 (order SO-BAD): quantity"), "\(result)")
            #expect(result.stdout.contains("3 imported"), "\(result)")
            for (number, status) in [("SO-1", 0), ("SO-4", 0), ("SO-FEE", 0), ("SO-BAD", 3)] {
                let show = try await cli.run(["order", "show", number] + server.flags(.sales))
                #expect(show.status == Int32(status), "\(number): \(show)")
            }
            let fee = try await cli.run(["order", "show", "SO-FEE", "--json"] + server.flags(.sales))
            #expect(try object(fee)["total_rupiah"] as? Int == 50_000, "\(fee)")
            let json = try await cli.run(["order", "import", csv, "--json"] + server.flags(.adapter))
            let problems = try #require(try object(json)["problems"] as? [[String: Any]], "\(json)")
            #expect(problems.map { $0["line"] as? Int } == [5])
        }
    }

    @Test func orderTrackAddsTrackingEvents() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let track = ["order", "track", "SO-9001", "--status", "shipped-from-china", "--at", "2024-05-03T14:30", "--location", "Guangzhou",
                         "--note", "container 7", "--idempotency-key", "trk-1", "--json"]
            let first = try await cli.run(track + server.flags(.warehouse))
            #expect(first.status == 0, "\(first)")
            let view = try object(first)
            #expect(view["outcome"] as? String == "accepted", "\(first)")
            #expect((view["order"] as? [String: Any])?["status"] as? String == "shipped-from-china", "\(first)")
            let again = try await cli.run(track + server.flags(.adapter))
            #expect(try object(again)["outcome"] as? String == "duplicate", "\(again)")
            let human = try await cli.run(["order", "track", "SO-9001", "--status", "at-customs", "--at", "2024-05-08"] + server.flags(.warehouse))
            #expect(human.status == 0, "\(human)")
            #expect(human.stdout.contains("Recorded: order SO-9001 at-customs at 2024-05-08 00:00"), "\(human)")
            #expect(human.stdout.contains("The order is now at-customs, estimated delivery 2024-05-20"), "\(human)")
            let show = try await cli.run(["order", "show", "SO-9001", "--json"] + server.flags(.sales))
            let tracking = try #require(try object(show)["tracking"] as? [[String: Any]], "\(show)")
            #expect(tracking.map { $0["stage"] as? String } == ["shipped-from-china", "at-customs"], "\(show)")
            let unknown = try await cli.run(["order", "track", "SO-NOPE", "--status", "delivered", "--at", "2024-05-10"] + server.flags(.warehouse))
            #expect(unknown.status == 3, "\(unknown)")
            let badStage = try await cli.run(["order", "track", "SO-9001", "--status", "lost", "--at", "2024-05-10"] + server.flags(.warehouse))
            #expect(badStage.status == 2, "\(badStage)")
            let badTime = try await cli.run(["order", "track", "SO-9001", "--status", "delivered", "--at", "2024-05-10T25:00"] + server.flags(.warehouse))
            #expect(badTime.status == 2, "\(badTime)")
            let customer = try await cli.run(["order", "track", "SO-9001", "--status", "delivered", "--at", "2024-05-10"] + server.flags(.customer("cus_" + String(repeating: "0", count: 32))))
            #expect(customer.status == 4, "\(customer)")
        }
    }

    // MARK: Complaints

    @Test func complaintFlowWithExitStatuses() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let id = try await openComplaint(server, cli)
            // Closing an opened complaint is not a legal move.
            let illegal = try await cli.run(["complaint", "close", id] + server.flags(.afterSales))
            #expect(illegal.status == 6, "\(illegal)")
            // Reviewing is After-Sales' move, not Sales'.
            let notSales = try await cli.run(["complaint", "review", id] + server.flags(.sales))
            #expect(notSales.status == 4, "\(notSales)")
            for (verb, role, extra) in [
                ("review", TestCaller.afterSales, [String]()),
                ("decide", .afterSales, ["--resolution", "refund", "--rationale", "photos match", "--item", "MUG-01:10:10:2:45000"]),
                ("inform", .sales, []), ("close", .sales, []),
            ] {
                let result = try await cli.run(["complaint", verb, id] + extra + server.flags(role))
                #expect(result.status == 0, "\(verb): \(result)")
            }
            #expect(try await state(server, cli, id) == "closed")
            let quote = try await cli.run(["complaint", "quote", id, "--json"] + server.flags(.afterSales))
            #expect(quote.stdout.contains("\"total_rupiah\" : 90000"), "\(quote)")
        }
    }

    @Test func complaintVerbsMoveToTheirTargetStates() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let id = try await openComplaint(server, cli)
            let steps: [(String, TestCaller, String, [String])] = [
                ("review", .afterSales, "in-review", ["--expect", "opened"]),
                ("escalate", .afterSales, "waiting-on-supplier", ["--note", "asked the supplier for photos"]),
                ("review", .chinaTeam, "in-review", []),
            ]
            for (verb, role, target, extra) in steps {
                let result = try await cli.run(["complaint", verb, id] + extra + server.flags(role))
                #expect(result.status == 0, "\(verb): \(result)")
                #expect(try await state(server, cli, id) == target, "\(verb)")
            }
            let decide = try await cli.run(
                ["complaint", "decide", id, "--resolution", "refund", "--rationale", "photos match", "--item", "MUG-01:10:10:2:45000",
                 "--idempotency-key", "k-1", "--json"] + server.flags(.afterSales))
            #expect(decide.status == 0, "\(decide)")
            let decided = try object(decide)
            #expect(decided["outcome"] as? String == "accepted", "\(decide)")
            let complaint = try #require(decided["complaint"] as? [String: Any], "\(decide)")
            #expect(complaint["state"] as? String == "decided")
            #expect((complaint["decision"] as? [String: Any])?["resolution"] as? String == "refund", "\(decide)")
            // The same key again is the same decision, not a second one.
            let retry = try await cli.run(
                ["complaint", "decide", id, "--resolution", "refund", "--rationale", "photos match", "--item", "MUG-01:10:10:2:45000",
                 "--idempotency-key", "k-1", "--json"] + server.flags(.afterSales))
            #expect(try object(retry)["outcome"] as? String == "duplicate", "\(retry)")
            for (verb, role, target, extra) in [
                ("inform", TestCaller.sales, "customer-informed", [String]()), ("close", .sales, "closed", []),
                ("reopen", .sales, "reopened", ["--note", "more broken"]),
            ] {
                let result = try await cli.run(["complaint", verb, id] + extra + server.flags(role))
                #expect(result.status == 0, "\(verb): \(result)")
                #expect(try await state(server, cli, id) == target, "\(verb)")
            }
            let other = try await openComplaint(server, cli, category: "out-of-stock", order: "SO-9002", customer: "oms:C-9002")
            let noNote = try await cli.run(["complaint", "reject", other] + server.flags(.afterSales))
            #expect([2, 5, 6].contains(noNote.status), "reject needs --note: \(noNote)")
            let reject = try await cli.run(["complaint", "reject", other, "--note", "unfounded"] + server.flags(.afterSales))
            #expect(reject.status == 0, "\(reject)")
            #expect(try await state(server, cli, other) == "rejected")
            let stale = try await cli.run(["complaint", "inform", other, "--expect", "opened"] + server.flags(.sales))
            #expect(stale.status == 6, "--expect guards against a change meanwhile: \(stale)")
        }
    }

    // MARK: Roles, reports, health

    @Test func rolesAreEnforcedAndReportsRender() async throws {
        try await withServer { server, cli in
            let denied = try await cli.run(["report", "sla", "--from", "2024-01-01", "--to", "2024-12-31"] + server.flags(.adapter))
            #expect(denied.status == 4, "\(denied)")
            let agent = try await cli.run(["report", "tiers"] + server.flags(.sales))
            #expect(agent.status == 4, "reports are for supervisors: \(agent)")
            for report in [["report", "sla", "--from", "2024-01-01", "--to", "2024-12-31"], ["report", "ratings"], ["report", "tiers"],
                           ["report", "refunds", "--from", "2024-01-01", "--to", "2024-05-31", "--by", "month"]] {
                let result = try await cli.run(report + server.flags(.supervisor))
                #expect(result.status == 0, "\(report): \(result)")
            }
            let bad = try await cli.run(["profile", "show", "phone:not-a-number"] + server.flags(.sales))
            #expect(bad.status == 5, "\(bad)")
        }
    }

    @Test func ratingsAsABarChart() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            for stars in [5, 5, 4, 1] {
                let rate = try await cli.run(["rate", "oms:C-9001", "--stars", "\(stars)", "--comment", "test"] + server.flags(.sales))
                #expect(rate.status == 0, "\(rate)")
            }
            let result = try await cli.run(["report", "ratings"] + server.flags(.supervisor))
            #expect(result.status == 0, "\(result)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("5 ★★★★★") == true, "\(result)")
            #expect(lines.first?.filter { $0 == "█" }.count == 40, "the most frequent value fills the bar: \(result)")
            #expect(lines.count > 1 && lines[1].filter { $0 == "█" }.count == 20, "\(result)")
            #expect(result.stdout.contains("4 ratings, average 3.75 stars"), "\(result)")
        }
    }

    @Test func unlinkingIsForSupervisors() async throws {
        try await withServer { server, cli in
            try await push(server, "m-0", Handle(kind: .whatsapp, value: "+628123456789"), .whatsapp, at: Self.may1, body: "message 0")
            try await push(server, "m-1", Handle(kind: .email, value: "budi@example.co.id"), .email, at: Self.may1 + 60_000, body: "message 1")
            let link = try await cli.run(["profile", "link", "wa:+628123456789", "email:budi@example.co.id"] + server.flags(.sales))
            #expect(link.status == 0, "\(link)")
            let timeline = try await cli.run(["timeline", "wa:+628123456789", "--json"] + server.flags(.sales))
            #expect(timeline.status == 0, "\(timeline)")
            #expect((try object(timeline)["items"] as? [Any])?.count == 2, "\(timeline)")
            let sales = try await cli.run(["profile", "unlink", "wa:+628123456789", "email:budi@example.co.id", "--note", "test"] + server.flags(.sales))
            #expect(sales.status == 4, "\(sales)")
            let supervisor = try await cli.run(["profile", "unlink", "wa:+628123456789", "email:budi@example.co.id", "--note", "test"] + server.flags(.supervisor))
            #expect(supervisor.status == 0, "\(supervisor)")
            let after = try await cli.run(["timeline", "wa:+628123456789", "--json"] + server.flags(.sales))
            #expect((try object(after)["items"] as? [Any])?.count == 1, "\(after)")
        }
    }

    @Test func healthAndReflectionNeedNoToken() async throws {
        try await withServer { server, _ in
            let client = try await server.client(as: .anonymous)
            let health = try await client.health.check(HealthCheckRequest())
            #expect(health.servingStatus == .serving)
            let methods = try await client.reflection.listMethods(ListMethodsRequest())
            #expect(methods.methods.count > 30)
            await client.close()
        }
    }

    // MARK: Callers

    @Test func callerShowsWhoIsCallingAndWhereTheCallGoes() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            try await name(server, Handle(kind: .orderSystemID, value: "C-9001"), "Budi Santoso")
            try await push(server, "c-1", Handle(kind: .whatsapp, value: "+628123456789"), .whatsapp, at: Self.may1 + 3_600_000, intent: .informationRequest, body: "where is my order")
            _ = try await openComplaint(server, cli)
            let result = try await cli.run(["caller", "phone:0812-3456-789", "--json"] + server.flags(.sales))
            #expect(result.status == 0, "\(result)")
            let caller = try object(result)
            #expect(caller["known"] as? Bool == true, "\(result)")
            #expect(caller["display_name"] as? String == "Budi Santoso", "\(result)")
            #expect(caller["tier"] as? String != nil, "\(result)")
            #expect((caller["customer_id"] as? String)?.hasPrefix("cus_") == true, "\(result)")
            let counts = try #require(caller["counts"] as? [String: Any], "\(result)")
            #expect(counts["complaints"] as? Int == 1 && counts["complaints_open"] as? Int == 1, "\(result)")
            #expect(counts["info_requests"] as? Int == 1 && counts["info_requests_last_90_days"] as? Int == 0, "May 2024 is long ago: \(result)")
            #expect(counts["complaints_last_90_days"] as? Int == 1, "\(result)")
            #expect((caller["open_complaints"] as? [Any])?.count == 1, "\(result)")
            let contacts = try #require(caller["last_contacts"] as? [[String: Any]], "\(result)")
            #expect(contacts.contains { $0["channel"] as? String == "whatsapp" }, "\(result)")
            #expect(caller["queue"] as? String == "after-sales", "an open complaint goes to After-Sales: \(result)")
            #expect(caller["priority"] as? String == "normal", "\(result)")
            let human = try await cli.run(["caller", "phone:0812-3456-789"] + server.flags(.sales))
            #expect(human.stdout.contains("Budi Santoso"), "\(human)")
            #expect(human.stdout.contains("after-sales queue, normal priority"), "\(human)")
            #expect(human.stdout.contains("1 total, 1 in 90 days, 1 open") || human.stdout.contains("1 total"), "\(human)")
            let unknown = try await cli.run(["caller", "phone:0899-1111-222", "--intent", "order", "--json"] + server.flags(.sales))
            #expect(unknown.status == 0, "an unknown caller is not an error: \(unknown)")
            #expect(try object(unknown)["known"] as? Bool == false, "\(unknown)")
            #expect(try object(unknown)["queue"] as? String == "sales", "\(unknown)")
            let adapter = try await cli.run(["caller", "phone:0812-3456-789"] + server.flags(.adapter))
            #expect(adapter.status == 4, "\(adapter)")
        }
    }

    // MARK: Watching

    @Test func watchComplaintsPrintsChangesUntilInterrupted() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let (process, pipe) = try await cli.start(["watch", "complaints", "--category", "broken", "--json"] + server.flags(.afterSales))
            try await server.waitForWatchers(1)
            _ = try await openComplaint(server, cli, category: "out-of-stock", order: "SO-9002", customer: "oms:C-9002")
            let id = try await openComplaint(server, cli)
            let review = try await cli.run(["complaint", "review", id] + server.flags(.afterSales))
            #expect(review.status == 0, "\(review)")
            let lines = await readLines(pipe, count: 2, orStop: process)
            process.interrupt()
            process.waitUntilExit()
            #expect(lines.count == 2, "\(lines)")
            let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(objects.map { $0["kind"] as? String } == ["opened", "transitioned"], "\(lines)")
            #expect(objects.allSatisfy { ($0["complaint"] as? [String: Any])?["complaint_id"] as? String == id }, "only broken: \(lines)")
            #expect(objects.last?["to"] as? String == "in-review", "\(lines)")
            #expect(process.terminationStatus == 0, "Ctrl-C ends a watch cleanly")
        }
    }

    @Test func watchInteractionsFollowsOneQueue() async throws {
        try await withServer { server, cli in
            let (process, pipe) = try await cli.start(["watch", "interactions", "--queue", "after-sales", "--json"] + server.flags(.afterSales))
            try await server.waitForWatchers(1)
            let phone = Handle(kind: .whatsapp, value: "+628123456789")
            try await push(server, "w-1", phone, .whatsapp, at: Self.may1, intent: .order, body: "I want 5 more mugs")
            try await push(server, "w-2", phone, .whatsapp, at: Self.may1 + 60_000, intent: .complaint, body: "two mugs arrived broken")
            let lines = await readLines(pipe, count: 1, orStop: process)
            process.interrupt()
            process.waitUntilExit()
            let object = try #require(lines.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }, "\(lines)")
            #expect(object["queue"] as? String == "after-sales", "\(lines)")
            #expect((object["interaction"] as? [String: Any])?["summary"] as? String == "two mugs arrived broken", "\(lines)")
            #expect(object["priority"] as? String == "normal", "\(lines)")
            #expect(process.terminationStatus == 0, "Ctrl-C ends a watch cleanly")
            let customer = try await cli.run(["watch", "interactions"] + server.flags(.customer("cus_" + String(repeating: "0", count: 32))))
            #expect(customer.status == 4, "\(customer)")
        }
    }

    @Test func watchNoticesShowsACustomerTheirOwnComplaintUpdates() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let profile = try await cli.run(["profile", "show", "oms:C-9001", "--json"] + server.flags(.sales))
            let customerID = try #require(try object(profile)["customer_id"] as? String, "\(profile)")
            let otherProfile = try await cli.run(["profile", "show", "oms:C-9002", "--json"] + server.flags(.sales))
            let otherID = try #require(try object(otherProfile)["customer_id"] as? String, "\(otherProfile)")
            let (process, pipe) = try await cli.start(["watch", "notices", "--json"] + server.flags(.customer(customerID)))
            try await server.waitForWatchers(1)
            // Another customer's complaint is decided first: this customer must not hear of it.
            let other = try await openComplaint(server, cli, category: "out-of-stock", order: "SO-9002", customer: "oms:C-9002")
            _ = try await cli.run(["complaint", "reject", other, "--note", "in stock after all"] + server.flags(.afterSales))
            let id = try await openComplaint(server, cli)
            for (verb, extra) in [("review", [String]()), ("decide", ["--resolution", "refund", "--rationale", "photos match", "--item", "MUG-01:10:10:2:45000"])] {
                let result = try await cli.run(["complaint", verb, id] + extra + server.flags(.afterSales))
                #expect(result.status == 0, "\(verb): \(result)")
            }
            let lines = await readLines(pipe, count: 1, orStop: process)
            process.interrupt()
            process.waitUntilExit()
            let notice = try #require(lines.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }, "\(lines)")
            #expect(notice["kind"] as? String == "complaint-updated", "\(lines)")
            #expect(notice["complaint_id"] as? String == id, "\(lines)")
            #expect(notice["customer_id"] as? String == customerID, "\(lines)")
            #expect(notice["customer_id"] as? String != otherID)
            #expect((notice["headline"] as? String)?.contains("decided") == true, "\(lines)")
            #expect(process.terminationStatus == 0, "Ctrl-C ends a watch cleanly")
            // The customer's own complaint, yes; another's, no.
            let own = try await cli.run(["complaint", "show", id] + server.flags(.customer(customerID)))
            #expect(own.status == 0, "\(own)")
            let foreign = try await cli.run(["complaint", "show", other] + server.flags(.customer(customerID)))
            #expect(foreign.status == 4, "\(foreign)")
        }
    }

    // MARK: What the proto promises beyond the basic flows

    func compensationTotal(_ server: TestServer, _ cli: CLIRunner, _ id: String) async throws -> Int64? {
        let show = try await cli.run(["complaint", "show", id, "--json"] + server.flags(.sales))
        let decision = try object(show)["decision"] as? [String: Any]
        return ((decision?["compensation"] as? [String: Any])?["total_rupiah"] as? NSNumber)?.int64Value
    }

    @Test func itemsGivenAtOpeningAreKeptAndDecideTheRefundWhenNoneAreConfirmed() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let open = try await cli.run(
                ["complaint", "open", "oms:C-9001", "--order", "SO-9001", "--category", "broken", "--summary", "2 mugs broken",
                 "--item", "MUG-01:10:10:2:45000", "--json"] + server.flags(.sales))
            #expect(open.status == 0, "\(open)")
            let complaint = try #require(try object(open)["complaint"] as? [String: Any], "\(open)")
            #expect((complaint["items"] as? [Any])?.count == 1, "\(open)")
            let id = try #require(complaint["complaint_id"] as? String, "\(open)")
            _ = try await cli.run(["complaint", "review", id] + server.flags(.afterSales))
            let decide = try await cli.run(["complaint", "decide", id, "--resolution", "refund", "--rationale", "photos match"] + server.flags(.afterSales))
            #expect(decide.status == 0, "\(decide)")
            #expect(try await compensationTotal(server, cli, id) == 90_000, "2 broken × Rp 45.000 from the items given at opening")
        }
    }

    @Test func goodwillAdjustmentsAreLinesOfTheRefund() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let id = try await openComplaint(server, cli)
            _ = try await cli.run(["complaint", "review", id] + server.flags(.afterSales))
            let decide = try await cli.run(
                ["complaint", "decide", id, "--resolution", "refund", "--rationale", "photos match", "--item", "MUG-01:10:10:2:45000",
                 "--goodwill", "25000:apology"] + server.flags(.afterSales))
            #expect(decide.status == 0, "\(decide)")
            #expect(try await compensationTotal(server, cli, id) == 115_000)
        }
    }

    @Test func ordersWithoutAnEstimateAreImported() async throws {
        try await withServer { server, cli in
            let csv = try cli.file("orders.csv", """
                order_number,customer,placed,sku,quantity,unit_price
                SO-1,oms:C-1,2024-05-01,MUG-01,10,45000

                """)
            let result = try await cli.run(["order", "import", csv] + server.flags(.adapter))
            #expect(result.status == 0, "\(result)")
            let show = try await cli.run(["order", "show", "SO-1", "--json"] + server.flags(.sales))
            #expect(show.status == 0, "\(show)")
            #expect(try object(show)["estimated_delivery"] == nil, "\(show)")
        }
    }

    @Test func trackingEventsKeepLocationNoteAndRevisedEstimate() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let track = try await cli.run(
                ["order", "track", "SO-9001", "--status", "shipped-from-china", "--at", "2024-05-03T14:30", "--location", "Guangzhou",
                 "--note", "container 7"] + server.flags(.warehouse))
            #expect(track.status == 0, "\(track)")
            let show = try await cli.run(["order", "show", "SO-9001"] + server.flags(.sales))
            #expect(show.stdout.contains("Guangzhou") && show.stdout.contains("container 7"), "\(show)")
            let revised = try await cli.run(
                ["order", "track", "SO-9001", "--status", "at-customs", "--at", "2024-05-08", "--estimate", "2024-05-22"] + server.flags(.warehouse))
            #expect(revised.status == 0, "\(revised)")
            let after = try await cli.run(["order", "show", "SO-9001", "--json"] + server.flags(.sales))
            let estimate = try object(after)["estimated_delivery"] as? [String: Any]
            #expect((estimate?["at"] as? String)?.hasPrefix("2024-05-22") == true, "the revised estimate governs: \(after)")
        }
    }

    @Test func anonymousRatingsAreKept() async throws {
        try await withServer { server, cli in
            let rate = try await cli.run(["rate", "--stars", "4", "--source", "google-review"] + server.flags(.sales))
            #expect(rate.status == 0, "\(rate)")
        }
    }
}

/// A loopback port nothing listens on (bound, then closed).
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

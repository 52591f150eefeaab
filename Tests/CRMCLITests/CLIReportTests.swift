import CRMClient
import CRMCommandLine
import CRMMessages
import CRMServerTesting
import CRMWire
import Foundation
import Testing

/// Reports, ratings and order benefits through the `crm` binary against a real server.
extension CLIAgainstServerTests {
    /// Opens a complaint about SO-9001 and decides a refund of 2 broken mugs (Rp 90.000), at the server's clock.
    func decideRefund(_ server: TestServer, _ cli: CLIRunner) async throws {
        let id = try await openComplaint(server, cli)
        for (verb, extra) in [("review", [String]()), ("decide", ["--resolution", "refund", "--rationale", "photos", "--item", "MUG-01:10:10:2:45000"])] {
            let result = try await cli.run(["complaint", verb, id] + extra + server.flags(.afterSales))
            #expect(result.status == 0, "\(verb): \(result)")
        }
    }

    @Test func relativePeriodsFindWhatHappenedToday() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            try await decideRefund(server, cli)
            let today = try await cli.run(["report", "refunds", "--period", "today", "--json"] + server.flags(.supervisor))
            #expect(try object(today)["grand_total_rupiah"] as? Int == 90_000, "\(today)")
            let thisMonth = try await cli.run(["report", "refunds", "--period", "this-month"] + server.flags(.supervisor))
            #expect(thisMonth.stdout.contains("Total refunds: Rp 90.000"), "\(thisMonth)")
            let lastYear = try await cli.run(["report", "refunds", "--period", "last-year", "--json"] + server.flags(.supervisor))
            #expect(try object(lastYear)["grand_total_rupiah"] as? Int == 0, "\(lastYear)")
            let both = try await cli.run(["report", "refunds", "--period", "today", "--from", "2024-01-01"] + server.flags(.supervisor))
            #expect(both.status == 2 && both.stderr.contains("--period today names the whole period"), "\(both)")
            let none = try await cli.run(["report", "sla"] + server.flags(.supervisor))
            #expect(none.status == 2 && none.stderr.contains("--period this-month"), "\(none)")
            let tiers = try await cli.run(["report", "tiers", "--period", "last-month", "--json"] + server.flags(.supervisor))
            #expect(tiers.status == 0, "\(tiers)")
        }
    }

    @Test func complaintVolumeAsATableJSONAndAChart() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            try await decideRefund(server, cli)
            _ = try await openComplaint(server, cli, category: "lost-at-customs", order: "SO-9002", customer: "oms:C-9002")
            let json = try await cli.run(["report", "volume", "--period", "this-year", "--by", "month", "--json"] + server.flags(.supervisor))
            #expect(json.status == 0, "\(json)")
            let view = try object(json)
            #expect(view["opened_total"] as? Int == 2, "\(json)")
            let rows = try #require(view["rows"] as? [[String: Any]], "\(json)")
            #expect(rows.reduce(0) { $0 + ($1["opened"] as? Int ?? 0) } == 2, "\(json)")
            let text = try await cli.run(["report", "volume", "--period", "this-year", "--by", "month"] + server.flags(.supervisor))
            #expect(text.stdout.contains("Opened per bucket") && text.stdout.contains("█"), "\(text)")
            // This month's bucket holds both: its bar is the longest.
            let month = String(BusinessTime.day(BusinessTime.nowMs()).prefix(7))
            #expect(text.stdout.split(separator: "\n").contains { $0.hasPrefix(month) && $0.filter { $0 == "█" }.count == 40 }, "\(text)")
            let agent = try await cli.run(["report", "volume", "--period", "today"] + server.flags(.sales))
            #expect(agent.status == 4, "reports are for supervisors: \(agent)")
        }
    }

    @Test func retentionAndValueOverImportedOrders() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            try await name(server, Handle(kind: .orderSystemID, value: "C-9001"), "Budi Santoso")
            let retention = try await cli.run(["report", "retention", "--from", "2024-04-01", "--to", "2024-05-31", "--json"] + server.flags(.supervisor))
            let r = try object(retention)
            #expect(r["buying_customers"] as? Int == 2, "\(retention)")
            let rows = try #require(r["rows"] as? [[String: Any]], "\(retention)")
            #expect(rows.map { $0["new_customers"] as? Int } == [0, 2], "April had no buyers, May two new ones: \(retention)")
            let chart = try await cli.run(["report", "retention", "--from", "2024-04-01", "--to", "2024-05-31"] + server.flags(.supervisor))
            #expect(chart.stdout.contains("2024-05") && chart.stdout.contains("2 (2 new, 0 returning)"), "\(chart)")

            let value = try await cli.run(["report", "value", "--from", "2024-05-01", "--to", "2024-05-31", "--top", "5", "--json"] + server.flags(.supervisor))
            let v = try object(value)
            // Rp 510.000 of goods and Rp 20.000 shipping.
            let top = try #require((v["rows"] as? [[String: Any]])?.first, "\(value)")
            #expect(top["display_name"] as? String == "Budi Santoso" && top["order_value_rupiah"] as? Int == 530_000, "\(value)")
            #expect(v["customers_total"] as? Int == 2, "\(value)")
            let table = try await cli.run(["report", "value", "--from", "2024-05-01", "--to", "2024-05-31"] + server.flags(.supervisor))
            #expect(table.stdout.contains("Budi Santoso") && table.stdout.contains("Rp 530.000") && table.stdout.contains("Net value"), "\(table)")
            let tooMany = try await cli.run(["report", "value", "--period", "today", "--top", "0"] + server.flags(.supervisor))
            #expect(tooMany.status == 2 && tooMany.stderr.contains("--top must be 1 to 1000"), "\(tooMany)")
        }
    }

    @Test func ratingsAreListedNewestFirstAndFiltered() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            for (stars, comment) in [(5, "fast"), (1, "mug broken"), (4, "fine")] {
                let rate = try await cli.run(["rate", "oms:C-9001", "--stars", "\(stars)", "--comment", comment, "--order", "SO-9001"] + server.flags(.sales))
                #expect(rate.status == 0, "\(rate)")
            }
            let all = try await cli.run(["ratings", "list", "oms:C-9001", "--json"] + server.flags(.sales))
            let items = try #require(try object(all)["items"] as? [[String: Any]], "\(all)")
            #expect(items.compactMap { $0["comment"] as? String } == ["fine", "mug broken", "fast"], "newest first: \(all)")
            #expect(items.allSatisfy { $0["order_number"] as? String == "SO-9001" }, "\(all)")
            let low = try await cli.run(["ratings", "list", "--stars", "1", "--stars", "2"] + server.flags(.sales))
            #expect(low.stdout.contains("mug broken") && !low.stdout.contains("fast") && low.stdout.contains("★☆☆☆☆"), "\(low)")
            let paged = try await cli.run(["ratings", "list", "--limit", "2"] + server.flags(.sales))
            #expect(paged.stdout.contains("More: --page-token"), "\(paged)")
            let bad = try await cli.run(["ratings", "list", "--stars", "6"] + server.flags(.sales))
            #expect(bad.status == 2 && bad.stderr.contains("give 1 to 5"), "\(bad)")
        }
    }

    @Test func orderBenefitsOfAStoredOrderAndOfADraft() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let stored = try await cli.run(["order", "benefits", "SO-9001", "--json"] + server.flags(.sales))
            #expect(stored.status == 0, "\(stored)")
            let s = try object(stored)
            #expect(s["tier"] as? String == "silver", "\(stored)")
            let kinds = (s["benefits"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } ?? []
            #expect(kinds.contains("free-shipping-jabodetabek"), "\(stored)")

            // Rp 1.350.000 to Bekasi: free shipping applies; the instalment plan splits it in two.
            let draft = try await cli.run(
                ["order", "benefits", "--item", "MUG-01:30:45000", "--city", "Kota Bekasi", "--instalment", "--json"] + server.flags(.sales))
            let d = try object(draft)
            let free = (d["benefits"] as? [[String: Any]])?.first { $0["kind"] as? String == "free-shipping-jabodetabek" }
            #expect(free?["applies"] as? Bool == true, "\(draft)")
            let plan = d["instalment_plan"] as? [String: Any]
            #expect(plan?["down_payment_percent"] as? Int == 50, "\(draft)")
            let table = try await cli.run(["order", "benefits", "--item", "MUG-01:30:45000", "--city", "Kota Bekasi"] + server.flags(.sales))
            #expect(table.stdout.contains("free-shipping-jabodetabek") && table.stdout.contains("Total saving"), "\(table)")

            let both = try await cli.run(["order", "benefits", "SO-9001", "--item", "MUG-01:1:1"] + server.flags(.sales))
            #expect(both.status == 2 && both.stderr.contains("not both"), "\(both)")
            let malformed = try await cli.run(["order", "benefits", "--item", "MUG-01:thirty:45000"] + server.flags(.sales))
            #expect(malformed.status == 2 && malformed.stderr.contains("SKU:QUANTITY:UNIT_PRICE"), "\(malformed)")
        }
    }
}

/// What a rating and an order keep beyond the basics: where a rating was given, and who receives an order where.
extension CLIAgainstServerTests {
    @Test func aRatingKeepsItsSourceChannelAndComplaintAndReportsFilterByThem() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            for (stars, source, channel) in [(5, "google-review", "whatsapp"), (1, "google-review", "email"), (3, "post-contact-survey", "sms")] {
                let rate = try await cli.run(
                    ["rate", "oms:C-9001", "--stars", "\(stars)", "--source", source, "--channel", channel, "--complaint", "CMP-1"] + server.flags(.sales))
                #expect(rate.status == 0, "\(rate)")
            }
            let google = try await cli.run(["ratings", "list", "--source", "google-review", "--json"] + server.flags(.sales))
            let items = try #require(try object(google)["items"] as? [[String: Any]], "\(google)")
            #expect(items.count == 2 && items.allSatisfy { $0["source"] as? String == "google-review" }, "\(google)")
            #expect(Set(items.compactMap { $0["channel"] as? String }) == ["whatsapp", "email"], "\(google)")
            #expect(items.allSatisfy { $0["complaint_id"] as? String == "CMP-1" }, "\(google)")
            let table = try await cli.run(["ratings", "list", "--source", "post-contact-survey"] + server.flags(.sales))
            #expect(table.stdout.contains("post-contact-survey") && table.stdout.contains("sms") && !table.stdout.contains("google"), "\(table)")

            let report = try await cli.run(["report", "ratings", "--source", "google-review", "--json"] + server.flags(.supervisor))
            #expect(report.status == 0, "\(report)")
            #expect(try object(report)["total"] as? Int == 2, "\(report)")
            #expect(try object(report)["average_x100"] as? Int == 300, "(5 + 1) / 2: \(report)")
            let all = try await cli.run(["report", "ratings", "--json"] + server.flags(.supervisor))
            #expect(try object(all)["total"] as? Int == 3, "\(all)")
        }
    }

    @Test func anOrderKeepsItsRecipientPhoneAndAddressAndRefusesABadPhoneByLine() async throws {
        try await withServer { server, cli in
            let csv = try cli.file("orders.csv", """
                order_number,customer,placed,sku,quantity,unit_price,recipient,phone,address,area,city,province,postal_code
                SO-1,oms:C-1,2024-05-01,MUG-01,10,45000,Budi Santoso,0812-3456-7890,"Jl. Melati 5, RT 2",Bekasi Barat,Kota Bekasi,Jawa Barat,17134
                SO-2,oms:C-2,2024-05-01,MUG-01,1,45000,Sari,12345,Jl. Mawar 1,,Bogor,,

                """)
            let result = try await cli.run(["order", "import", csv] + server.flags(.adapter))
            #expect(result.status != 0, "a rejected row makes the import fail: \(result)")
            #expect(result.stdout.contains("line 3") || result.stderr.contains("line 3"), "\(result)")
            #expect((result.stdout + result.stderr).contains("\"12345\" is not a whole Indonesian number"), "\(result)")

            let show = try await cli.run(["order", "show", "SO-1"] + server.flags(.sales))
            #expect(show.stdout.contains("Budi Santoso, 0812-3456-7890, Jl. Melati 5, RT 2, Bekasi Barat, Kota Bekasi, Jawa Barat 17134"), "\(show)")
            let json = try await cli.run(["order", "show", "SO-1", "--json"] + server.flags(.sales))
            let delivery = try #require(try object(json)["delivery"] as? [String: Any], "\(json)")
            #expect(delivery["recipient"] as? String == "Budi Santoso" && delivery["postal_code"] as? String == "17134", "\(json)")
            let missing = try await cli.run(["order", "show", "SO-2"] + server.flags(.sales))
            #expect(missing.status == 3, "the order with the bad phone was not stored: \(missing)")
        }
    }
}

/// Web-chat visitors are handles: their own conversation until a stated handle or an agent joins them to a customer.
extension CLIAgainstServerTests {
    @Test func aWebChatVisitorIsACustomerUntilAStatedHandleJoinsThemToAnother() async throws {
        try await withServer { server, cli in
            let visitor = Handle(kind: .webChatVisitor, value: "v-8812")
            let budi = Handle(kind: .email, value: "budi@example.com")
            try await push(server, "mail-1", budi, .email, at: Self.may1, body: "Kapan SO-9001 dikirim?")
            try await push(server, "chat-1", visitor, .webChat, at: Self.may1 + 60_000, body: "Halo, ada yang bisa bantu?")
            let alone = try await cli.run(["timeline", "webchat:v-8812", "--json"] + server.flags(.sales))
            #expect(alone.status == 0, "a visitor's conversation is its own: \(alone)")
            #expect((try object(alone)["items"] as? [[String: Any]])?.count == 1, "\(alone)")

            // The visitor states the e-mail: the chat joins Budi's timeline, whichever came first.
            let adapter = try await server.client(as: .adapter)
            var interaction = Interaction()
            interaction.key = IdempotencyKey(adapterID: "test-adapter", externalID: "chat-2")
            interaction.channel = .webChat
            interaction.direction = .inbound
            interaction.handle = visitor
            interaction.occurredMs = Self.may1 + 120_000
            interaction.body = "email saya budi@example.com"
            interaction.summary = interaction.body
            interaction.statedHandles = [budi]
            let response = try await adapter.interactions.pushInteraction(PushInteractionRequest(interaction: interaction))
            await adapter.close()
            #expect(response.outcome == .accepted)
            let joined = try await cli.run(["timeline", "email:budi@example.com", "--json"] + server.flags(.sales))
            #expect((try object(joined)["items"] as? [[String: Any]])?.count == 3, "\(joined)")
            let profile = try await cli.run(["profile", "show", "webchat:v-8812"] + server.flags(.sales))
            #expect(profile.stdout.contains("budi@example.com") && profile.stdout.contains("v-8812"), "\(profile)")
        }
    }
}

/// `crm watch … --since` replays from the store, so a restart loses nothing of the history.
extension CLIAgainstServerTests {
    @Test func watchesReplayTheirHistoryFromTheStoreAfterARestart() async throws {
        let first = try await TestServer.start(clock: .wall())
        let cli = try CLIRunner()
        var server = first
        do {
            try await importOrders(server, cli)
            try await push(server, "wa-replay", Handle(kind: .phone, value: "0812-3456-789"), .whatsapp, at: Self.may1, body: "Mugnya pecah")
            try await decideRefund(server, cli)
            let profile = try await cli.run(["profile", "show", "oms:C-9001", "--json"] + server.flags(.sales))
            let customerID = try #require(try object(profile)["customer_id"] as? String, "\(profile)")

            server = try await server.restarted()
            let today = BusinessTime.day(BusinessTime.nowMs())

            let (complaints, complaintsPipe) = try await cli.start(["watch", "complaints", "--since", today, "--json"] + server.flags(.supervisor))
            let changes = await readLines(complaintsPipe, count: 3, orStop: complaints)
            complaints.interrupt()
            complaints.waitUntilExit()
            let kinds = changes.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["kind"] as? String }
            #expect(kinds == ["opened", "transitioned", "transitioned"], "opening, review and decision, from the store: \(changes)")
            #expect(changes.last?.contains("\"decided\"") == true, "the complaint as it stood after each step: \(changes)")

            let (interactions, interactionsPipe) = try await cli.start(["watch", "interactions", "--since", "2024-05-01", "--json"] + server.flags(.sales))
            let messages = await readLines(interactionsPipe, count: 1, orStop: interactions)
            interactions.interrupt()
            interactions.waitUntilExit()
            #expect(messages.first?.contains("Mugnya pecah") == true, "\(messages)")
            let (notices, noticesPipe) = try await cli.start(["watch", "notices", "--since", today, "--json"] + server.flags(.customer(customerID)))
            let sent = await readLines(noticesPipe, count: 1, orStop: notices)
            notices.interrupt()
            notices.waitUntilExit()
            let notice = try #require(sent.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }, "\(sent)")
            #expect(notice["kind"] as? String == "complaint-updated" && (notice["headline"] as? String)?.contains("decided") == true, "\(sent)")

            // Live after the replay, and nothing replayed twice.
            let (live, livePipe) = try await cli.start(["watch", "complaints", "--since", today, "--json"] + server.flags(.supervisor))
            try await server.waitForWatchers(1)
            _ = try await openComplaint(server, cli, category: "lost-at-customs", order: "SO-9002", customer: "oms:C-9002")
            let all = await readLines(livePipe, count: 4, orStop: live)
            live.interrupt()
            live.waitUntilExit()
            #expect(all.count == 4 && all.last?.contains("lost-at-customs") == true, "three replayed, then the new one: \(all)")
        } catch {
            cli.cleanUp()
            await server.stop()
            throw error
        }
        cli.cleanUp()
        await server.stop()
    }
}

/// Past ratings brought in from a file, counted at the time each was given.
extension CLIAgainstServerTests {
    @Test func pastRatingsAreImportedWithTheirDatesAndBadRowsReportedByLine() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let csv = try cli.file("ratings.csv", """
                external_id,customer,stars,comment,source,channel,order,rated
                g-1,,5,"Cepat, rapi",google-review,,,2024-01-15
                g-2,oms:C-9001,1,Mug pecah,post-contact-survey,whatsapp,SO-9001,2024-05-03T14:30
                g-3,oms:C-9001,7,,google-review,,,2024-02-01
                g-1,,4,again,google-review,,,2024-03-01
                g-4,phone:0899-0000-0000,3,unknown customer,,,,2024-04-01
                g-5,,4,later,self-service,,,2024-07-01

                """)
            let first = try await cli.run(["ratings", "import", csv] + server.flags(.sales))
            #expect(first.status == 5, "rows were rejected: \(first)")
            let out = first.stdout + first.stderr
            #expect(out.contains("line 4 (g-3): stars '7' is not 1 to 5"), "\(first)")
            #expect(out.contains("line 5 (g-1): external_id g-1 is given on line 2 already"), "\(first)")
            #expect(out.contains("line 6 (g-4)"), "a customer the server does not know: \(first)")
            #expect(out.contains("3 imported"), "\(first)")

            let again = try await cli.run(["ratings", "import", csv, "--json"] + server.flags(.sales))
            #expect(try object(again)["duplicate"] as? Int == 3 && object(again)["accepted"] as? Int == 0, "\(again)")

            let report = try await cli.run(["report", "ratings", "--from", "2024-01-01", "--to", "2024-05-31", "--json"] + server.flags(.supervisor))
            #expect(try object(report)["total"] as? Int == 2, "January and May, not July: \(report)")
            let listed = try await cli.run(["ratings", "list", "oms:C-9001", "--json"] + server.flags(.sales))
            let item = try #require((try object(listed)["items"] as? [[String: Any]])?.first, "\(listed)")
            #expect((item["rated"] as? [String: Any])?["at"] as? String == "2024-05-03T14:30:00+07:00", "\(listed)")
            #expect(item["source"] as? String == "post-contact-survey" && item["order_number"] as? String == "SO-9001", "\(listed)")
        }
    }
}

/// Past complaints brought in with their times, reported like live ones.
extension CLIAgainstServerTests {
    @Test func pastComplaintsAreImportedAndTheSeedsLostAtCustomsRecapIsReproduced() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let today = BusinessTime.day(BusinessTime.nowMs())
            let csv = try cli.file("complaints.csv", """
                external_id,customer,order,category,opened,sku,item_name,ordered,received,broken,unit_price,resolution,settled,rationale,refund,informed,closed,reason
                LAC-01,oms:C-9001,SO-2401,lost-at-customs,2024-01-10,MUG-01,Mug,10,8,0,45000,refund,2024-01-20,held at customs,90000,2024-01-21,2024-01-25,
                LAC-02,oms:C-9001,SO-2402,lost-at-customs,2024-03-02,CUP-01,Cup,20,15,0,10000,refund,2024-03-15T10:30,2 boxes missing,,2024-03-16,2024-03-20,
                LAC-02,oms:C-9001,SO-2402,lost-at-customs,2024-03-02,PLATE-01,Plate,5,5,0,30000,,,,,,,
                LAC-03,oms:C-9002,SO-2403,lost-at-customs,2024-05-05,BOWL-01,Bowl,4,0,0,25000,refund,2024-05-30,all lost,100000,,,
                BRK-01,oms:C-9002,SO-2404,broken,2024-02-01,MUG-01,Mug,6,6,2,45000,refund,2024-02-03,,90000,,,
                LAC-04,oms:C-9002,SO-2405,lost-at-customs,2024-06-02,BOWL-01,Bowl,4,0,0,25000,refund,2024-06-10,,100000,,,
                REJ-01,oms:C-9001,SO-2408,lost-at-customs,2024-02-10,,,,,,,rejected,2024-02-12,,,2024-02-13,2024-02-14,arrived after all
                BAD-01,oms:C-9001,SO-2406,lost-at-customs,2024-04-01,MUG-01,Mug,10,8,0,45000,refund,2024-04-10,,50000,,,
                BAD-02,oms:C-9001,SO-2407,broken,2024-04-01,MUG-01,Mug,10,10,2,45000,,,,,2024-04-02,,
                NOW-01,oms:C-9001,SO-9001,broken,\(today),MUG-01,Mug,10,10,2,45000,refund,\(today),,90000,,,

                """)
            let first = try await cli.run(["complaint", "import", csv] + server.flags(.supervisor))
            #expect(first.status == 5, "two rows were refused: \(first)")
            let out = first.stdout + first.stderr
            #expect(out.contains("(BAD-01)") && out.contains("is Rp 50.000 but the items and adjustments give Rp 90.000"), "\(first)")
            #expect(out.contains("(BAD-02)") && out.contains("informed but no decision or rejection"), "\(first)")
            #expect(out.contains("7 imported"), "\(first)")
            let agents = try await cli.run(["complaint", "import", csv] + server.flags(.afterSales))
            #expect(agents.status == 4, "imports are for supervisors: \(agents)")
            let again = try await cli.run(["complaint", "import", csv, "--json"] + server.flags(.supervisor))
            #expect(try object(again)["duplicate"] as? Int == 7 && object(again)["accepted"] as? Int == 0, "\(again)")

            // The seed's recap: Lost at Customs, January to May 2024, by month.
            let recap = try await cli.run(
                ["report", "refunds", "--from", "2024-01-01", "--to", "2024-05-31", "--category", "lost-at-customs", "--by", "month", "--json"]
                    + server.flags(.supervisor))
            let r = try object(recap)
            #expect(r["grand_total_rupiah"] as? Int == 90_000 + 50_000 + 100_000, "June's is outside: \(recap)")
            let rows = (r["rows"] as? [[String: Any]] ?? []).filter { ($0["complaints_decided"] as? Int ?? 0) > 0 }
            #expect(rows.map { $0["from"] as? String } == ["2024-01-01", "2024-03-01", "2024-05-01"], "\(recap)")
            #expect(rows.map { $0["refund_rupiah"] as? Int } == [90_000, 50_000, 100_000], "\(recap)")

            // A complaint imported with today's times counts like the same complaint decided live today.
            try await decideRefund(server, cli)
            let todays = try await cli.run(["report", "refunds", "--period", "today", "--category", "broken", "--json"] + server.flags(.supervisor))
            let t = try object(todays)
            #expect(t["grand_total_rupiah"] as? Int == 2 * 90_000, "\(todays)")
            let decided = (t["rows"] as? [[String: Any]])?.reduce(0) { $0 + ($1["complaints_decided"] as? Int ?? 0) }
            #expect(decided == 2, "\(todays)")

            // The imported complaint reads back with its history at the recorded times.
            let list = try await cli.run(["complaint", "list", "--order", "SO-2402", "--json"] + server.flags(.sales))
            let id = try #require((try object(list)["items"] as? [[String: Any]])?.first?["complaint_id"] as? String, "\(list)")
            let show = try await cli.run(["complaint", "show", id, "--json"] + server.flags(.sales))
            let s = try object(show)
            #expect(s["state"] as? String == "closed", "\(show)")
            let steps = (s["transitions"] as? [[String: Any]])?.compactMap { ($0["at"] as? [String: Any])?["at"] as? String }
            #expect(steps == ["2024-03-15T10:30:00+07:00", "2024-03-15T10:30:00+07:00", "2024-03-16T00:00:00+07:00", "2024-03-20T00:00:00+07:00"], "\(show)")
        }
    }
}

/// `crm call`: any method by name with JSON.
extension CLIAgainstServerTests {
    @Test func anyMethodCanBeCalledByNameWithJSON() async throws {
        try await withServer { server, cli in
            try await importOrders(server, cli)
            let list = try await cli.run(["call"] + server.flags(.sales))
            #expect(list.status == 0 && list.stdout.contains("/crm.v1.ProfileService/GetCallerSnapshot") && list.stdout.contains("client-streaming"), "\(list)")

            let snapshot = try await cli.run(
                ["call", "ProfileService/GetCallerSnapshot", "--data", #"{"customer": {"handle": {"kind": "HANDLE_KIND_PHONE", "value": "0812-3456-789"}}}"#]
                    + server.flags(.sales))
            #expect(snapshot.status == 0, "\(snapshot)")
            let s = try object(snapshot)
            #expect(s["known"] as? Bool == true, "\(snapshot)")
            let counters = (s["snapshot"] as? [String: Any])?["counters"] as? [String: Any]
            #expect(counters?["ordersTotal"] as? Int == 1, "\(snapshot)")

            // A client stream: one request per line on standard input.
            let lines = (1...3).map { n in
                #"{"interaction": {"key": {"adapterId": "call-test", "externalId": "m-\#(n)"}, "channel": "CHANNEL_WHATSAPP", "direction": "DIRECTION_INBOUND", "handle": {"kind": "HANDLE_KIND_PHONE", "value": "0812-3456-789"}, "occurredMs": "1714496400000", "summary": "halo \#(n)"}}"#
            }.joined(separator: "\n")
            let pushed = try await cli.run(["call", "crm.v1.InteractionService/PushInteractions"] + server.flags(.adapter), stdin: lines)
            #expect(pushed.status == 0, "\(pushed)")
            #expect(try object(pushed)["acceptedCount"] as? String == "3", "64-bit counts are strings: \(pushed)")

            let unknownField = try await cli.run(["call", "ProfileService/GetCallerSnapshot", "--data", #"{"handle": {}}"#] + server.flags(.sales))
            #expect(unknownField.status == 2 && unknownField.stderr.contains(#"has no field "handle"; its fields are customer, channel, statedIntent"#), "\(unknownField)")
            let notJSON = try await cli.run(["call", "ProfileService/GetCallerSnapshot", "--data", "{customer"] + server.flags(.sales))
            #expect(notJSON.status == 2 && notJSON.stderr.contains("is not JSON"), "\(notJSON)")
            let unknownMethod = try await cli.run(["call", "ProfileService/GetProfil"] + server.flags(.sales))
            #expect(unknownMethod.status == 2 && unknownMethod.stderr.contains("serves no method"), "\(unknownMethod)")
            let denied = try await cli.run(["call", "ReportService/GetTierDistribution"] + server.flags(.sales))
            #expect(denied.status == 4, "the server's access rules hold for calls by name: \(denied)")
        }
    }
}

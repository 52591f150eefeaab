import CRMCommandLine
import CRMMessages
import CRMWire
import Testing

@testable import crm

@Suite struct HandleSyntaxTests {
    @Test func kindsAndAliases() throws {
        #expect(try HandleSyntax.handle("phone:0812-3456-789") == Handle(kind: .phone, value: "0812-3456-789"))
        #expect(try HandleSyntax.handle("email:a@b.c") == Handle(kind: .email, value: "a@b.c"))
        #expect(try HandleSyntax.handle("instagram:@name") == Handle(kind: .instagram, value: "@name"))
        #expect(try HandleSyntax.handle("IG:@name") == Handle(kind: .instagram, value: "@name"))
        #expect(try HandleSyntax.handle("wa:+62 812 3456 789") == Handle(kind: .whatsapp, value: "+62 812 3456 789"))
        #expect(try HandleSyntax.handle("oms:C-1001") == Handle(kind: .orderSystemID, value: "C-1001"))
        #expect(try HandleSyntax.selector("id:cus_42") == CustomerSelector(target: .customerID("cus_42")))
    }

    @Test func theValueMayHoldColons() throws {
        #expect(try HandleSyntax.handle("webchat:v:1:2") == Handle(kind: .webChatVisitor, value: "v:1:2"))
    }

    @Test(arguments: ["0812-3456-789", "pager:123", "phone:", "phone:   "])
    func badTextSaysWhatToType(_ text: String) {
        do {
            _ = try HandleSyntax.selector(text)
            Issue.record("\(text) parsed")
        } catch {
            let message = "\(error)"
            #expect(message.contains("kind:value"), "\(message)")
            #expect(message.contains("phone:0812-3456-789"), "\(message)")
        }
    }

    @Test func aCustomerIDIsNotAHandle() {
        #expect(throws: (any Error).self) { try HandleSyntax.handle("id:cus_42") }
    }

    @Test func formatRoundTrips() throws {
        for text in ["phone:0812", "email:a@b.c", "whatsapp:+62812", "instagram:x", "tiktok:y", "facebook:z", "oms:C-1", "webchat:v"] {
            #expect(HandleSyntax.format(try HandleSyntax.handle(text)) == text)
        }
    }
}

@Suite struct EnumArgumentTests {
    @Test func labelsComeFromTheProtoNames() {
        #expect(enumLabel(Channel.instagramDm) == "instagram-dm")
        #expect(enumLabel(ComplaintState.waitingOnSupplier) == "waiting-on-supplier")
        #expect(enumLabel(ComplaintCategory.lostAtCustoms) == "lost-at-customs")
        #expect(enumLabel(ResolutionKind.noCompensation) == "no-compensation")
        #expect(enumLabel(Channel.unrecognized(99)) == "99")
    }

    @Test func parsesLabelsAndRefusesUnspecified() {
        #expect(EnumArgument<ComplaintCategory>(argument: "out-of-stock")?.value == .outOfStock)
        #expect(EnumArgument<ComplaintCategory>(argument: "OUT_OF_STOCK")?.value == .outOfStock)
        #expect(EnumArgument<ComplaintCategory>(argument: "unspecified") == nil)
        #expect(EnumArgument<ComplaintCategory>(argument: "broke") == nil)
        #expect(EnumArgument<ComplaintCategory>.allValueStrings == ["out-of-stock", "lost-at-customs", "broken", "return"])
    }
}

@Suite struct DateAndMoneyTests {
    @Test func daysAreJakartaDays() throws {
        // 2024-05-01T00:00+07:00 is 2024-04-30T17:00Z.
        #expect(try BusinessTime.startOfDay("2024-05-01") == 1_714_496_400_000)
        #expect(try BusinessTime.endOfDay("2024-05-01") == 1_714_496_400_000 + 86_400_000)
        #expect(BusinessTime.day(1_714_496_400_000) == "2024-05-01")
        #expect(BusinessTime.rfc3339(1_714_496_400_000) == "2024-05-01T00:00:00+07:00")
    }

    @Test func momentsAreJakartaTimes() throws {
        #expect(try BusinessTime.moment("2024-05-01") == 1_714_496_400_000)
        #expect(try BusinessTime.moment("2024-05-01T14:30") == 1_714_496_400_000 + 14 * 3_600_000 + 30 * 60_000)
        #expect(try BusinessTime.moment("2024-05-01 00:05") == 1_714_496_400_000 + 5 * 60_000)
        for bad in ["2024-05-01T24:00", "2024-05-01T9:30", "2024-05-01T", "2024-05-32T10:00"] {
            #expect(throws: (any Error).self, "\(bad)") { try BusinessTime.moment(bad) }
        }
    }

    @Test(arguments: ["2024-5-1", "01-05-2024", "2024-02-30", "yesterday", "2024-13-01"])
    func badDatesSayTheForm(_ text: String) {
        do {
            _ = try BusinessTime.startOfDay(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect("\(error)".contains("YYYY-MM-DD"))
        }
    }

    @Test func rangesAreInclusiveOfTheLastDay() throws {
        let range = try #require(try timeRange(from: "2024-01-01", to: "2024-01-31"))
        #expect(range.toMs - range.fromMs == 31 * 86_400_000)
        #expect(try timeRange(from: nil, to: nil) == nil)
        #expect(throws: (any Error).self) { try timeRange(from: "2024-02-01", to: "2024-01-01") }
    }

    @Test func rupiah() throws {
        #expect(try parseRupiah("45000", field: "x") == 45_000)
        #expect(try parseRupiah("45.000", field: "x") == 45_000)
        #expect(try parseRupiah("Rp 1.250.000", field: "x") == 1_250_000)
        #expect(throws: (any Error).self) { try parseRupiah("45k", field: "x") }
        #expect(formatRupiah(1_250_000) == "Rp 1.250.000")
        #expect(formatRupiah(0) == "Rp 0")
        #expect(formatRupiah(-45_000) == "-Rp 45.000")
        #expect(formatPercent(9523) == "95.23%")
        #expect(formatPercent(5) == "0.05%")
    }

    @Test func items() throws {
        let item = try parseAffectedItem("MUG-01:10:7:2:45.000")
        #expect(item == AffectedItem(sku: "MUG-01", quantityOrdered: 10, quantityReceived: 7, quantityBroken: 2,
            paidUnitPriceRupiah: 45_000, correctUnitPriceRupiah: 45_000))
        #expect(try parseAffectedItem("A:1:1:0:100:90").correctUnitPriceRupiah == 90)
        #expect(throws: (any Error).self) { try parseAffectedItem("MUG-01:10:7") }
        #expect(throws: (any Error).self) { try parseAffectedItem("MUG-01:10:1:2:45000") }
        #expect(try parseQualityItem("MUG-01:3:2:one mug: intact").finding == "one mug: intact")
        #expect(throws: (any Error).self) { try parseQualityItem("MUG-01:2:3") }
    }

    @Test func servers() throws {
        #expect(try parseServer("crm.example.id:7443") == ("crm.example.id", 7443))
        #expect(try parseServer("[::1]:9000") == ("::1", 9000))
        #expect(try parseServer("localhost").port == 7443)
        #expect(throws: (any Error).self) { try parseServer("host:http") }
        #expect(throws: (any Error).self) { try parseServer(":7443") }
    }
}

@Suite struct RelativePeriodTests {
    /// 2024-03-01 02:00 in Jakarta (a Friday in a leap year): 2024-02-29 19:00 UTC.
    static let now: Int64 = 1_709_233_200_000

    func days(_ range: TimeRange) -> String { "\(BusinessTime.day(range.fromMs))..\(BusinessTime.day(range.toMs - 1))" }

    @Test(arguments: [
        (RelativePeriod.today, "2024-03-01..2024-03-01"), (.yesterday, "2024-02-29..2024-02-29"),
        (.thisWeek, "2024-02-26..2024-03-03"), (.lastWeek, "2024-02-19..2024-02-25"),
        (.thisMonth, "2024-03-01..2024-03-31"), (.lastMonth, "2024-02-01..2024-02-29"),
        (.thisYear, "2024-01-01..2024-12-31"), (.lastYear, "2023-01-01..2023-12-31"),
    ])
    func periodsAreWholeCalendarPeriodsInJakartaTime(_ period: RelativePeriod, _ expected: String) {
        let range = period.range(nowMs: Self.now)
        #expect(days(range) == expected)
        // Each starts and ends at a Jakarta midnight.
        #expect((range.fromMs + 7 * 3_600_000) % 86_400_000 == 0 && (range.toMs + 7 * 3_600_000) % 86_400_000 == 0)
    }

    @Test func aPeriodAndDaysTogetherAreRefused() throws {
        #expect(throws: (any Error).self) { try reportPeriod(from: "2024-01-01", to: nil, period: .thisMonth, nowMs: Self.now) }
        #expect(try reportPeriod(from: nil, to: nil, period: nil, nowMs: Self.now) == nil)
        #expect(try reportPeriod(from: nil, to: nil, period: .lastMonth, nowMs: Self.now).map(days) == "2024-02-01..2024-02-29")
        #expect(try reportPeriod(from: "2024-01-01", to: "2024-01-31", period: nil).map(days) == "2024-01-01..2024-01-31")
    }

    @Test func namesAreTheWordsOfTheHelp() {
        #expect(RelativePeriod(argument: "This-Month") == .thisMonth)
        #expect(RelativePeriod(argument: "next-month") == nil)
        #expect(RelativePeriod.allValueStrings.contains("last-year"))
    }
}

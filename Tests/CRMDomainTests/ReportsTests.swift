import Testing
@testable import CRMDomain

@Suite("Reports")
struct ReportsTests {
    @Test("The seed's rating table (768 reviews) averages 3.55, not the paper's 3.9")
    func seedRatings() throws {
        let report = try RatingReport(counts: [5: 384, 4: 77, 3: 77, 2: 38, 1: 192])
        #expect(report.total == 768)
        #expect(report.starSum == 2_727)          // 1920 + 308 + 231 + 76 + 192
        #expect(report.average == Hundredths(355)) // 2727 / 768 = 3.5508 → 3.55 (half up)
        #expect(report.average?.description == "3.55")
        #expect([5, 4, 3, 2, 1].map { report.share(stars: $0).description } == ["50.00%", "10.03%", "10.03%", "4.95%", "25.00%"])
    }

    @Test("A rating report counts ratings per star value")
    func fromRatings() throws {
        let h = try phone("0812-3456-7890")
        let report = RatingReport(ratings: try [5, 5, 1, 4].map { try Rating(handle: h, stars: $0, comment: "") })
        #expect(report.counts == [1, 0, 0, 1, 2])
        #expect(report.average?.description == "3.75")
        #expect(RatingReport(ratings: []).average == nil)
        #expect(report.count(stars: 9) == 0)
    }

    @Test("Rating table refusals carry the exact reason")
    func ratingTableRefusals() {
        #expect(throws: ReportError.starsOutOfRange(6)) { try RatingReport(counts: [6: 1]) }
        #expect(throws: ReportError.negativeCount(stars: 2, count: -1)) { try RatingReport(counts: [2: -1]) }
        #expect(throws: ReportError.countsTooLarge) { try RatingReport(counts: [5: .max / 4]) }
        #expect(throws: Never.self) { try RatingReport(counts: [5: .max / 5]) }
        #expect(ReportError.starsOutOfRange(6).description == "The table has a row for 6 stars; ratings are 1 to 5 stars.")
    }

    @Test("Hundredths round half up and print two decimals")
    func hundredths() {
        #expect(Hundredths.quotient(1, 200) == Hundredths(1))        // 0.005 → 0.01
        #expect(Hundredths.quotient(1, 201) == Hundredths(0))        // 0.00497 → 0.00
        #expect(Hundredths.quotient(7, 2) == Hundredths(350))
        #expect(Hundredths.quotient(1, 0) == nil)
        #expect(Hundredths.quotient(.max, 1) == nil)                 // 100 × max does not fit: no value, no trap
        #expect(Hundredths.quotient(.max, 1_000) == Hundredths(Int64.max / 10 + 1)) // the intermediate does not overflow
        #expect(Ratio(.max, of: .max).description == "100.00%")
        #expect(Hundredths(-5).description == "-0.05")
        #expect(Ratio(0, of: 0).description == "n/a")
        #expect(Ratio(1, of: 3).description == "33.33%")
        #expect(Ratio(2, of: 3).description == "66.67%")
    }

    func decided(_ id: String, _ category: ComplaintCategory, decidedAt: Int64, refund: Int64) throws -> Complaint {
        var c = Complaint(opening: try opening(id, customer: try phone("0812-3456-7890"), category: category), openedAt: decidedAt - day)
        try c.apply(transition(.startReview, by: .afterSales, at: decidedAt - hour))
        try c.apply(transition(.decide(decision(refunding: refund)), by: .afterSales, at: decidedAt))
        return c
    }

    @Test("The refund recap groups decisions in force by Jakarta month and category")
    func refundRecap() throws {
        let jan = try CalendarMonth(year: 2024, month: 1), may = try CalendarMonth(year: 2024, month: 5)
        let period = try TimeRange(months: jan, through: may)
        let feb = try CalendarMonth(year: 2024, month: 2).startMillis
        var reopened = try decided("K-5", .lostAtCustoms, decidedAt: feb + day, refund: 999)
        try reopened.apply(transition(.informCustomer, by: .sales, at: feb + 2 * day))
        try reopened.apply(transition(.reopen(reason: "salah"), by: .sales, at: feb + 3 * day))
        let complaints = [
            try decided("K-1", .lostAtCustoms, decidedAt: jan.startMillis, refund: 1_500_000),       // first instant of January
            try decided("K-2", .lostAtCustoms, decidedAt: feb - 1, refund: 500_000),                 // last instant of January
            try decided("K-3", .lostAtCustoms, decidedAt: feb, refund: 2_000_000),
            try decided("K-4", .broken, decidedAt: feb + hour, refund: 300_000),
            try decided("K-6", .lostAtCustoms, decidedAt: may.next.startMillis, refund: 7),          // June: outside
            reopened,                                                                                  // decision voided
        ]
        let recap = RefundRecap(complaints: complaints, period: period, categories: [.lostAtCustoms])
        #expect(recap.rows == [
            RefundRecapRow(month: jan, category: .lostAtCustoms, complaints: 2, total: 2_000_000),
            RefundRecapRow(month: try CalendarMonth(year: 2024, month: 2), category: .lostAtCustoms, complaints: 1, total: 2_000_000),
        ])
        #expect(recap.grandTotal == 4_000_000)
        let all = RefundRecap(complaints: complaints, period: period)
        #expect(all.totalsByCategory.map(\.total) == [0, 4_000_000, 300_000, 0])
    }

    @Test("Complaint volume and service-level compliance count complaints opened in the period")
    func volumeAndCompliance() throws {
        let period = try TimeRange(start: jan2024, end: jan2024 + 30 * day)
        let h = try phone("0812-3456-7890")
        var fast = Complaint(opening: try opening("A", customer: h, category: .outOfStock), openedAt: jan2024)
        try fast.apply(transition(.startReview, by: .afterSales, at: jan2024 + hour))
        try fast.apply(transition(.reject(reason: "tidak terbukti"), by: .afterSales, at: jan2024 + 2 * hour))
        try fast.apply(transition(.informCustomer, by: .sales, at: jan2024 + day))
        var slow = Complaint(opening: try opening("B", customer: h, category: .broken), openedAt: jan2024 + day)
        try slow.apply(transition(.startReview, by: .afterSales, at: jan2024 + 3 * day))
        let pending = Complaint(opening: try opening("C", customer: h, category: .broken), openedAt: jan2024 + 10 * day)
        let outside = Complaint(opening: try opening("D", customer: h, category: .broken), openedAt: jan2024 + 40 * day)
        let complaints = [fast, slow, pending, outside]

        let volume = ComplaintVolume(complaints: complaints, period: period)
        #expect(volume.byCategory == [.outOfStock: 1, .lostAtCustoms: 0, .broken: 2, .customerReturn: 0])
        #expect(volume.total == 3)

        let sla = ServiceLevelCompliance(complaints: complaints, period: period, now: jan2024 + 10 * day + hour)
        #expect(sla.firstResponse == ComplianceCounts(met: 1, breached: 1, pending: 1))
        #expect(sla.firstResponse.rate.description == "50.00%")
        #expect(sla.resolution == ComplianceCounts(met: 1, breached: 1, pending: 1)) // slow: 9 days > 7
        #expect(sla.resolutionByCategory[.broken] == ComplianceCounts(met: 0, breached: 1, pending: 1))
    }

    @Test("Tier distribution counts buying customers only; repeat-purchase rate counts second orders in the period")
    func tiersAndRetention() throws {
        let now = jan2024 + 100 * day
        let facts: [Fact] = [
            try order("o1", "O1", customer: oms("A"), items: [("x", 1, 600_000_000)], placedAt: now - day),
            try order("o2", "O2", customer: oms("B"), items: [("x", 1, 100_000_000)], placedAt: now - 2 * day),
            try order("o3", "O3", customer: oms("B"), items: [("x", 1, 5)], placedAt: now - 3 * day),
            try order("o4", "O4", customer: oms("C"), items: [("x", 1, 99_999_999)], placedAt: now - 4 * day),
            try order("o5", "O5", customer: oms("D"), items: [("x", 1, 5)], placedAt: now - 5 * day),
            try track("t5", "O5", .cancelled, at: now - 5 * day),
            try message("m", from: phone("0812-3456-7890"), on: .sms, at: now),
        ]
        let profiles = ProfileProjection(facts: facts).profiles()
        #expect(profiles.count == 5)
        let tiers = TierDistribution(profiles: profiles, now: now)
        #expect(tiers.customers == [.silver: 1, .gold: 1, .diamond: 1])
        #expect(tiers.value == [.silver: 99_999_999, .gold: 100_000_005, .diamond: 600_000_000])
        #expect(tiers.total == 3)
        #expect(tiers.share(.diamond).description == "33.33%")

        let retention = RepeatPurchaseReport(profiles: profiles, period: try TimeRange(start: now - 10 * day, end: now))
        #expect(retention.buyers == 3 && retention.repeatBuyers == 1)
        #expect(retention.rate.description == "33.33%")
    }
}

@Suite("Calendar months, periods and rupiah")
struct CalendarAndMoneyTests {
    @Test("Months are Jakarta months: 2024-01-01 00:00 WIB is 2023-12-31 17:00 UTC")
    func jakartaMonths() throws {
        let jan = try CalendarMonth(year: 2024, month: 1)
        #expect(jan.startMillis == 1_704_042_000_000)
        #expect(CalendarMonth(containing: jan.startMillis) == jan)
        #expect(CalendarMonth(containing: jan.startMillis - 1) == (try CalendarMonth(year: 2023, month: 12)))
        #expect(try CalendarMonth(year: 2024, month: 2).next.next.description == "2024-04")
        #expect(try CalendarMonth(year: 2024, month: 12).next == CalendarMonth(year: 2025, month: 1))
        #expect(try CalendarMonth(year: 2024, month: 3).startMillis - CalendarMonth(year: 2024, month: 2).startMillis == 29 * day) // leap year
        #expect(CalendarMonth(containing: -1).description == "1970-01")   // 06:59 WIB on 1 January 1970
        #expect(CalendarMonth(containing: -7 * hour - 1).description == "1969-12")
    }

    @Test("Month and period refusals carry the exact reason")
    func refusals() {
        #expect(throws: CalendarMonthError.monthOutOfRange(13)) { try CalendarMonth(year: 2024, month: 13) }
        #expect(throws: CalendarMonthError.yearOutOfRange(0)) { try CalendarMonth(year: 0, month: 1) }
        #expect(throws: CalendarMonthError.yearOutOfRange(10_000)) { try CalendarMonth(year: 10_000, month: 1) }
        #expect(CalendarMonthError.yearOutOfRange(0).description == "Year 0 is outside the calendar reports use; give a year from 1 to 9999.")
        #expect(throws: TimeRangeError.endBeforeStart(start: 5, end: 4)) { try TimeRange(start: 5, end: 4) }
        #expect(CalendarMonthError.monthOutOfRange(0).description == "Month 0 does not exist; use 1 (January) to 12 (December).")
        #expect(TimeRangeError.endBeforeStart(start: 5, end: 4).code == "time_range.end_before_start")
    }

    @Test("Absurd instants give clamped answers, never a crash")
    func extremeInstants() throws {
        #expect(CalendarMonth(containing: .max).year > 9_999)
        #expect(CalendarMonth(containing: .min).year < 0)
        #expect(CalendarMonth(containing: .max).next.startMillis == .max)
        let h = try phone("0812-3456-7890")
        let profile = try #require(ProfileProjection(facts: [
            try message("m", from: h, on: .sms, intent: .informationRequest, at: .max),
            try order("o", "O", customer: h, placedAt: .min, estimate: .max),
            try openComplaint("c", "K", customer: h, at: .min),
        ]).profile(for: h))
        let early = CallerSnapshot(profile: profile, now: .min, problem: nil)
        #expect(early.tenureDays == 0)
        let late = CallerSnapshot(profile: profile, now: .max, problem: nil)
        #expect(late.tenureDays == Int64.max / day)
        #expect(late.openComplaints.first?.serviceLevel.firstResponse == .breached(elapsed: .max, stillRunning: true))
        #expect(LoyaltyPolicy.standard.tier(for: profile.orders, now: .min) == .silver)
    }

    @Test("Rupiah are formatted with dots between thousands")
    func rupiah() {
        #expect(Rupiah.format(0) == "Rp 0")
        #expect(Rupiah.format(999) == "Rp 999")
        #expect(Rupiah.format(1_000) == "Rp 1.000")
        #expect(Rupiah.format(500_000_000) == "Rp 500.000.000")
        #expect(Rupiah.format(-25_000) == "-Rp 25.000")
        #expect(Rupiah.format(.min) == "-Rp 9.223.372.036.854.775.808")
    }
}

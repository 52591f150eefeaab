import Testing
@testable import CRMDomain

@Suite("Programs for an order")
struct ProgramsTests {
    @Test("Jabodetabek is recognised in the ways people write it", arguments: [
        "Jakarta", "jakarta selatan", "DKI Jakarta", "South Jakarta", "Jaksel", "KOTA BEKASI", "Kab. Bogor", "Depok",
        "Tangerang Selatan", "Kota Tangerang", "tangsel", "Kabupaten Bekasi", "Jakarta Utara, DKI",
    ])
    func inArea(city: String) {
        #expect(Jabodetabek.contains(city: city))
    }

    @Test("Cities outside Jabodetabek are not recognised", arguments: ["Bandung", "Surabaya", "", "Semarang", "Jakartaa", "Cikarang"])
    func outsideArea(city: String) {
        #expect(!Jabodetabek.contains(city: city))
    }

    func quote(_ subtotal: Int64, fee: Int64 = 50_000, city: String = "Jakarta Barat", first: Bool = false, tier: LoyaltyTier = .silver) throws -> OrderQuote {
        try OrderQuote(subtotal: subtotal, shippingFee: fee, destinationCity: city, isFirstOrder: first, tier: tier)
    }

    @Test("Free shipping from exactly Rp 1,000,000 in Jabodetabek, for every tier")
    func freeShipping() throws {
        for tier in LoyaltyTier.allCases {
            let at = Programs.evaluate(try quote(1_000_000, tier: tier))
            #expect(at.applies(.freeShipping) && at.shippingCharged == 0 && at.amountDue == 1_000_000)
        }
        let below = Programs.evaluate(try quote(999_999))
        #expect(!below.applies(.freeShipping) && below.shippingCharged == 50_000 && below.amountDue == 1_049_999)
        #expect(!Programs.evaluate(try quote(5_000_000, city: "Bandung")).applies(.freeShipping))
    }

    @Test("A new customer gets Rp 200,000 off the first order; the minimum is judged before the discount")
    func newCustomer() throws {
        let offer = Programs.evaluate(try quote(1_000_000, first: true))
        #expect(offer.discount == 200_000)
        #expect(offer.applies(.freeShipping))
        #expect(offer.amountDue == 800_000)
        #expect(Programs.evaluate(try quote(150_000, fee: 0, first: true)).discount == 150_000) // never below zero
        #expect(Programs.evaluate(try quote(1_000_000, first: false)).discount == 0)
    }

    @Test("The first order is the earliest non-cancelled one; a cancelled earlier order does not use up the discount")
    func firstOrder() throws {
        let c = try oms("C-1")
        let early = try orderRecord("ORD-1", customer: c, placedAt: 10)
        let later = try orderRecord("ORD-2", customer: c, placedAt: 20)
        let views = [OrderView(record: early, recordFactID: try FactID("a"), tracking: []), OrderView(record: later, recordFactID: try FactID("b"), tracking: [])]
        #expect(OrderQuote(order: early, customerOrders: views, tier: .silver).isFirstOrder)
        #expect(!OrderQuote(order: later, customerOrders: views, tier: .silver).isFirstOrder)
        let cancelled = OrderView(record: early, recordFactID: try FactID("a"), tracking: [TrackingRecord(stage: .cancelled, at: 11, factID: try FactID("t"))])
        #expect(OrderQuote(order: later, customerOrders: [cancelled, views[1]], tier: .silver).isFirstOrder)
    }

    @Test("Instalment: half now, the rest on arrival; an odd rupiah is paid up front")
    func instalment() throws {
        #expect(InstalmentPlan.halves(of: 1_000_000) == InstalmentPlan(downPayment: 500_000, dueOnArrival: 500_000))
        #expect(InstalmentPlan.halves(of: 1_000_001) == InstalmentPlan(downPayment: 500_001, dueOnArrival: 500_000))
        #expect(InstalmentPlan.halves(of: 1) == InstalmentPlan(downPayment: 1, dueOnArrival: 0))
        let offer = Programs.evaluate(try quote(999_999, fee: 2))
        #expect(offer.instalment == InstalmentPlan(downPayment: 500_001, dueOnArrival: 500_000))
    }

    @Test("Gold and Diamond get priority service; only Diamond gets priority delivery")
    func priority() throws {
        let flags = try LoyaltyTier.allCases.map { tier in
            let o = Programs.evaluate(try quote(10, tier: tier))
            return [o.priorityService, o.priorityDelivery, o.applies(.priorityService), o.applies(.priorityDelivery)]
        }
        #expect(flags == [[false, false, false, false], [true, false, true, false], [true, true, true, true]])
    }

    @Test("A quote with a negative amount is refused")
    func refusals() {
        #expect(throws: ProgramError.negativeAmount(field: "subtotal", value: -1)) {
            try OrderQuote(subtotal: -1, shippingFee: 0, destinationCity: "", isFirstOrder: false, tier: .silver)
        }
        #expect(throws: ProgramError.negativeAmount(field: "shippingFee", value: -2)) {
            try OrderQuote(subtotal: 0, shippingFee: -2, destinationCity: "", isFirstOrder: false, tier: .silver)
        }
        #expect(ProgramError.negativeAmount(field: "subtotal", value: -1).description == "The subtotal is negative (-1); amounts are 0 or more.")
    }

    @Test("What each tier is entitled to, in the business's order; the new-customer discount only before a first order")
    func tierBenefits() {
        #expect(LoyaltyTier.silver.benefits(firstOrder: true) == [.freeShippingJabodetabek, .newCustomerDiscount, .instalment50])
        #expect(LoyaltyTier.silver.benefits(firstOrder: false) == [.freeShippingJabodetabek, .instalment50])
        #expect(
            LoyaltyTier.gold.benefits(firstOrder: false)
                == [.freeShippingJabodetabek, .instalment50, .priorityService, .specialPrice, .lowerServiceFee])
        #expect(
            LoyaltyTier.diamond.benefits(firstOrder: false)
                == [
                    .freeShippingJabodetabek, .instalment50, .priorityService, .specialPrice, .lowerServiceFee,
                    .freeShippingVoucher, .tierDiscount, .priorityDelivery,
                ])
    }

    @Test("The next tier and what is missing to reach it: Gold from exactly Rp 100,000,000, Diamond from Rp 500,000,001")
    func nextTier() throws {
        let policy = LoyaltyPolicy.standard
        let fromSilver = try #require(policy.nextTier(after: .silver, value: 99_999_999))
        #expect(fromSilver.tier == .gold && fromSilver.missing == 1)
        let fromGold = try #require(policy.nextTier(after: .gold, value: 500_000_000))
        #expect(fromGold.tier == .diamond && fromGold.missing == 1)
        #expect(policy.nextTier(after: .diamond, value: 900_000_000) == nil)
    }
}

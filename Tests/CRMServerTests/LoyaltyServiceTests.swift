import CRMMessages
import CRMRPC
import CRMServerTesting
import CRMWire
import Testing

@Suite("LoyaltyService")
struct LoyaltyServiceTests {
    @Test("a customer's tier and the benefits of an order")
    func statusAndBenefits() async throws {
        try await withTestServer { h in
            let customer = try await h.seedOrder()
            let status = try await h.call(CRMMessages.LoyaltyService.getLoyaltyStatus, GetLoyaltyStatusRequest(customer: byID(customer)))
            #expect(status.loyalty?.tier == .silver)
            #expect(status.loyalty?.orderValueRupiah == 450_000)
            let toGold: Int64 = 99_550_000
            #expect(status.loyalty?.rupiahToNextTier == toGold)
            #expect(status.loyalty?.firstOrderDiscountAvailable == false)

            var draft = OrderDraft()
            draft.items = [CRMMessages.OrderItem(sku: "SKU-2", name: "Kabel", quantity: 100, unitPriceRupiah: 15_000)]
            var address = DeliveryAddress()
            address.city = "Kota Depok"
            draft.deliveryAddress = address
            draft.paymentPlanKind = .instalment50
            let benefits = try await h.call(CRMMessages.LoyaltyService.getOrderBenefits, GetOrderBenefitsRequest(subject: .draft(draft)))
            let free = benefits.benefits.first { $0.kind == .freeShippingJabodetabek }
            #expect(free?.applies == true)
            let newCustomer = benefits.benefits.first { $0.kind == .newCustomerDiscount }
            #expect(newCustomer?.applies == true && newCustomer?.savingRupiah == 200_000)
            #expect(benefits.instalmentPlan?.downPaymentRupiah == 650_000)
            let stored = try await h.call(CRMMessages.LoyaltyService.getOrderBenefits, GetOrderBenefitsRequest(subject: .orderNumber("ORD-1")))
            #expect(stored.tier == .silver)
        }
    }

    @Test("a missing subject and an unknown order are refused")
    func validation() async throws {
        try await withTestServer { h in
            #expect(try await h.expectFailure(.invalidArgument, CRMMessages.LoyaltyService.getOrderBenefits, GetOrderBenefitsRequest()).hasPrefix("subject:"))
            try await h.expectFailure(.notFound, CRMMessages.LoyaltyService.getOrderBenefits, GetOrderBenefitsRequest(subject: .orderNumber("ORD-404")))
            #expect(try await h.expectFailure(.invalidArgument, CRMMessages.LoyaltyService.getLoyaltyStatus, GetLoyaltyStatusRequest()).hasPrefix("customer:"))
        }
    }
}

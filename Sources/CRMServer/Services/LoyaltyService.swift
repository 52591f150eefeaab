import CRMDomain
import CRMMessages
import CRMRPC
import CRMStore
import CRMWire

/// crm.v1.LoyaltyService: tiers and the programmes that apply to an order.
struct LoyaltyServiceProvider: RPCService {
    let env: ServiceEnvironment
    let policy = LoyaltyPolicy.standard

    init(env: ServiceEnvironment) { self.env = env }

    func registerMethods(with router: inout MethodRouter) {
        router.register(CRMMessages.LoyaltyService.getLoyaltyStatus, idempotent: true) { request, _ in try await status(request) }
        router.register(CRMMessages.LoyaltyService.getOrderBenefits, idempotent: true) { request, _ in try await benefits(request) }
    }

    func status(_ request: GetLoyaltyStatusRequest) async throws -> GetLoyaltyStatusResponse {
        let now = try validated { try request.asOfMs.map { v throws(RequestFieldError) in try Check.time(v.value, "as_of_ms.value") } } ?? env.now()
        let customer = try await env.resolve(request.customer, field: "customer")
        guard let summary = try await env.store.summary(of: customer) else { throw RPCStatus.notFound("no customer has id \(customer)") }
        let value = policy.qualifyingValue(of: summary.orders, now: now)
        let tier = policy.tier(forValue: value)
        var status = LoyaltyStatus(customerID: customer.rawValue, tier: tier.wire, isVvip: tier.isVVIP)
        status.period = CRMMessages.TimeRange(fromMs: now - policy.windowLength + 1, toMs: now + 1)
        status.orderValueRupiah = value
        status.orderCount = UInt32(clamping: summary.orders.count { $0.status != .cancelled && policy.contains($0.placedAt, now: now) })
        if let next = policy.nextTier(after: tier, value: value) {
            status.nextTier = next.tier.wire
            status.rupiahToNextTier = next.missing
        } else {
            status.nextTier = .unspecified
        }
        let firstOrder = summary.orders.isEmpty
        status.benefits = tier.benefits(firstOrder: firstOrder).map(\.wire)
        status.firstOrderDiscountAvailable = firstOrder
        status.asOfMs = now
        return GetLoyaltyStatusResponse(loyalty: status)
    }

    func benefits(_ request: GetOrderBenefitsRequest) async throws -> GetOrderBenefitsResponse {
        guard let subject = request.subject else { throw RPCStatus.invalidArgument("subject", "is required: an order_number or a draft") }
        let now = env.now()
        let quote: OrderQuote
        var wantsInstalment = false
        switch subject {
        case .orderNumber(let raw):
            let number = try validated { try Check.orderNumber(raw, "order_number") }
            guard let view = try await env.store.order(number) else { throw RPCStatus.notFound("no order has number \(number)") }
            let customer = try await env.store.customerID(for: view.record.customer)
            var others: [OrderView] = []
            if let customer { others = try await env.store.orders(of: customer) }
            let earlier = others.filter { $0.orderNumber != number }
            let tier = policy.tier(for: earlier, now: view.record.placedAt)
            quote = OrderQuote(order: view.record, customerOrders: earlier, tier: tier)
        case .draft(let draft):
            let (subtotal, city, plan) = try validated {
                if draft.items.isEmpty { throw RequestFieldError("draft.items", "is empty: give the lines to price") }
                var subtotal: Int64 = 0
                for (i, item) in draft.items.enumerated() {
                    do {
                        let line = try CRMDomain.OrderItem(sku: item.sku, name: item.name, quantity: item.quantity, unitPrice: item.unitPriceRupiah)
                        let (sum, overflow) = subtotal.addingReportingOverflow(line.lineTotal)
                        if overflow { throw RequestFieldError("draft.items", "the lines add up to more than can be represented") }
                        subtotal = sum
                    } catch let error as OrderError {
                        throw RequestFieldError("draft.items[\(i)]", error.description)
                    }
                }
                if case .unrecognized(let n) = draft.paymentPlanKind {
                    throw RequestFieldError("draft.payment_plan_kind", "is \(n), a payment plan this server does not know")
                }
                return (subtotal, draft.deliveryAddress?.city ?? "", draft.paymentPlanKind)
            }
            wantsInstalment = plan == .instalment50
            var orders: [OrderView] = []
            if draft.customer != nil, let customer = try await env.resolveIfKnown(draft.customer, field: "draft.customer") {
                orders = try await env.store.orders(of: customer)
            }
            do {
                quote = try OrderQuote(subtotal: subtotal, shippingFee: 0, destinationCity: city, isFirstOrder: orders.isEmpty, tier: policy.tier(for: orders, now: now))
            } catch {
                throw RPCStatus.invalidArgument("draft", error.description)
            }
        }
        let offer = Programs.evaluate(quote)
        func explanation(_ program: Program) -> String? { offer.applied.first { $0.program == program }?.explanation }
        var response = GetOrderBenefitsResponse(tier: quote.tier.wire)
        let inArea = Jabodetabek.contains(city: quote.destinationCity)
        for kind in BenefitKind.allCases where kind != .unspecified {
            var b = OrderBenefit(kind: kind)
            switch kind {
            case .freeShippingJabodetabek:
                b.applies = offer.applies(.freeShipping)
                b.reason = explanation(.freeShipping)
                    ?? (inArea
                        ? "the goods total \(Rupiah.format(quote.subtotal)) is below the \(Rupiah.format(Programs.freeShippingMinimum)) minimum"
                        : "'\(quote.destinationCity)' is not in Jabodetabek")
                b.savingRupiah = quote.shippingFee - offer.shippingCharged
            case .newCustomerDiscount:
                b.applies = offer.applies(.newCustomerDiscount)
                b.reason = explanation(.newCustomerDiscount) ?? "only a new customer's first order gets it"
                b.savingRupiah = offer.discount
            case .instalment50:
                b.applies = offer.applies(.instalment)
                b.reason = explanation(.instalment) ?? "not available"
            case .priorityService:
                b.applies = offer.applies(.priorityService)
                b.reason = explanation(.priorityService) ?? "for Gold and Diamond customers"
            case .priorityDelivery:
                b.applies = offer.applies(.priorityDelivery)
                b.reason = explanation(.priorityDelivery) ?? "for Diamond customers"
            case .specialPrice, .lowerServiceFee:
                b.applies = quote.tier.hasPriorityService
                b.reason = b.applies ? "a \(quote.tier.rawValue) customer; the amount is set when the order is priced" : "for Gold and Diamond customers"
            case .freeShippingVoucher, .tierDiscount:
                b.applies = quote.tier == .diamond
                b.reason = b.applies ? "a Diamond customer; the amount is set when the order is priced" : "for Diamond customers"
            case .unspecified, .unrecognized:
                continue
            }
            response.benefits.append(b)
        }
        response.totalSavingRupiah = response.benefits.filter(\.applies).reduce(0) { $0 + $1.savingRupiah }
        if wantsInstalment {
            response.instalmentPlan = PaymentPlan(
                kind: .instalment50, downPaymentPercent: 50, downPaymentRupiah: offer.instalment.downPayment,
                balanceRupiah: offer.instalment.dueOnArrival)
        }
        return response
    }
}

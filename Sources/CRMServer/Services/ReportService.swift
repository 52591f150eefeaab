import CRMDomain
import CRMMessages
import CRMRPC
import CRMStore
import CRMWire

/// crm.v1.ReportService: analytical reports, computed by the domain's report types from the store's data.
struct ReportServiceProvider: RPCService {
    let env: ServiceEnvironment
    let loyalty = LoyaltyPolicy.standard

    init(env: ServiceEnvironment) { self.env = env }

    func registerMethods(with router: inout MethodRouter) {
        router.register(CRMMessages.ReportService.getRefundRecap, idempotent: true) { request, _ in try await refundRecap(request) }
        router.register(CRMMessages.ReportService.getComplaintVolume, idempotent: true) { request, _ in try await volume(request) }
        router.register(CRMMessages.ReportService.getServiceLevelReport, idempotent: true) { request, _ in try await serviceLevels(request) }
        router.register(CRMMessages.ReportService.getRatingDistribution, idempotent: true) { request, _ in try await ratings(request) }
        router.register(CRMMessages.ReportService.getTierDistribution, idempotent: true) { request, _ in try await tiers(request) }
        router.register(CRMMessages.ReportService.getRetentionReport, idempotent: true) { request, _ in try await retention(request) }
        router.register(CRMMessages.ReportService.getCustomerValueReport, idempotent: true) { request, _ in try await customerValue(request) }
    }

    /// Every complaint opened before `end`.
    func complaints(openedBefore end: Int64) async throws -> [CRMDomain.Complaint] {
        try await env.store.complaints(inStates: Set(CRMDomain.ComplaintState.allCases), openedBefore: end, limit: Int(Int32.max))
    }

    func refundRecap(_ request: GetRefundRecapRequest) async throws -> GetRefundRecapResponse {
        let (period, categories, buckets) = try validated {
            let period = try Check.requiredTimeRange(request.period, "period")
            let categories = try CRMDomain.ComplaintCategory.filter(request.categories, field: "categories")
            return (period, categories, try ReportBuckets.make(period, request.granularity, field: "granularity"))
        }
        let chosen = CRMDomain.ComplaintCategory.allCases.filter { categories?.contains($0) ?? true }
        let data = try await env.store.reportData(for: period)
        // Cells keyed by bucket and category: decided count, units compensated, refund.
        var cells: [Int: [CRMDomain.ComplaintCategory: (UInt64, UInt64, Int64)]] = [:]
        for c in data.complaints {
            guard let decision = c.decision, let at = c.decidedAt, period.contains(at), chosen.contains(c.category),
                  let b = ReportBuckets.index(of: at, in: buckets) else { continue }
            let units = decision.refund.lines.filter { $0.reason == .missing || $0.reason == .broken }.reduce(Int64(0)) { $0 + $1.quantity }
            let old = cells[b]?[c.category] ?? (0, 0, 0)
            cells[b, default: [:]][c.category] = (old.0 + 1, old.1 + UInt64(max(0, units)), old.2 + decision.refund.total)
        }
        var response = GetRefundRecapResponse()
        var totals: [CRMDomain.ComplaintCategory: (UInt64, UInt64, Int64)] = [:]
        for (b, bucket) in buckets.enumerated() {
            for category in chosen {
                let cell = cells[b]?[category] ?? (0, 0, 0)
                response.rows.append(CRMMessages.RefundRecapRow(
                    category: category.wire, bucket: CRMMessages.TimeRange(bucket), complaintsDecided: cell.0, quantityCompensated: cell.1,
                    refundRupiah: cell.2))
                let t = totals[category] ?? (0, 0, 0)
                totals[category] = (t.0 + cell.0, t.1 + cell.1, t.2 + cell.2)
            }
        }
        for category in chosen {
            let t = totals[category] ?? (0, 0, 0)
            response.categoryTotals.append(CRMMessages.RefundRecapRow(
                category: category.wire, bucket: CRMMessages.TimeRange(period), complaintsDecided: t.0, quantityCompensated: t.1, refundRupiah: t.2))
            response.grandTotalRupiah += t.2
        }
        return response
    }

    func volume(_ request: GetComplaintVolumeRequest) async throws -> GetComplaintVolumeResponse {
        let (period, categories, buckets) = try validated {
            let period = try Check.requiredTimeRange(request.period, "period")
            let categories = try CRMDomain.ComplaintCategory.filter(request.categories, field: "categories")
            return (period, categories, try ReportBuckets.make(period, request.granularity, field: "granularity"))
        }
        let chosen = CRMDomain.ComplaintCategory.allCases.filter { categories?.contains($0) ?? true }
        var cells: [Int: [CRMDomain.ComplaintCategory: (opened: UInt64, closed: UInt64, rejected: UInt64, reopened: UInt64)]] = [:]
        func bump(_ t: Int64, _ category: CRMDomain.ComplaintCategory, _ update: (inout (opened: UInt64, closed: UInt64, rejected: UInt64, reopened: UInt64)) -> Void) {
            guard let b = ReportBuckets.index(of: t, in: buckets) else { return }
            var cell = cells[b]?[category] ?? (0, 0, 0, 0)
            update(&cell)
            cells[b, default: [:]][category] = cell
        }
        var openedTotal: UInt64 = 0
        for c in try await complaints(openedBefore: period.end) where chosen.contains(c.category) {
            if period.contains(c.openedAt) {
                openedTotal += 1
                bump(c.openedAt, c.category) { $0.opened += 1 }
            }
            for step in c.history where period.contains(step.at) {
                switch step.action.target {
                case .closed: bump(step.at, c.category) { $0.closed += 1 }
                case .rejected: bump(step.at, c.category) { $0.rejected += 1 }
                case .reopened: bump(step.at, c.category) { $0.reopened += 1 }
                default: break
                }
            }
        }
        var response = GetComplaintVolumeResponse(openedTotal: openedTotal)
        for (b, bucket) in buckets.enumerated() {
            for category in chosen {
                let cell = cells[b]?[category] ?? (0, 0, 0, 0)
                response.rows.append(ComplaintVolumeRow(
                    category: category.wire, bucket: CRMMessages.TimeRange(bucket), opened: cell.opened, closed: cell.closed,
                    rejected: cell.rejected, reopened: cell.reopened))
            }
        }
        return response
    }

    func serviceLevels(_ request: GetServiceLevelReportRequest) async throws -> GetServiceLevelReportResponse {
        let (period, categories) = try validated {
            (try Check.requiredTimeRange(request.period, "period"), try CRMDomain.ComplaintCategory.filter(request.categories, field: "categories"))
        }
        let now = env.now()
        let chosen = CRMDomain.ComplaintCategory.allCases.filter { categories?.contains($0) ?? true }
        let all = try await complaints(openedBefore: period.end).filter { chosen.contains($0.category) && period.contains($0.openedAt) }
        func row(_ complaints: [CRMDomain.Complaint], _ category: CRMMessages.ComplaintCategory) -> ServiceLevelRow {
            let compliance = ServiceLevelCompliance(complaints: complaints, period: period, now: now)
            var firstTimes: [Int64] = [], resolutionTimes: [Int64] = []
            for c in complaints {
                let status = ServiceLevelStatus(complaint: c, now: now)
                if case .met(let e) = status.firstResponse { firstTimes.append(e) }
                if case .breached(let e, false) = status.firstResponse { firstTimes.append(e) }
                if case .met(let e) = status.resolution { resolutionTimes.append(e) }
                if case .breached(let e, false) = status.resolution { resolutionTimes.append(e) }
            }
            return ServiceLevelRow(
                category: category, complaints: UInt64(complaints.count),
                firstResponseMet: UInt64(compliance.firstResponse.met), firstResponseBreached: UInt64(compliance.firstResponse.breached),
                firstResponseCompliancePctX100: compliance.firstResponse.rate.pctX100,
                resolutionMet: UInt64(compliance.resolution.met), resolutionBreached: UInt64(compliance.resolution.breached),
                resolutionCompliancePctX100: compliance.resolution.rate.pctX100,
                medianFirstResponseMs: Self.percentile(firstTimes, 50), medianResolutionMs: Self.percentile(resolutionTimes, 50),
                p90ResolutionMs: Self.percentile(resolutionTimes, 90))
        }
        var response = GetServiceLevelReportResponse()
        for category in chosen { response.rows.append(row(all.filter { $0.category == category }, category.wire)) }
        response.overall = row(all, .unspecified)
        return response
    }

    /// The nearest-rank percentile of `values`, 0 when empty.
    static func percentile(_ values: [Int64], _ p: Int) -> Int64 {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = max(1, (p * sorted.count + 99) / 100)
        return sorted[min(sorted.count, rank) - 1]
    }

    /// Decision: with a `sources` filter, a rating whose source was not stated is left out.
    func ratings(_ request: GetRatingDistributionRequest) async throws -> GetRatingDistributionResponse {
        let (period, sources) = try validated {
            (try Check.timeRange(request.period, "period"), try CRMDomain.RatingSource.filter(request.sources, field: "sources"))
        }
        let range = try period ?? CRMDomain.TimeRange(start: .min, end: .max)
        let ratings = try await env.store.reportData(for: range).ratings.map(\.rating).filter { rating in
            sources.map { sources in rating.source.map(sources.contains) ?? false } ?? true
        }
        let report = RatingReport(ratings: ratings)
        var response = GetRatingDistributionResponse(total: UInt64(report.total), averageX100: UInt32(clamping: report.average?.value ?? 0))
        for stars in stride(from: 5, through: 1, by: -1) {
            response.buckets.append(RatingBucket(
                stars: UInt32(stars), count: UInt64(report.count(stars: stars)), sharePctX100: report.share(stars: stars).pctX100))
        }
        return response
    }

    func tiers(_ request: GetTierDistributionRequest) async throws -> GetTierDistributionResponse {
        let now = try validated { try request.asOfMs.map { v throws(RequestFieldError) in try Check.time(v.value, "as_of_ms.value") } } ?? env.now()
        let profiles = try await env.store.buyerProfiles(placedIn: nil)
        let distribution = TierDistribution(profiles: profiles, now: now, policy: loyalty)
        var response = GetTierDistributionResponse(
            period: CRMMessages.TimeRange(fromMs: now - loyalty.windowLength + 1, toMs: now + 1), customersTotal: UInt64(distribution.total))
        for tier in LoyaltyTier.allCases {
            response.tiers.append(TierCount(
                tier: tier.wire, customers: UInt64(distribution.customers[tier] ?? 0), orderValueRupiah: distribution.value[tier] ?? 0,
                sharePctX100: distribution.share(tier).pctX100))
        }
        return response
    }

    func retention(_ request: GetRetentionReportRequest) async throws -> GetRetentionReportResponse {
        let (period, buckets) = try validated {
            let period = try Check.requiredTimeRange(request.period, "period")
            return (period, try ReportBuckets.make(period, request.granularity, field: "granularity"))
        }
        let profiles = try await env.store.buyerProfiles(placedIn: nil)
        let report = RepeatPurchaseReport(profiles: profiles, period: period)
        var response = GetRetentionReportResponse(
            buyingCustomers: UInt64(report.buyers), repeatCustomers: UInt64(report.repeatBuyers), repeatPurchasePctX100: report.rate.pctX100)
        var previousBuyers: Set<CustomerID> = []
        for bucket in buckets {
            var buyers: Set<CustomerID> = [], newOnes = 0, returning = 0
            for p in profiles {
                let placed = p.orders.filter { $0.status != .cancelled }.map(\.record.placedAt)
                guard placed.contains(where: bucket.contains) else { continue }
                buyers.insert(p.id)
                if let first = placed.min(), bucket.contains(first) { newOnes += 1 } else { returning += 1 }
            }
            let retained = Ratio(Int64(previousBuyers.intersection(buyers).count), of: Int64(previousBuyers.count))
            response.rows.append(RetentionRow(
                bucket: CRMMessages.TimeRange(bucket), buyingCustomers: UInt64(buyers.count), newCustomers: UInt64(newOnes),
                returningCustomers: UInt64(returning), retainedPctX100: retained.pctX100))
            previousBuyers = buyers
        }
        return response
    }

    func customerValue(_ request: GetCustomerValueReportRequest) async throws -> GetCustomerValueReportResponse {
        let (period, topN) = try validated {
            let period = try Check.requiredTimeRange(request.period, "period")
            if case .unrecognized(let n) = request.tier { throw RequestFieldError("tier", "is \(n), a tier this server does not know") }
            return (period, request.topN == 0 ? 20 : Int(min(request.topN, 1_000)))
        }
        let profiles = try await env.store.buyerProfiles(placedIn: period)
        let tierEnd = max(period.start, period.end - 1)
        var rows: [CustomerValueRow] = []
        var orderCount: Int64 = 0, orderValue: Int64 = 0, netValue: Int64 = 0
        for p in profiles {
            let orders = p.orders.filter { $0.status != .cancelled && period.contains($0.record.placedAt) }
            guard !orders.isEmpty else { continue }
            let tier = p.tier(now: tierEnd, policy: loyalty)
            let value = orders.reduce(Int64(0)) { $0 + $1.record.total }
            let refund = p.complaints.reduce(Int64(0)) { sum, c in
                guard let d = c.decision, let at = c.decidedAt, period.contains(at) else { return sum }
                return sum + d.refund.total
            }
            orderCount += Int64(orders.count)
            orderValue += value
            netValue += value - refund
            guard request.tier == .unspecified || request.tier == tier.wire else { continue }
            rows.append(CustomerValueRow(
                customerID: p.id.rawValue, displayName: p.name ?? "", tier: tier.wire, orderCount: UInt64(orders.count),
                orderValueRupiah: value, refundRupiah: refund, netValueRupiah: value - refund,
                firstOrderMs: p.orders.map(\.record.placedAt).min() ?? 0, lastOrderMs: orders.map(\.record.placedAt).max() ?? 0))
        }
        let buyers = Int64(profiles.count { p in p.orders.contains { $0.status != .cancelled && period.contains($0.record.placedAt) } })
        rows.sort { ($0.netValueRupiah, $1.customerID) > ($1.netValueRupiah, $0.customerID) }
        func roundedMean(_ total: Int64, _ count: Int64) -> Int64 { count == 0 ? 0 : (2 * total + count) / (2 * count) }
        return GetCustomerValueReportResponse(
            rows: Array(rows.prefix(topN)), customersTotal: UInt64(buyers),
            averageOrderValueRupiah: roundedMean(orderValue, orderCount), averageCustomerValueRupiah: roundedMean(netValue, buyers))
    }
}

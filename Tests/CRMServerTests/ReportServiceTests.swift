import CRMMessages
import CRMRPC
import CRMServerTesting
import CRMWire
import Testing

@Suite("ReportService")
struct ReportServiceTests {
    @Test("reports reflect decided complaints, ratings and buyers")
    func reports() async throws {
        try await withTestServer { h in
            try await h.seedOrder()
            let opened = try await h.openComplaint("rep-1")
            for (n, state) in [("1", CRMMessages.ComplaintState.inReview), ("2", .decided)] {
                _ = try await h.call(
                    CRMMessages.ComplaintService.transitionComplaint,
                    TransitionComplaintRequest(
                        key: key("rep-t\(n)"), complaintID: opened.complaintID, toState: state,
                        decision: state == .decided ? ComplaintServiceTests.missingThree : nil),
                    as: TestCaller.afterSales)
            }
            // May 2024 and June 2024 in Jakarta time.
            let period = CRMMessages.TimeRange(fromMs: 1_714_496_400_000, toMs: 1_719_766_800_000)
            let recap = try await h.call(CRMMessages.ReportService.getRefundRecap, GetRefundRecapRequest(period: period, granularity: .month))
            #expect(recap.grandTotalRupiah == 135_000)
            #expect(recap.rows.count == 2 * 4)
            let june = recap.rows.first { $0.category == .lostAtCustoms && $0.bucket?.fromMs == 1_717_174_800_000 }
            #expect(june?.refundRupiah == 135_000 && june?.quantityCompensated == 3)
            let volume = try await h.call(CRMMessages.ReportService.getComplaintVolume, GetComplaintVolumeRequest(period: period))
            #expect(volume.openedTotal == 1)
            let levels = try await h.call(CRMMessages.ReportService.getServiceLevelReport, GetServiceLevelReportRequest(period: period))
            #expect(levels.overall?.complaints == 1)
            #expect(levels.overall?.firstResponseMet == 1)

            _ = try await h.call(
                CRMMessages.FeedbackService.submitRating,
                SubmitRatingRequest(key: key("rr-1"), customer: byHandle(phone("0812-3456-7890")), stars: 4, ratedMs: TestServer.now - 1))
            let ratings = try await h.call(CRMMessages.ReportService.getRatingDistribution, GetRatingDistributionRequest())
            #expect(ratings.total == 1 && ratings.averageX100 == 400)
            #expect(ratings.buckets.map(\.stars) == [5, 4, 3, 2, 1])
            let tiers = try await h.call(CRMMessages.ReportService.getTierDistribution, GetTierDistributionRequest())
            #expect(tiers.customersTotal == 1)
            let retention = try await h.call(CRMMessages.ReportService.getRetentionReport, GetRetentionReportRequest(period: period, granularity: .month))
            #expect(retention.buyingCustomers == 1 && retention.rows.count == 2)
            let value = try await h.call(CRMMessages.ReportService.getCustomerValueReport, GetCustomerValueReportRequest(period: period))
            let net: Int64 = 315_000  // Rp 450.000 ordered − Rp 135.000 refunded
            #expect(value.rows.first?.netValueRupiah == net)
        }
    }

    @Test("a report without its period is refused")
    func validation() async throws {
        try await withTestServer { h in
            let message = try await h.expectFailure(.invalidArgument, CRMMessages.ReportService.getRefundRecap, GetRefundRecapRequest())
            #expect(message.hasPrefix("period:"))
            let backwards = try await h.expectFailure(
                .invalidArgument, CRMMessages.ReportService.getComplaintVolume, GetComplaintVolumeRequest(period: CRMMessages.TimeRange(fromMs: 10, toMs: 5)))
            #expect(backwards.hasPrefix("period:"))
        }
    }
}

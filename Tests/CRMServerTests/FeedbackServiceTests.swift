import CRMMessages
import CRMRPC
import CRMServerTesting
import CRMWire
import Testing

@Suite("FeedbackService")
struct FeedbackServiceTests {
    @Test("ratings are stored once and listed newest first")
    func submitAndList() async throws {
        try await withTestServer { h in
            let customer = try await h.seedOrder()
            let first = try await h.call(
                CRMMessages.FeedbackService.submitRating,
                SubmitRatingRequest(key: key("rt-1"), customer: byHandle(phone("0812-3456-7890")), stars: 4, comment: "Bagus", ratedMs: TestServer.now - 2_000),
                as: TestCaller.sales)
            #expect(first.outcome == .accepted)
            #expect(first.rating?.customerID == customer)
            let again = try await h.call(
                CRMMessages.FeedbackService.submitRating,
                SubmitRatingRequest(key: key("rt-1"), customer: byHandle(phone("0812-3456-7890")), stars: 4, comment: "Bagus", ratedMs: TestServer.now - 2_000),
                as: TestCaller.sales)
            #expect(again.outcome == .duplicate)
            // A customer rates as themselves, with no selector.
            let own = try await h.call(
                CRMMessages.FeedbackService.submitRating, SubmitRatingRequest(key: key("rt-2"), stars: 5, ratedMs: TestServer.now - 1_000),
                as: TestCaller.customer(customer))
            #expect(own.rating?.customerID == customer)
            let listed = try await h.call(CRMMessages.FeedbackService.listRatings, ListRatingsRequest())
            #expect(listed.ratings.map(\.stars) == [5, 4])
            let fives = try await h.call(CRMMessages.FeedbackService.listRatings, ListRatingsRequest(customer: byID(customer), stars: [5]))
            #expect(fives.ratings.count == 1)
        }
    }

    @Test("stars outside 1 to 5 are refused")
    func validation() async throws {
        try await withTestServer { h in
            try await h.seedOrder()
            let stars = try await h.expectFailure(
                .invalidArgument, CRMMessages.FeedbackService.submitRating,
                SubmitRatingRequest(key: key("rt-3"), customer: byHandle(phone("0812-3456-7890")), stars: 6))
            #expect(stars.hasPrefix("stars:"))
        }
    }

    @Test("an anonymous public review is kept: it counts in the distribution report, with no customer")
    func anonymousRating() async throws {
        try await withTestServer { h in
            let response = try await h.call(CRMMessages.FeedbackService.submitRating, SubmitRatingRequest(key: key("rt-4"), stars: 3, comment: "ulasan"))
            #expect(response.outcome == .accepted)
            #expect(response.rating?.customerID == "" && response.rating?.stars == 3)
            let listed = try await h.call(CRMMessages.FeedbackService.listRatings, ListRatingsRequest())
            #expect(listed.ratings.map(\.stars) == [3] && listed.ratings.first?.customerID == "")
        }
    }
}

/// Where a rating was given.
public enum RatingSource: String, Sendable, Hashable, CaseIterable {
    /// A public Google review.
    case googleReview
    /// The customer rated in self-service.
    case selfService
    /// An agent recorded what the customer said.
    case agentRecorded
    /// A survey sent after a contact or a closed complaint.
    case postContactSurvey
}

/// A rating of the service: 1 to 5 stars with a comment, by a customer or, for an anonymous public review, by
/// nobody known (it then counts in rating reports but in no profile).
public struct Rating: Sendable, Hashable {
    /// The allowed star values.
    public static let validStars: ClosedRange<Int> = 1...5

    /// Who rated; `nil` for an anonymous public review.
    public let handle: Handle?
    /// 1 (worst) to 5 (best).
    public let stars: Int
    /// The comment, trimmed; may be empty.
    public let comment: String
    /// The order rated, if any.
    public let orderNumber: OrderNumber?
    /// Where it was given; `nil` when not stated (and for ratings stored before sources were kept).
    public let source: RatingSource?
    /// The channel it came through; `nil` when none.
    public let channel: Channel?
    /// The complaint rated, if any.
    public let complaintID: ComplaintID?

    /// Creates a rating, refusing stars outside 1…5.
    public init(
        handle: Handle?, stars: Int, comment: String, orderNumber: OrderNumber? = nil, source: RatingSource? = nil,
        channel: Channel? = nil, complaintID: ComplaintID? = nil
    ) throws(RatingError) {
        guard Self.validStars.contains(stars) else { throw .starsOutOfRange(stars) }
        self.handle = handle
        self.stars = stars
        self.comment = Text.trimmed(comment)
        self.orderNumber = orderNumber
        self.source = source
        self.channel = channel
        self.complaintID = complaintID
    }
}

/// Why a ``Rating`` could not be made.
public enum RatingError: DomainError {
    /// Stars outside 1…5.
    case starsOutOfRange(Int)

    /// See ``DomainError/code``.
    public var code: String { "rating.stars_out_of_range" }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case let .starsOutOfRange(stars): "A rating of \(stars) stars is impossible; give 1 to 5 stars."
        }
    }
}

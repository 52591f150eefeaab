import CRMDomain
import CRMMessages
import CRMRPC
import CRMStore
import CRMWire

/// crm.v1.FeedbackService: ratings.
struct FeedbackServiceProvider: RPCService {
    let env: ServiceEnvironment

    init(env: ServiceEnvironment) { self.env = env }

    func registerMethods(with router: inout MethodRouter) {
        router.register(CRMMessages.FeedbackService.submitRating) { request, _ in try await submit(request) }
        router.register(CRMMessages.FeedbackService.listRatings, idempotent: true) { request, _ in try await list(request) }
    }

    /// Decisions: the domain files a rating under a customer handle, with stars, comment, order, complaint, source and
    /// channel.
    /// - a rating without a customer from staff is an anonymous public review: kept with no handle, it counts in the
    ///   rating distribution report but in no profile, and reads back with an empty customer id;
    /// - an unspecified source or channel is kept as not stated, and reads back unspecified.
    func submit(_ request: SubmitRatingRequest) async throws -> SubmitRatingResponse {
        let now = env.now()
        let (key, order, complaint, source, channel, ratedAt) = try validated {
            let key = try Check.key(request.key)
            guard (1...5).contains(request.stars) else { throw RequestFieldError("stars", "is \(request.stars); give 1 to 5 stars") }
            _ = try Check.bounded(request.comment, "comment", maximum: 4_000)
            let source = request.source == .unspecified ? nil : try CRMDomain.RatingSource(wire: request.source, field: "source")
            let channel = request.channel == .unspecified ? nil : try CRMDomain.Channel(wire: request.channel, field: "channel")
            let order = try request.orderNumber.map { v throws(RequestFieldError) in try Check.orderNumber(v.value, "order_number.value") }
            let complaint = try request.complaintID.map { c throws(RequestFieldError) in try Check.complaintID(c.value, "complaint_id.value") }
            let ratedAt = request.ratedMs == 0 ? now : try Check.time(request.ratedMs, "rated_ms")
            return (key, order, complaint, source, channel, ratedAt)
        }
        // A customer always rates as themselves; staff without a customer record an anonymous public review, which
        // counts in the rating reports but in no profile.
        var customer: CustomerID?
        if request.customer == nil {
            customer = try env.recordScope().customer
        } else {
            customer = try await env.resolve(request.customer, field: "customer")
        }
        let handle: CRMDomain.Handle?
        if case .handle(let wire)? = request.customer?.target {
            handle = try validated { try CRMDomain.Handle(wire: wire, field: "customer.handle") }
        } else if let id = customer {
            guard let summary = try await env.store.summary(of: id) else { throw RPCStatus.notFound("no customer has id \(id)") }
            handle = summary.anchor
            customer = summary.id
        } else {
            handle = nil
        }
        let rating: CRMDomain.Rating
        do {
            rating = try CRMDomain.Rating(
                handle: handle, stars: Int(request.stars), comment: request.comment, orderNumber: order, source: source, channel: channel,
                complaintID: complaint)
        } catch {
            throw RPCStatus.invalidArgument("stars", error.description)
        }
        let outcome = try await env.write(
            [Fact(id: key, observedAt: ratedAt, source: env.factSource, payload: .rating(rating))], audit: "SubmitRating",
            subject: .text(customer?.rawValue ?? "anonymous"),
            "\(request.stars) stars from \(request.source.protoName) on \(request.channel.protoName); complaint \(request.complaintID?.value ?? "-")"
        ).outcomes[0].wire
        let record = RatingRecord(rating: rating, at: ratedAt, factID: key)
        return SubmitRatingResponse(outcome: outcome, rating: CRMMessages.Rating(record, customerID: customer?.rawValue ?? ""))
    }

    func list(_ request: ListRatingsRequest) async throws -> ListRatingsResponse {
        let (stars, sources, window, page) = try validated {
            var stars: Set<Int>? = nil
            for (i, s) in request.stars.enumerated() {
                guard (1...5).contains(s) else { throw RequestFieldError("stars[\(i)]", "is \(s); star values are 1 to 5") }
                stars = (stars ?? []).union([Int(s)])
            }
            let sources = try CRMDomain.RatingSource.filter(request.sources, field: "sources")
            return (stars, sources, try Check.timeRange(request.window, "window"), try Page(request.page))
        }
        let customer = request.customer == nil ? nil : try await env.resolve(request.customer, field: "customer")
        let records: [RatingRecord]
        if let customer {
            records = try await env.store.ratings(of: customer)
        } else {
            let range = try window ?? CRMDomain.TimeRange(start: .min, end: .max)
            records = try await env.store.reportData(for: range).ratings
        }
        let matching = records.filter { r in
            if let stars, !stars.contains(r.rating.stars) { return false }
            // A rating whose source was not stated matches no source filter.
            if let sources, !(r.rating.source.map(sources.contains) ?? false) { return false }
            if let window, !window.contains(r.at) { return false }
            return true
        }.sorted { ($0.at, $1.factID) > ($1.at, $0.factID) }
        let (slice, info) = page.slice(matching)
        var owners: [CRMDomain.Handle: String] = [:]
        var response = ListRatingsResponse(page: info)
        for r in slice {
            guard let handle = r.rating.handle else {
                response.ratings.append(CRMMessages.Rating(r, customerID: ""))
                continue
            }
            if owners[handle] == nil {
                owners[handle] = try await env.store.customerID(for: handle)?.rawValue ?? ""
            }
            response.ratings.append(CRMMessages.Rating(r, customerID: owners[handle]!))
        }
        return response
    }
}

extension CRMMessages.Rating {
    init(_ record: RatingRecord, customerID: String) {
        self.init(
            ratingID: record.factID.rawValue, key: IdempotencyKey(factID: record.factID), customerID: customerID,
            stars: UInt32(record.rating.stars), comment: record.rating.comment,
            source: record.rating.source?.wire ?? .unspecified, channel: record.rating.channel?.wire ?? .unspecified,
            orderNumber: record.rating.orderNumber.map { StringValue(value: $0.rawValue) },
            complaintID: record.rating.complaintID.map { StringValue(value: $0.rawValue) }, ratedMs: record.at)
    }
}

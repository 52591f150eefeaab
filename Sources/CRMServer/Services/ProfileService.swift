import CRMDomain
import CRMMessages
import CRMRPC
import CRMStore
import CRMWire

/// crm.v1.ProfileService: the convergent profile, the caller snapshot, search, identity links and field
/// observations.
struct ProfileServiceProvider: RPCService {
    let env: ServiceEnvironment

    init(env: ServiceEnvironment) { self.env = env }

    func registerMethods(with router: inout MethodRouter) {
        router.register(CRMMessages.ProfileService.getProfile, idempotent: true) { request, _ in try await getProfile(request) }
        // The caller's screen runs on the connection's event loop: one read of the read model (about 30 µs of CPU on
        // pages in memory) and a small computation, cheaper than the two thread hops of the global executor. It can
        // wait on the disk when the read model's pages are not cached, holding that loop's other connections meanwhile.
        router.register(CRMMessages.ProfileService.getCallerSnapshot, idempotent: true, runsOnEventLoop: true) { request, _ in
            try await snapshot(request)
        }
        router.register(CRMMessages.ProfileService.searchProfiles, idempotent: true) { request, _ in try await search(request) }
        router.register(CRMMessages.ProfileService.linkIdentities) { request, _ in try await link(request) }
        router.register(CRMMessages.ProfileService.unlinkIdentities) { request, _ in try await unlink(request) }
        router.register(CRMMessages.ProfileService.observeProfileField) { request, _ in try await observe(request) }
    }

    func getProfile(_ request: GetProfileRequest) async throws -> GetProfileResponse {
        let limit = request.interactionLimit == 0 ? 20 : Int(min(request.interactionLimit, 200))
        guard let summary = try await summary(request.customer, field: "customer") else {
            if case .customerID(let raw)? = request.customer?.target { throw RPCStatus.notFound("no customer has id \(raw)") }
            throw RPCStatus.notFound("no customer matches customer; check the id or handle, or search by name")
        }
        let recent = try await env.store.timeline(of: summary.id, before: nil, limit: limit).records
        return GetProfileResponse(profile: CRMMessages.CustomerProfile(summary: summary, recent: recent, now: env.now()))
    }

    func snapshot(_ request: GetCallerSnapshotRequest) async throws -> GetCallerSnapshotResponse {
        if case .unrecognized(let n) = request.statedIntent {
            throw RPCStatus.invalidArgument("stated_intent", "is \(n), an intent this server does not know")
        }
        if case .unrecognized(let n) = request.channel {
            throw RPCStatus.invalidArgument("channel", "is \(n), a channel this server does not know")
        }
        let problem = ProblemType(intent: request.statedIntent)
        let now = env.now()
        var matched: CRMDomain.Handle?
        if case .handle(let wire)? = request.customer?.target {
            matched = try validated { try CRMDomain.Handle(wire: wire, field: "customer.handle") }
        }
        guard let summary = try await summary(request.customer, field: "customer") else {
            if case .customerID(let raw)? = request.customer?.target { throw RPCStatus.notFound("no customer has id \(raw)") }
            // An unknown caller: only the routing, as for a Silver customer without complaints.
            let routing = CallRouting.route(problem: problem, tier: .silver, hasOpenComplaint: false)
            var snapshot = CRMMessages.CallerSnapshot()
            snapshot.routingQueue = routing.queue.wire
            snapshot.routingPriority = routing.priority.wire
            snapshot.routingReason = routing.reason
            snapshot.matchedHandle = matched?.wire
            snapshot.asOfMs = now
            return GetCallerSnapshotResponse(known: false, snapshot: snapshot)
        }
        let snapshot = CRMDomain.CallerSnapshot(summary: summary, now: now, problem: problem)
        return GetCallerSnapshotResponse(known: true, snapshot: CRMMessages.CallerSnapshot(snapshot, summary: summary, matched: matched, now: now))
    }

    /// The read model of the customer `selector` names, in one read: nil when no customer has the handle or id.
    private func summary(_ selector: CustomerSelector?, field: String) async throws -> CustomerSummary? {
        let target = try validated { try Check.present(selector?.target, field) }
        let summary: CustomerSummary?
        switch target {
        case .customerID(let raw):
            summary = try await env.store.summary(of: try validated { try Check.customerID(raw, field + ".customer_id") })
        case .handle(let wire):
            summary = try await env.store.summary(for: try validated { try CRMDomain.Handle(wire: wire, field: field + ".handle") })
        }
        return summary
    }

    func search(_ request: SearchProfilesRequest) async throws -> SearchProfilesResponse {
        let (query, page) = try validated {
            let query = try Check.nonBlank(request.nameQuery, "name_query")
            guard query.count >= 2 else { throw RequestFieldError("name_query", "'\(query)' is too short; give at least 2 characters") }
            return (try Check.bounded(query, "name_query", maximum: 200), try Page(request.page))
        }
        let matches = try await env.store.searchCustomers(name: query, limit: page.offset + page.size + 1)
        let (slice, info) = page.slice(matches)
        let now = env.now()
        var response = SearchProfilesResponse(page: info)
        for match in slice {
            var wire = ProfileMatch(customerID: match.id.rawValue, displayName: match.name ?? "", handles: Array(match.handles.prefix(5).map(\.wire)))
            if let summary = try await env.store.summary(of: match.id) {
                wire.tier = summary.tier(now: now).wire
                wire.lastContactMs = summary.lastContactAt ?? 0
            }
            response.matches.append(wire)
        }
        return response
    }

    // MARK: Links

    /// Decision: the domain's link fact is the pair of handles; evidence, the proving interaction and the note are
    /// kept in the audit entry of the call, and echoed in the response.
    func link(_ request: LinkIdentitiesRequest) async throws -> LinkIdentitiesResponse {
        let now = env.now()
        let (id, pair, observed) = try validated {
            let id = try Check.key(request.key)
            let (pair, observed) = try pairAndTime(request.firstHandle, request.secondHandle, request.observedMs, now: now)
            if case .unrecognized(let n) = request.evidence { throw RequestFieldError("evidence", "is \(n), an evidence kind this server does not know") }
            _ = try Check.bounded(request.note, "note", maximum: 2_000)
            return (id, pair, observed)
        }
        let receipt = try await env.write(
            [Fact(id: id, observedAt: observed, source: env.factSource, payload: .identityLink(pair))], audit: "LinkIdentities",
            subject: .customerOfFact(0),
            "linked \(pair.first) and \(pair.second); evidence \(request.evidence.protoName); interaction \(request.interactionID?.value ?? "-"); note: \(request.note)")
        let outcome = receipt.outcomes[0].wire
        let customer = receipt.customers[0]?.rawValue ?? ""
        var fact = IdentityLinkFact(
            factID: id.rawValue, key: request.key, action: .link, firstHandle: pair.first.wire, secondHandle: pair.second.wire,
            evidence: request.evidence, actor: env.actorRef, observedMs: observed, interactionID: request.interactionID, note: request.note)
        fact.key = request.key
        return LinkIdentitiesResponse(outcome: outcome, fact: fact, customerID: customer)
    }

    func unlink(_ request: UnlinkIdentitiesRequest) async throws -> UnlinkIdentitiesResponse {
        let now = env.now()
        let (id, pair, observed) = try validated {
            let id = try Check.key(request.key)
            let (pair, observed) = try pairAndTime(request.firstHandle, request.secondHandle, request.observedMs, now: now)
            _ = try Check.bounded(request.note, "note", maximum: 2_000)
            return (id, pair, observed)
        }
        let receipt = try await env.write(
            [Fact(id: id, observedAt: observed, source: env.factSource, payload: .identityUnlink(pair))], audit: "UnlinkIdentities",
            subject: .customerOfFact(0), "unlinked \(pair.first) and \(pair.second); note: \(request.note)")
        let outcome = receipt.outcomes[0].wire
        let first = receipt.customers[0]?.rawValue ?? ""
        let second = try await env.store.customerID(for: pair.second)?.rawValue ?? ""
        let fact = IdentityLinkFact(
            factID: id.rawValue, key: request.key, action: .unlink, firstHandle: pair.first.wire, secondHandle: pair.second.wire,
            actor: env.actorRef, observedMs: observed, note: request.note)
        return UnlinkIdentitiesResponse(outcome: outcome, fact: fact, firstCustomerID: first, secondCustomerID: second)
    }

    private func pairAndTime(
        _ a: CRMMessages.Handle?, _ b: CRMMessages.Handle?, _ observedMs: Int64, now: Int64
    ) throws(RequestFieldError) -> (HandlePair, Int64) {
        let first = try CRMDomain.Handle(wire: a, field: "first_handle")
        let second = try CRMDomain.Handle(wire: b, field: "second_handle")
        let observed = observedMs == 0 ? now : try Check.time(observedMs, "observed_ms")
        do {
            return (try HandlePair(first, second), observed)
        } catch {
            throw RequestFieldError("second_handle", error.description)
        }
    }

    // MARK: Observations

    func observe(_ request: ObserveProfileFieldRequest) async throws -> ObserveProfileFieldResponse {
        let (id, observation, source, observed) = try validated {
            let wire = try Check.present(request.observation, "observation")
            let id = try Check.key(wire.key, "observation.key")
            let subject = try CRMDomain.Handle(wire: wire.subject, field: "observation.subject")
            let field = try CRMDomain.ProfileField(wire: wire.field, field: "observation.field")
            let source = try FactSource(wire: wire.source, field: "observation.source")
            let observed = try Check.requiredTime(wire.observedMs, "observation.observed_ms")
            let value = try Check.bounded(wire.value, "observation.value", maximum: 500)
            return (id, FieldObservation(handle: subject, field: field, value: value), source, observed)
        }
        let receipt = try await env.write(
            [Fact(id: id, observedAt: observed, source: source, payload: .fieldObservation(observation))], audit: "ObserveProfileField",
            subject: .customerOfFact(0), "\(observation.field.rawValue) observed by \(source.rawValue)")
        let outcome = receipt.outcomes[0].wire
        let summary = try await env.store.summary(for: observation.handle)
        let customer = summary?.id.rawValue ?? ""
        let current = summary?.fields[observation.field].map {
            CRMMessages.FieldObservation(field: observation.field, value: $0, subject: nil)
        }
        return ObserveProfileFieldResponse(outcome: outcome, customerID: customer, current: current)
    }
}

import CRMMessages
public import CRMRPC
public import CRMWire

/// Who may call a method: anyone (no credentials), or callers in one of some roles.
public enum AccessRule: Sendable, Hashable, CustomStringConvertible {
    /// No credentials needed: health checks and reflection.
    case open
    /// Credentials granting one of these roles.
    case roles(Set<CallerRole>)

    /// Whether a caller in `role` may call the method.
    public func allows(_ role: CallerRole) -> Bool {
        switch self {
        case .open: true
        case .roles(let roles): roles.contains(role)
        }
    }

    /// The roles allowed, sorted by name, as error messages name them: `agent or supervisor`.
    public var description: String {
        switch self {
        case .open:
            return "no credentials"
        case .roles(let roles):
            let names = roles.map(\.rawValue).sorted()
            guard names.count > 1 else { return names.first ?? "no role" }
            return names.dropLast().joined(separator: ", ") + " or " + names.last!
        }
    }
}

/// The one table of who may call what: every method of every service in `Protos/`, by path.
///
/// The classes of callers:
///
/// - **adapter** (channel adapters, by mTLS certificate or token): pushes interactions
///   (`PushInteraction`, `PushInteractions`, `Converse`), upserts and imports orders, adds tracking
///   events, links identities and observes profile fields it learned from its channel.
/// - **agent**: everything operational — profiles and caller snapshots, the timeline and live
///   interactions, orders, complaints and their transitions, compensation quotes, return quality
///   checks, loyalty, ratings, and the notice stream. The complaint workflow itself decides which
///   team may make which transition.
/// - **supervisor**: everything an agent may do, plus every report. Unlinking identities (undoing a
///   merge of two customers) is for supervisors only.
/// - **customer** (self-service, a token bound to one customer): `GetComplaint` and
///   `ListComplaints` (the services answer only its own customer's complaints), `WatchMyNotices`
///   (its own notices), `SubmitRating` and `GetLoyaltyStatus` (its own). Opening a complaint
///   goes through an agent (or a channel adapter's interaction), so that nobody can open one in
///   another customer's name.
/// - **anyone**: `crm.v1.Health` and `crm.v1.Reflection`, without credentials.
///
/// A method missing from the table is refused to everyone (PERMISSION_DENIED), and the test suite
/// fails on it through ``unlistedMethods(in:)``.
public enum AccessPolicy {
    private static let adapter: Set<CallerRole> = [.adapter]
    private static let staff: Set<CallerRole> = [.agent, .supervisor]
    private static let supervisor: Set<CallerRole> = [.supervisor]

    /// The rule of every method, by path (`/crm.v1.<Service>/<Method>`).
    public static let rules: [String: AccessRule] = {
        var rules: [String: AccessRule] = [:]
        func allow(_ info: WireMethodInfo, _ roles: Set<CallerRole>) {
            precondition(rules[info.path] == nil, "\(info.path) is listed twice in AccessPolicy")
            rules[info.path] = .roles(roles)
        }
        func open(_ info: WireMethodInfo) { rules[info.path] = .open }

        // Built into every server.
        for method in Health.methods + Reflection.methods { open(method) }

        // Channels push; staff read and act.
        allow(InteractionService.pushInteraction.info, adapter.union(staff))
        allow(InteractionService.pushInteractions.info, adapter.union(staff))
        allow(InteractionService.converse.info, adapter.union(staff))
        allow(InteractionService.watchInteractions.info, staff)
        allow(InteractionService.getTimeline.info, staff)

        allow(ProfileService.getProfile.info, staff)
        allow(ProfileService.getCallerSnapshot.info, staff)
        allow(ProfileService.searchProfiles.info, staff)
        allow(ProfileService.linkIdentities.info, adapter.union(staff))
        allow(ProfileService.observeProfileField.info, adapter.union(staff))
        allow(ProfileService.unlinkIdentities.info, supervisor)

        allow(OrderService.upsertOrder.info, adapter.union(staff))
        allow(OrderService.importOrders.info, adapter.union(staff))
        allow(OrderService.addTrackingEvent.info, adapter.union(staff))
        allow(OrderService.getOrder.info, staff)
        allow(OrderService.listOrders.info, staff)

        allow(ComplaintService.openComplaint.info, staff)
        allow(ComplaintService.getComplaint.info, staff.union([.customer]))
        allow(ComplaintService.listComplaints.info, staff.union([.customer]))
        allow(ComplaintService.transitionComplaint.info, staff)
        allow(ComplaintService.quoteCompensation.info, staff)
        allow(ComplaintService.recordReturnQualityCheck.info, staff)
        allow(ComplaintService.importComplaints.info, supervisor)
        allow(ComplaintService.watchComplaints.info, staff)
        allow(ComplaintService.watchMyNotices.info, staff.union([.customer]))

        allow(LoyaltyService.getLoyaltyStatus.info, staff.union([.customer]))
        allow(LoyaltyService.getOrderBenefits.info, staff)

        allow(FeedbackService.submitRating.info, staff.union([.customer]))
        allow(FeedbackService.listRatings.info, staff)

        for method in ReportService.methods { allow(method, supervisor) }
        return rules
    }()

    /// The rule for the method at `path`, or nil when the table does not list it (then nobody may
    /// call it).
    public static func rule(for path: String) -> AccessRule? {
        rules[path]
    }

    /// Every method the policy must cover: those of every service in `Protos/`, health and reflection included.
    public static var protoMethods: [WireMethodInfo] {
        RPCProtoTypes.methods + CRMProtoTypes.methods
    }

    /// The paths among `methods` that the table does not list, sorted; empty when it covers them all.
    public static func unlistedMethods(in methods: [WireMethodInfo]) -> [String] {
        methods.map(\.path).filter { rules[$0] == nil }.sorted()
    }

    /// The paths of the methods `services` register that the table does not list, sorted.
    public static func unlistedMethods(in services: [any RPCService]) -> [String] {
        var router = MethodRouter()
        for service in services { service.registerMethods(with: &router) }
        return unlistedMethods(in: router.methods.map(\.info))
    }
}

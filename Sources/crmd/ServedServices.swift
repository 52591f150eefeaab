import CRMServer
import CRMStore

/// The services `crmd serve` registers, made from the open store: every CRM service over one
/// event hub. The RPC server adds `crm.v1.Health` and `crm.v1.Reflection` itself.
enum ServedServices {
    static func make(store: any Store) throws -> ServerComponents {
        let services = CRMServices(store: store, events: EventHub(), now: unixMillisecondsNow)
        return ServerComponents(services: services.all)
    }

    /// Whether the CRM services are registered (false: health and reflection only).
    static let includesCRMServices = true
}

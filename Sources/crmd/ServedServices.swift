import CRMServer
import CRMStore

/// The services `crmd serve` registers, made from the open store. This is the one place that
/// chooses them: the CRM services, once built, are returned here with their background sweeps.
/// The RPC server adds `crm.v1.Health` and `crm.v1.Reflection` itself.
enum ServedServices {
    static func make(store: any Store) throws -> ServerComponents {
        ServerComponents(services: [], sweeps: [])
    }

    /// Whether the CRM services are registered (false: health and reflection only).
    static let includesCRMServices = false
}

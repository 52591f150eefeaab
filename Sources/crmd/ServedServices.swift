import CRMServer
import CRMStore

/// The services `crmd serve` registers, made from the open store: every CRM service over one
/// event hub, with the proactive-notice sweeps (delay notices, complaint service levels) and, on a database several
/// nodes share, the follower of the other nodes' writes (``PeerEventFollower``). The RPC
/// server adds `crm.v1.Health` and `crm.v1.Reflection` itself.
enum ServedServices {
    static func make(store: any Store) throws -> ServerComponents {
        // Several nodes on one database: each node's hub also hears the others' writes, and drops what it heard twice.
        let events = EventHub(deduplicating: store.sharedWithOtherNodes)
        let services = CRMServices(store: store, events: events, now: unixMillisecondsNow)
        return ServerComponents(services: services.all, sweeps: services.sweeps(), events: events)
    }
}

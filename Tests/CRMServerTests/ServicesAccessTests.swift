import CRMServer
import CRMStore
import Foundation
import Testing

@Suite("Services and access policy")
struct ServicesAccessTests {
    @Test("every method CRMServices registers is in the access policy")
    func everyServedMethodListed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-svc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(location: StoreLocation(directory: directory))
        let services = CRMServices(store: store, events: EventHub(), now: unixMillisecondsNow)
        #expect(AccessPolicy.unlistedMethods(in: services.all) == [])
        try await store.close()
    }
}

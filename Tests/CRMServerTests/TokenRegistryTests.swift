import CRMDomain
import CRMServer
import CRMStore
import Foundation
import Testing

@Suite("Tokens")
struct TokenRegistryTests {
    /// A registry over a fresh store in a temporary folder.
    func withRegistry(_ body: (TokenRegistry, SQLiteStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-tokens-\(UUID().uuidString)").path
        let store = try SQLiteStore(location: StoreLocation(directory: directory))
        do {
            try await body(TokenRegistry(store: store), store)
        } catch {
            try? await store.close()
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        try await store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test("tokens are crm_ + 43 base64url characters of 32 random bytes, all different")
    func format() throws {
        let tokens = try (0..<100).map { _ in try AccessToken.generate() }
        #expect(Set(tokens).count == 100)
        for token in tokens {
            #expect(token.hasPrefix("crm_"))
            #expect(token.count == 4 + 43)
            #expect(AccessToken.isWellFormed(token))
        }
        #expect(!AccessToken.isWellFormed("crm_short"))
    }

    @Test("SHA-256 through OpenSSL matches the known digest")
    func sha256() {
        #expect(AccessToken.hex(AccessToken.sha256(Array("abc".utf8)))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("only the digest is stored; the token authenticates its principal with team and customer")
    func storedHashed() async throws {
        try await withRegistry { registry, store in
            let agent = try await registry.create(role: .agent, name: "sari", team: .sales)
            let customer = try await registry.create(role: .customer, name: "budi", customerID: try CustomerID("cus_00000000000000000000000000000009"), expiresInDays: 30)
            let records = try await store.allTokens()
            #expect(records.count == 2)
            for record in records {
                #expect(record.digest.count == 32)
                #expect(record.digest != Array(agent.token.utf8))
            }
            #expect(records.map(\.digest).contains(AccessToken.digest(of: agent.token)))
            #expect(try await registry.authenticate(agent.token) == .success(Principal(role: .agent, name: "sari", team: .sales)))
            #expect(try await registry.authenticate(customer.token)
                == .success(Principal(role: .customer, name: "budi", customerID: try CustomerID("cus_00000000000000000000000000000009"))))
            #expect(customer.info.expiresAt == customer.info.createdAt + 30 * 86_400_000)
            #expect(try await registry.authenticate(try AccessToken.generate()) == .failure(.unknown))
        }
    }

    @Test("bindings are checked: agents need a team, customers a customer, and nobody else has either")
    func bindings() async throws {
        try await withRegistry { registry, _ in
            await #expect(throws: TokenRegistryError.teamRequired) { _ = try await registry.create(role: .agent, name: "x") }
            await #expect(throws: TokenRegistryError.customerRequired) { _ = try await registry.create(role: .customer, name: "x") }
            await #expect(throws: TokenRegistryError.teamOnlyForAgents(.supervisor)) {
                _ = try await registry.create(role: .supervisor, name: "x", team: .sales)
            }
            await #expect(throws: TokenRegistryError.customerOnlyForCustomers(.adapter)) {
                _ = try await registry.create(role: .adapter, name: "x", customerID: try CustomerID("cus_00000000000000000000000000000001"))
            }
            await #expect(throws: TokenRegistryError.invalidName(" ")) { _ = try await registry.create(role: .adapter, name: " ") }
            await #expect(throws: TokenRegistryError.invalidLifetime(0)) {
                _ = try await registry.create(role: .adapter, name: "x", expiresInDays: 0)
            }
            let tokens = try await registry.list()
            #expect(tokens.isEmpty)
        }
    }

    @Test("list shows every token with its state; revoke takes an id or an unambiguous prefix")
    func listAndRevoke() async throws {
        try await withRegistry { registry, store in
            var issued: [IssuedToken] = []
            for index in 0..<20 { issued.append(try await registry.create(role: .adapter, name: "adapter-\(index)")) }
            let listed = try await registry.list()
            #expect(Set(listed.map(\.id)) == Set(issued.map(\.info.id)))
            #expect(listed.allSatisfy { $0.state(now: unixMillisecondsNow()) == "active" })

            let target = issued[3].info
            let revoked = try await registry.revoke(idPrefix: String(target.id.prefix(8)).uppercased())
            #expect(revoked.id == target.id)
            #expect(revoked.revokedAt != nil)
            #expect(try await registry.authenticate(issued[3].token) == .failure(.revoked))
            #expect(try await registry.authenticate(issued[4].token) == .success(issued[4].info.principal))
            // Revoking again changes nothing.
            #expect(try await registry.revoke(idPrefix: target.id).revokedAt == revoked.revokedAt)
            // The audit trail has the issue and the one revocation, never the token.
            let audit = try await store.auditEntries(subject: TokenRegistry.auditSubject(target.id), after: nil, limit: 10)
            #expect(audit.map(\.entry.action) == ["token.create", "token.revoke"])
            #expect(audit.allSatisfy { $0.entry.actor == TokenRegistry.localActor && !$0.entry.detail.contains("crm_") })

            await #expect(throws: TokenRegistryError.prefixTooShort("ab")) { _ = try await registry.revoke(idPrefix: "ab") }
            await #expect(throws: TokenRegistryError.noSuchToken("zzzzzz")) { _ = try await registry.revoke(idPrefix: "zzzzzz") }
            // Among 20 ids, some 1-hex-digit prefix is shared; a 4-digit one almost never is, so
            // check the ambiguity error with the store's own ids.
            let ids = listed.map(\.id)
            if let shared = ids.first(where: { id in ids.filter { $0.hasPrefix(id.prefix(4)) }.count > 1 }) {
                await #expect(throws: TokenRegistryError.self) { _ = try await registry.revoke(idPrefix: String(shared.prefix(4))) }
            }
        }
    }

    @Test("tokens survive reopening the store (the new migration applies to an existing database)")
    func persisted() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-tokens-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(location: StoreLocation(directory: directory))
        let issued = try await TokenRegistry(store: store).create(role: .agent, name: "sari", team: .warehouse)
        try await store.close()
        let reopened = try SQLiteStore(location: StoreLocation(directory: directory))
        #expect(try await TokenRegistry(store: reopened).authenticate(issued.token)
            == .success(Principal(role: .agent, name: "sari", team: .warehouse)))
        try await reopened.close()
    }
}

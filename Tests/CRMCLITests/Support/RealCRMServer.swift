import CRMClient
import CRMDomain
import CRMServer
import CRMStore
import CRMTestSupport
import Foundation

/// A real server (CRMServerApp with every CRM service, SQLite in a temporary folder, TLS with the
/// test certificates, real tokens from TokenRegistry), started in-process the way `crmd serve`
/// assembles it, on 127.0.0.1 with a free port.
enum RealCRMServer {
    struct Running: Sendable {
        /// `127.0.0.1:PORT`.
        var address: String
        /// The CA that signed the server's certificate.
        var caFile: String
        /// A CA that did not sign it, for refusal tests.
        var untrustedCAFile: String
        /// A token per caller: `adapter`, `sales`, `after-sales`, `china-team`, `warehouse`, `supervisor`.
        var tokens: [String: String]
        /// Issues a customer token bound to a customer that exists.
        var customerToken: @Sendable (_ customerID: String) async throws -> String
        /// Stops the server and removes its data.
        var stop: @Sendable () async -> Void
        /// Stops the server, keeping its data, and starts a new one on the same data directory (a new port, new
        /// tokens, nothing kept in memory).
        var restart: @Sendable () async throws -> Running
        /// The watch streams subscribed to the server's events now.
        var watchers: @Sendable () async -> Int

        /// Waits until `count` watch streams are subscribed: a watch started as a child process is listening from
        /// then on. The limit (counted in checks, not on the clock) only guards against a hang.
        func waitForWatchers(_ count: Int) async throws {
            for _ in 0..<24_000 {
                if await watchers() >= count { return }
                try await Task.sleep(for: .milliseconds(5))
            }
            throw LaunchError(description: "no \(count) watch streams subscribed after 24,000 checks; \(await watchers()) are")
        }

        func flags(_ role: String) -> [String] {
            ["--server", address, "--ca", caFile, "--token", tokens[role] ?? ""]
        }

        /// The connection flags of a customer token.
        func flags(token: String) -> [String] {
            ["--server", address, "--ca", caFile, "--token", token]
        }

        func client(_ role: String) throws -> CRMClient {
            let (host, port) = (String(address.split(separator: ":")[0]), Int(address.split(separator: ":")[1])!)
            return try CRMClient(configuration: ClientConfiguration(host: host, port: port, caFile: caFile, token: tokens[role]))
        }
    }

    /// Starts the server as `crmd serve` does (CRMServices over one EventHub) and issues one token per caller.
    static func start(directory existing: String? = nil) async throws -> Running {
        let certificates = try TestCertificates.shared()
        let directory = existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("crmd-cli-\(UUID().uuidString)").path
        let configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, dataDirectory: directory, certificateFile: certificates.serverCertificate,
            privateKeyFile: certificates.serverKey, clientCAFile: certificates.caFile, metricsPort: nil, logLevel: "error",
            shutdownGracePeriod: .seconds(1))
        let events = EventHub()
        let app = CRMServerApp(configuration: configuration) { store in
            ServerComponents(services: CRMServices(store: store, events: events, now: unixMillisecondsNow).all)
        }
        try await app.start()
        guard let port = app.port, let store = app.store else {
            await app.shutdown()
            throw LaunchError(description: "the server started without a port or store")
        }
        let registry = TokenRegistry(store: store)
        func token(_ role: CallerRole, _ name: String, _ team: AgentTeamName? = nil) async throws -> String {
            try await registry.create(role: role, name: name, team: team).token
        }
        let tokens = [
            "adapter": try await token(.adapter, "oms-adapter"),
            "sales": try await token(.agent, "Sari", .sales),
            "after-sales": try await token(.agent, "Dewi", .afterSales),
            "china-team": try await token(.agent, "Li", .chinaTeam),
            "warehouse": try await token(.agent, "Agus", .warehouse),
            "supervisor": try await token(.supervisor, "Rina"),
        ]
        return Running(
            address: "127.0.0.1:\(port)", caFile: certificates.caFile, untrustedCAFile: certificates.untrustedCAFile, tokens: tokens,
            customerToken: { id in
                try await registry.create(role: .customer, name: "customer \(id)", customerID: try CustomerID(id)).token
            },
            stop: {
                await app.shutdown(gracePeriod: .seconds(1))
                try? FileManager.default.removeItem(atPath: directory)
            },
            restart: {
                await app.shutdown(gracePeriod: .seconds(1))
                return try await start(directory: directory)
            },
            watchers: { await events.subscriberCount })
    }

    struct LaunchError: Error, CustomStringConvertible {
        var description: String
    }
}

import ArgumentParser
import CRMDomain
import CRMServer
import CRMStore
import Foundation

/// `crmd token`: issues, lists and revokes access tokens in the data directory's store.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue, list and revoke access tokens (only their SHA-256 digests are stored).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token and print it once.",
            discussion: "Clients send it as the metadata `authorization: Bearer <token>`."
        )

        @Option(help: "adapter, agent, supervisor or customer.")
        var role: String

        @Option(help: "Whom the token is for (a person, or an adapter such as whatsapp); written to the audit trail.")
        var name: String

        @Option(help: "For agents: sales, after-sales, china-team or warehouse.")
        var team: String?

        @Option(help: "For customers: the customer id whose complaints and notices the token may see.")
        var customer: String?

        @Option(name: .customLong("expires-in"), help: "Lifetime in days (default: no expiry).")
        var expiresIn: Int?

        @OptionGroup var data: DataOptions

        func run() async throws {
            guard let role = CallerRole(rawValue: role) else {
                throw ValidationError("--role \(self.role) is not a role; use one of \(CallerRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let team = try team.map { text in
                guard let team = AgentTeamName(rawValue: text) else {
                    throw ValidationError("--team \(text) is not a team; use one of \(AgentTeamName.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return team
            }
            let customerID = try customer.map { text in
                do { return try CustomerID(text) } catch { throw ValidationError("--customer \(text) is not a customer id: \(error)") }
            }
            let issued = try await withRegistry(data) { registry in
                do {
                    return try await registry.create(role: role, name: name, team: team, customerID: customerID, expiresInDays: expiresIn)
                } catch let error as TokenRegistryError {
                    throw CommandFailure(error.description)
                }
            }
            print(issued.token)
            let info = issued.info
            var line = "id \(info.id), role \(info.role.rawValue), name \(info.name)"
            if let team = info.team { line += ", team \(team.rawValue)" }
            if let customer = info.customerID { line += ", customer \(customer)" }
            if let expires = info.expiresAt { line += ", expires \(TokenTable.date(expires))" }
            FileHandle.standardError.write(Data((line + "\nThe token is shown only now; only its digest is stored. Send it as `authorization: Bearer <token>`.\n").utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every token (never the token itself).")

        @OptionGroup var data: DataOptions

        func run() async throws {
            let tokens = try await withRegistry(data) { try await $0.list() }
            print(TokenTable.render(tokens, now: unixMillisecondsNow()), terminator: "")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (or an unambiguous prefix of at least 4 digits).")

        @Argument(help: "The token id, as `crmd token list` shows it.")
        var id: String

        @OptionGroup var data: DataOptions

        func run() async throws {
            let info = try await withRegistry(data) { registry in
                do {
                    return try await registry.revoke(idPrefix: id)
                } catch let error as TokenRegistryError {
                    throw CommandFailure(error.description)
                }
            }
            print("revoked \(info.id) (\(info.role.rawValue) \(info.name))")
        }
    }
}

/// Opens the store of the resolved data directory, runs `body` with a registry on it, closes the store.
private func withRegistry<T: Sendable>(_ data: DataOptions, _ body: (TokenRegistry) async throws -> T) async throws -> T {
    let configuration = try data.resolve().configuration
    let store = try await StoreOpening.openForCommand(configuration, progress: TerminalProgress())
    do {
        let result = try await body(TokenRegistry(store: store))
        try await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}

enum TokenTable {
    static func render(_ tokens: [TokenInfo], now: Int64) -> String {
        guard !tokens.isEmpty else { return "no tokens; issue one with `crmd token create`\n" }
        let header = ["ID", "ROLE", "NAME", "TEAM/CUSTOMER", "CREATED", "EXPIRES", "STATE"]
        let rows = tokens.map { token in
            [
                token.id, token.role.rawValue, token.name, token.team?.rawValue ?? token.customerID?.rawValue ?? "-",
                date(token.createdAt), token.expiresAt.map(date) ?? "never", token.state(now: now),
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func date(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}

/// A failure of a command that ran: printed as `Error: <message>` without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

import ArgumentParser
import CRMClient
import CRMRPC
import Foundation

/// What `crm login` saves: the server and credentials every later command uses.
struct SavedSettings: Codable, Equatable {
    var server: String?
    var ca: String?
    var token: String?
    var cert: String?
    var key: String?

    /// The file the settings live in: `$CRM_CONFIG`, else `$XDG_CONFIG_HOME/crm/config.json`,
    /// else `~/.config/crm/config.json`.
    static func path(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["CRM_CONFIG"], !path.isEmpty { return path }
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/crm/config.json" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.config/crm/config.json"
    }

    /// The saved settings, or empty ones when the file does not exist.
    static func load(from path: String) throws -> SavedSettings {
        guard FileManager.default.fileExists(atPath: path) else { return SavedSettings() }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(SavedSettings.self, from: data)
        } catch {
            throw CLIFailure(.usage, "cannot read the settings in \(path): \(error.localizedDescription); fix or delete the file, then run `crm login` again")
        }
    }

    /// Writes the settings, readable by the user only (the file holds a token).
    func save(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        try data.write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }
}

/// Where one resolved setting came from.
enum SettingSource: String, Codable {
    case flag, environment, file, `default`
}

/// The connection settings a command runs with, each with where it came from: a flag beats the
/// environment (`CRM_SERVER`, `CRM_CA`, `CRM_TOKEN`, `CRM_CERT`, `CRM_KEY`, `CRM_TIMEOUT`), which
/// beats the file `crm login` wrote, which beats the default.
struct ResolvedSettings {
    struct Value<T> {
        var value: T
        var source: SettingSource
    }

    var server: Value<String>
    var ca: Value<String?>
    var token: Value<String?>
    var cert: Value<String?>
    var key: Value<String?>
    var timeoutSeconds: Value<Double>
    var file: String

    static let defaultServer = "127.0.0.1:\(RPCProtocol.defaultPort)"

    init(flags: ConnectionOptions, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        file = SavedSettings.path(environment: environment)
        let saved = try SavedSettings.load(from: file)
        func pick(_ flag: String?, _ variable: String, _ stored: String?) -> Value<String?> {
            if let flag { return Value(value: flag, source: .flag) }
            if let env = environment[variable], !env.isEmpty { return Value(value: env, source: .environment) }
            if let stored { return Value(value: stored, source: .file) }
            return Value(value: nil, source: .default)
        }
        let server = pick(flags.server, "CRM_SERVER", saved.server)
        self.server = Value(value: server.value ?? Self.defaultServer, source: server.source)
        ca = pick(flags.ca, "CRM_CA", saved.ca)
        token = pick(flags.token, "CRM_TOKEN", saved.token)
        cert = pick(flags.cert, "CRM_CERT", saved.cert)
        key = pick(flags.key, "CRM_KEY", saved.key)
        if let timeout = flags.timeout {
            timeoutSeconds = Value(value: timeout, source: .flag)
        } else if let text = environment["CRM_TIMEOUT"], !text.isEmpty {
            guard let seconds = Double(text), seconds > 0 else {
                throw CLIFailure(.usage, "CRM_TIMEOUT=\(text) is not a number of seconds; write e.g. CRM_TIMEOUT=30")
            }
            timeoutSeconds = Value(value: seconds, source: .environment)
        } else {
            timeoutSeconds = Value(value: 30, source: .default)
        }
    }

    /// The client configuration these settings mean.
    func clientConfiguration() throws -> ClientConfiguration {
        let (host, port) = try parseServer(server.value)
        return ClientConfiguration(
            host: host, port: port, caFile: ca.value, token: token.value, clientCertificateFile: cert.value,
            clientKeyFile: key.value, defaultTimeout: .milliseconds(Int64(timeoutSeconds.value * 1000)))
    }
}

/// `HOST:PORT` (or `[v6]:PORT`, or a bare host on the default port) as host and port.
func parseServer(_ text: String) throws -> (host: String, port: Int) {
    let hint = "write the server as HOST:PORT, e.g. --server crm.example.id:7443 or --server 127.0.0.1:\(RPCProtocol.defaultPort)"
    if text.hasPrefix("[") {
        guard let close = text.firstIndex(of: "]") else { throw CLIFailure(.usage, "'\(text)' is not a server address; \(hint)") }
        let host = String(text[text.index(after: text.startIndex)..<close])
        let rest = text[text.index(after: close)...]
        if rest.isEmpty { return (host, RPCProtocol.defaultPort) }
        guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) else {
            throw CLIFailure(.usage, "'\(text)' has no valid port; \(hint)")
        }
        return (host, port)
    }
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard !text.isEmpty, parts.count <= 2, !parts[0].isEmpty else {
        throw CLIFailure(.usage, "'\(text)' is not a server address; \(hint)")
    }
    if parts.count == 1 { return (text, RPCProtocol.defaultPort) }
    guard let port = Int(parts[1]), (1...65535).contains(port) else {
        throw CLIFailure(.usage, "'\(text)' has no valid port; \(hint)")
    }
    return (String(parts[0]), port)
}

/// The connection options every command that calls the server takes.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The server as HOST:PORT (env CRM_SERVER; default: what `crm login` saved, else 127.0.0.1:7443).", valueName: "host:port"))
    var server: String?

    @Option(name: .long, help: ArgumentHelp("PEM file of the CA that signed the server's certificate (env CRM_CA).", valueName: "file"))
    var ca: String?

    @Option(name: .long, help: ArgumentHelp("Bearer token sent with every call (env CRM_TOKEN).", valueName: "token"))
    var token: String?

    @Option(name: .long, help: ArgumentHelp("Client certificate PEM for mutual TLS (env CRM_CERT); needs --key.", valueName: "file"))
    var cert: String?

    @Option(name: .long, help: ArgumentHelp("Private key PEM of --cert (env CRM_KEY).", valueName: "file"))
    var key: String?

    @Option(name: .long, help: ArgumentHelp("Seconds a call may take (env CRM_TIMEOUT; default 30).", valueName: "seconds"))
    var timeout: Double?

    func validate() throws {
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds, e.g. --timeout 30") }
    }

    /// The settings after flags, environment and the saved file.
    func resolved() throws -> ResolvedSettings { try ResolvedSettings(flags: self) }

    /// Runs `body` with a client made from the resolved settings, closing it afterwards.
    func withClient<T>(_ body: (CRMClient) async throws -> T) async throws -> T {
        let settings = try resolved()
        let client = try CRMClient(configuration: settings.clientConfiguration())
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw ServerError(error: error, server: settings.server.value)
        }
    }
}

/// An error from a call, with the server it went to (for the hint when it is unreachable).
struct ServerError: Error {
    var error: any Error
    var server: String
}

import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMWire
import Foundation

/// `crm login`: saves the server and credentials.
struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Save the server, CA and token that later commands use.",
        discussion: """
            Writes ~/.config/crm/config.json (or $XDG_CONFIG_HOME/crm/config.json, or $CRM_CONFIG), readable by you \
            only. Options not given keep their saved values. Unless --no-verify, checks first that the server answers \
            its health check over TLS with this CA.

            Example: crm login --server crm.example.id:7443 --ca ca.pem --token "$TOKEN"
            """
    )

    @Option(help: ArgumentHelp("The server as HOST:PORT.", valueName: "host:port"))
    var server: String?

    @Option(help: ArgumentHelp("PEM file of the CA that signed the server's certificate.", valueName: "file"))
    var ca: String?

    @Option(help: ArgumentHelp("The bearer token a supervisor issued you (crmd tokens issue).", valueName: "token"))
    var token: String?

    @Option(help: ArgumentHelp("Client certificate PEM, when the server asks for mutual TLS.", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("Private key PEM of --cert.", valueName: "file"))
    var key: String?

    @Flag(help: "Save without checking that the server answers.")
    var noVerify = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if server == nil && ca == nil && token == nil && cert == nil && key == nil {
            throw ValidationError("nothing to save; give at least one of --server HOST:PORT, --ca FILE, --token TOKEN, --cert FILE --key FILE")
        }
        if let server { _ = try parseServer(server) }
    }

    func run() async throws {
        let path = SavedSettings.path()
        var saved = try SavedSettings.load(from: path)
        func absolute(_ file: String) throws -> String {
            let url = URL(fileURLWithPath: file)
            guard FileManager.default.isReadableFile(atPath: url.path) else {
                throw CLIFailure(.usage, "cannot read \(file); give the path of an existing PEM file")
            }
            return url.standardizedFileURL.path
        }
        if let server { saved.server = server }
        if let ca { saved.ca = try absolute(ca) }
        if let token { saved.token = token }
        if let cert { saved.cert = try absolute(cert) }
        if let key { saved.key = try absolute(key) }

        var verified: String?
        if !noVerify {
            var flags = ConnectionOptions()
            flags.server = saved.server
            flags.ca = saved.ca
            flags.token = saved.token
            flags.cert = saved.cert
            flags.key = saved.key
            flags.timeout = 10
            let status = try await flags.withClient { client in
                try await client.health.check(HealthCheckRequest()).servingStatus
            }
            verified = enumLabel(status)
        }
        try saved.save(to: path)
        struct View: Encodable {
            var configFile: String
            var server: String
            var serverStatus: String?
        }
        let view = View(configFile: path, server: saved.server ?? ResolvedSettings.defaultServer, serverStatus: verified)
        try emit(view, json: output.json) { view in
            var lines = ["Saved to \(view.configFile)."]
            if let status = view.serverStatus {
                lines.append("\(view.server) answers: \(status == "serving" ? Style.good(status) : Style.warn(status)).")
            }
            return lines.joined(separator: "\n")
        }
    }
}

/// `crm config show`: the settings a command would use, and where each came from.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the connection settings in effect.",
        subcommands: [Show.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the server, CA, token (shortened) and certificate in effect, and where each came from.",
            discussion: "Precedence: a flag, then the environment (CRM_SERVER, CRM_CA, CRM_TOKEN, CRM_CERT, CRM_KEY, CRM_TIMEOUT), then the file `crm login` saved, then the default."
        )

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let settings = try connection.resolved()
            struct Setting: Encodable {
                var value: String?
                var source: SettingSource
            }
            struct View: Encodable {
                var configFile: String
                var server: Setting
                var ca: Setting
                var token: Setting
                var cert: Setting
                var key: Setting
                var timeoutSeconds: Setting
            }
            let token = settings.token.value.map { $0.count <= 8 ? String(repeating: "•", count: $0.count) : String($0.prefix(6)) + "…" }
            let view = View(
                configFile: settings.file,
                server: Setting(value: settings.server.value, source: settings.server.source),
                ca: Setting(value: settings.ca.value, source: settings.ca.source),
                token: Setting(value: token, source: settings.token.source),
                cert: Setting(value: settings.cert.value, source: settings.cert.source),
                key: Setting(value: settings.key.value, source: settings.key.source),
                timeoutSeconds: Setting(value: String(format: "%g", settings.timeoutSeconds.value), source: settings.timeoutSeconds.source))
            try emit(view, json: output.json) { v in
                var table = Table(["SETTING", "VALUE", "FROM"])
                for (name, s) in [("server", v.server), ("ca", v.ca), ("token", v.token), ("cert", v.cert), ("key", v.key), ("timeout", v.timeoutSeconds)] {
                    table.add([name, s.value ?? Style.dim("-"), s.source.rawValue])
                }
                return table.render() + "\n" + Style.dim("config file: \(v.configFile)")
            }
        }
    }
}

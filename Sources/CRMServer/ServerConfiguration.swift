public import CRMRPC
public import CRMStore
import Foundation

/// Everything `crmd serve` needs to start: where to listen, where the data lives, the TLS files,
/// the metrics port and the log level.
///
/// Made by hand, or resolved from flags, environment and a configuration file by
/// ``ServerConfiguration/resolve(flags:environment:readFile:)``.
public struct ServerConfiguration: Sendable, Hashable {
    /// The address to listen on; loopback unless told otherwise.
    public var host: String
    /// The TCP port to listen on; 0 picks a free one.
    public var port: Int
    /// Where the embedded store and the development certificates live.
    public var store: StoreLocation
    /// The PostgreSQL database several nodes share; nil: the embedded SQLite store in ``store``.
    public var database: PostgresLocation?
    /// The server certificate chain (PEM). Nil: development certificates in `<data>/certs`.
    public var certificateFile: String?
    /// The private key of ``certificateFile`` (PEM).
    public var privateKeyFile: String?
    /// The CA bundle client certificates must chain to (mTLS adapters). With development
    /// certificates, the development CA.
    public var clientCAFile: String?
    /// Whether every client must present a certificate signed by the CA. Otherwise a certificate
    /// is optional (a client without one authenticates with a token).
    public var requireClientCertificate: Bool
    /// The loopback port of the Prometheus `GET /metrics` endpoint (0: any free one); nil: no endpoint.
    public var metricsPort: Int?
    /// The log level: trace, debug, info, notice, warning, error or critical.
    public var logLevel: String
    /// How long calls in flight may run on after a shutdown begins before they are reset.
    public var shutdownGracePeriod: Duration

    /// The default metrics port.
    public static let defaultMetricsPort = 9464

    /// A configuration; every setting has the default `crmd serve` uses.
    public init(
        host: String = "127.0.0.1", port: Int = RPCProtocol.defaultPort, dataDirectory: String = "crmd-data",
        certificateFile: String? = nil, privateKeyFile: String? = nil, clientCAFile: String? = nil,
        requireClientCertificate: Bool = false, metricsPort: Int? = ServerConfiguration.defaultMetricsPort,
        logLevel: String = "info", shutdownGracePeriod: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.store = StoreLocation(directory: dataDirectory)
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.clientCAFile = clientCAFile
        self.requireClientCertificate = requireClientCertificate
        self.metricsPort = metricsPort
        self.logLevel = logLevel
        self.shutdownGracePeriod = shutdownGracePeriod
    }

    /// The data directory.
    public var dataDirectory: String { store.directory }

    /// Where development certificates are made when no certificate is configured.
    public var developmentCertificatesDirectory: String {
        (dataDirectory.hasSuffix("/") ? dataDirectory : dataDirectory + "/") + "certs"
    }
}

// MARK: - Resolving flags, environment and file

/// A setting of `crmd serve`, by its name in the configuration file; each also has a flag
/// (`--<name>`) and an environment variable (`CRMD_<NAME>`).
public enum ConfigurationKey: String, Sendable, Hashable, CaseIterable {
    /// The address to listen on.
    case host
    /// The TCP port.
    case port
    /// The data directory.
    case dataDir = "data-dir"
    /// A PostgreSQL database, `postgres://USER@HOST:PORT/DATABASE` (or `HOST1:PORT1,HOST2:PORT2`, a primary and its
    /// standbys), instead of the embedded SQLite store.
    case database
    /// With a primary and its standbys in ``database``: `refuse-writes` (the default: a write is acknowledged only once a
    /// standby has it) or `accept-writes` (acknowledged once the primary has it, standby or not).
    case standbyLost = "standby-lost"
    /// The server certificate chain (PEM).
    case cert
    /// Its private key (PEM).
    case key
    /// The CA of client certificates (PEM).
    case ca
    /// Whether clients must present a certificate: true or false.
    case requireClientCert = "require-client-cert"
    /// The Prometheus endpoint's port, 0 for any free one, or off.
    case metricsPort = "metrics-port"
    /// The log level.
    case logLevel = "log-level"

    /// `CRMD_HOST`, `CRMD_DATA_DIR`, …
    public var environmentVariable: String {
        "CRMD_" + rawValue.uppercased().replacingOccurrences(of: "-", with: "_")
    }
}

/// A configuration that cannot be used, naming the setting, where it came from and what to write.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension ServerConfiguration {
    /// The name of the configuration file looked for in the data directory.
    public static let configurationFileName = "crmd.conf"
    /// The environment variable naming a configuration file.
    public static let configurationFileVariable = "CRMD_CONFIG"

    /// Resolves the configuration with the precedence **flag > environment > file > default**.
    ///
    /// The file is `flags[.config]` if given (`--config`), else `$CRMD_CONFIG`, else
    /// `<data dir>/crmd.conf` when it exists (the data directory as flags and environment
    /// name it). It holds `key = value` lines with the keys of ``ConfigurationKey``; `#` starts a
    /// comment; blank lines are ignored.
    ///
    /// - Parameters:
    ///   - flags: values given as command-line flags.
    ///   - configFile: the `--config` flag.
    ///   - environment: the process environment.
    ///   - readFile: reads a file, nil when it does not exist (injected for tests).
    /// - Throws: ``ConfigurationError`` naming the bad setting and its source.
    public static func resolve(
        flags: [ConfigurationKey: String], configFile: String? = nil, environment: [String: String],
        readFile: (String) throws -> String? = ServerConfiguration.readFileIfPresent
    ) throws -> (configuration: ServerConfiguration, configFile: String?) {
        let defaults = ServerConfiguration()
        func fromFlagsOrEnvironment(_ key: ConfigurationKey) -> String? {
            flags[key] ?? environment[key.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        }
        let earlyDataDir = fromFlagsOrEnvironment(.dataDir) ?? defaults.dataDirectory
        var fileValues: [ConfigurationKey: String] = [:]
        var usedFile: String?
        let explicitFile = configFile ?? environment[configurationFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let explicitFile {
            guard let text = try readFile(explicitFile) else {
                throw ConfigurationError("the configuration file \(explicitFile) does not exist; fix --config or \(configurationFileVariable)")
            }
            fileValues = try parseConfigurationFile(text, path: explicitFile)
            usedFile = explicitFile
        } else {
            let path = (earlyDataDir.hasSuffix("/") ? earlyDataDir : earlyDataDir + "/") + configurationFileName
            if let text = try readFile(path) {
                fileValues = try parseConfigurationFile(text, path: path)
                usedFile = path
            }
        }
        func value(_ key: ConfigurationKey) -> (String, String)? {
            if let flag = flags[key] { return (flag, "--\(key.rawValue)") }
            if let env = environment[key.environmentVariable], !env.isEmpty { return (env, key.environmentVariable) }
            if let file = fileValues[key], let usedFile { return (file, "\(key.rawValue) in \(usedFile)") }
            return nil
        }
        func port(_ key: ConfigurationKey, allowZero: Bool) throws -> Int? {
            guard let (text, source) = value(key) else { return nil }
            guard let number = Int(text), (allowZero ? 0 : 1)...65535 ~= number else {
                throw ConfigurationError("\(source) is \"\(text)\"; give a port number from \(allowZero ? 0 : 1) to 65535")
            }
            return number
        }

        var configuration = defaults
        if let (host, _) = value(.host) { configuration.host = host }
        if let port = try port(.port, allowZero: true) { configuration.port = port }
        if let (dir, _) = value(.dataDir) { configuration.store = StoreLocation(directory: dir) }
        if let (url, source) = value(.database) {
            do {
                configuration.database = try PostgresLocation(url: url, environment: environment)
            } catch {
                throw ConfigurationError("\(source): \(error.description)")
            }
        }
        if let (text, source) = value(.standbyLost) {
            guard let policy = PostgresLocation.StandbyLoss(rawValue: text.lowercased()) else {
                throw ConfigurationError("\(source) is \"\(text)\"; write refuse-writes or accept-writes")
            }
            guard configuration.database != nil else {
                throw ConfigurationError(
                    "\(source) is set, but there is no database: it applies to a PostgreSQL primary and its standbys (--database)")
            }
            configuration.database?.onStandbyLoss = policy
        }
        configuration.certificateFile = value(.cert)?.0
        configuration.privateKeyFile = value(.key)?.0
        configuration.clientCAFile = value(.ca)?.0
        if let (text, source) = value(.requireClientCert) {
            switch text.lowercased() {
            case "1", "true", "yes", "on": configuration.requireClientCertificate = true
            case "0", "false", "no", "off": configuration.requireClientCertificate = false
            default: throw ConfigurationError("\(source) is \"\(text)\"; write true or false")
            }
        }
        if let (text, source) = value(.metricsPort) {
            if ["off", "none"].contains(text.lowercased()) {
                configuration.metricsPort = nil
            } else {
                guard let number = Int(text), (0...65535).contains(number) else {
                    throw ConfigurationError("\(source) is \"\(text)\"; give a port number from 0 (any free one) to 65535, or off")
                }
                configuration.metricsPort = number
            }
        }
        if let (text, source) = value(.logLevel) {
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(text.lowercased()) else {
                throw ConfigurationError("\(source) is \"\(text)\"; write one of \(levels.joined(separator: ", "))")
            }
            configuration.logLevel = text.lowercased()
        }
        switch (configuration.certificateFile, configuration.privateKeyFile) {
        case (nil, nil), (.some, .some): break
        case (.some, nil): throw ConfigurationError("a certificate is configured without its key; set key (--key, CRMD_KEY) too")
        case (nil, .some): throw ConfigurationError("a key is configured without its certificate; set cert (--cert, CRMD_CERT) too")
        }
        if configuration.requireClientCertificate, configuration.certificateFile != nil, configuration.clientCAFile == nil {
            throw ConfigurationError("require-client-cert needs the CA that signs client certificates; set ca (--ca, CRMD_CA)")
        }
        return (configuration, usedFile)
    }

    /// Parses `key = value` lines; `#` starts a comment.
    ///
    /// - Throws: ``ConfigurationError`` naming the file and line of an unknown key or a line without `=`.
    public static func parseConfigurationFile(_ text: String, path: String) throws -> [ConfigurationKey: String] {
        var values: [ConfigurationKey: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = String(line).trimmingSpaces
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ConfigurationError("\(path):\(index + 1): \"\(trimmed)\" is not `key = value`")
            }
            let name = String(trimmed[..<equals]).trimmingSpaces
            var value = String(trimmed[trimmed.index(after: equals)...]).trimmingSpaces
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard let key = ConfigurationKey(rawValue: name) else {
                throw ConfigurationError(
                    "\(path):\(index + 1): unknown key \"\(name)\"; the keys are \(ConfigurationKey.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            values[key] = value
        }
        return values
    }

    /// Reads a UTF-8 file; nil when it does not exist.
    public static func readFileIfPresent(_ path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("cannot read \(path): \(error.localizedDescription)")
        }
    }
}

import ArgumentParser
import CRMServer

/// `crmd serve`: starts the server on its embedded default.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the server (TLS on loopback, embedded SQLite in the data directory)."
    )

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The TCP port to listen on.")
    var port = 7443

    @Option(name: .customLong("data-dir"), help: "The directory for the database and development certificates.")
    var dataDirectory = "crmd-data"

    func validate() throws {
        guard (1...65535).contains(port) else {
            throw ValidationError("--port must be between 1 and 65535, not \(port)")
        }
    }

    func run() throws {
        let config = ServerConfiguration(host: host, port: port, dataDirectory: dataDirectory)
        print(CRMDVersion.text)
        print("listen:   \(config.host):\(config.port) (TLS, ALPN crm/1)")
        print("database: \(config.store.databasePath)")
        print("The RPC listener is not built yet; this build reports its configuration and exits.")
    }
}

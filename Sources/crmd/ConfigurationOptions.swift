import ArgumentParser
import CRMServer
import Foundation

/// The flags every command that opens the data directory shares.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The directory of the database and development certificates (env CRMD_DATA_DIR; default ./crmd-data).")
    var dataDirectory: String?

    @Option(
        name: .customLong("database"),
        help: ArgumentHelp(
            "A PostgreSQL database instead of the embedded SQLite store: postgres://USER@HOST:PORT/DATABASE, with ?sslmode=disable, require or verify-full&sslrootcert=CA-FILE. Name a primary and its standbys as postgres://USER@HOST1:PORT1,HOST2:PORT2/DATABASE: crmd uses the one that accepts writes and follows it after a failover (libpq's target_session_attrs=read-write, which may be written but is the only mode) (env CRMD_DATABASE; the password from PGPASSWORD or the password file PGPASSFILE, default ~/.pgpass).",
            valueName: "url"))
    var database: String?

    @Option(
        name: .customLong("standby-lost"),
        help: ArgumentHelp(
            "With a primary and its standbys in --database (ignored with one server), what to do with writes while no standby has them: refuse-writes (the default: an append is acknowledged only once a standby has flushed it; meanwhile appends answer UNAVAILABLE although the primary holds them and reads show them, and their retries answer DUPLICATE once a standby has caught up; tokens and sent-notice records are not confirmed so; the database user must be a superuser or in pg_read_all_stats, or crmd refuses to start) or accept-writes (acknowledged once the primary has it) (env CRMD_STANDBY_LOST).",
            valueName: "policy"))
    var standbyLost: String?

    @Option(name: .customLong("config"), help: "A configuration file of `key = value` lines (env CRMD_CONFIG; default <data-dir>/crmd.conf if present).")
    var configFile: String?

    /// The configuration resolved from these flags, the environment and the file.
    func resolve(extra: [ConfigurationKey: String] = [:]) throws -> (configuration: ServerConfiguration, configFile: String?) {
        var flags = extra
        if let dataDirectory { flags[.dataDir] = dataDirectory }
        if let database { flags[.database] = database }
        if let standbyLost { flags[.standbyLost] = standbyLost }
        do {
            return try ServerConfiguration.resolve(flags: flags, configFile: configFile, environment: ProcessInfo.processInfo.environment)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}

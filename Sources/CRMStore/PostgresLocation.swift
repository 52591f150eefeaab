import Foundation

/// Where a PostgreSQL store lives: `postgres://USER@HOST:PORT/DATABASE?sslmode=MODE`, as libpq writes it.
///
/// Several servers may be named, `postgres://USER@HOST1:PORT1,HOST2:PORT2/DATABASE`, as libpq's multi-host URLs: a
/// primary and its standbys. crmd uses the one that accepts writes, asking them in the order written (libpq's
/// `target_session_attrs=read-write`, which is the only mode here, crmd being a writer: `read-write` and `primary` are
/// accepted in the URL), and looks again when the one it uses is lost or stops accepting writes (a failover promoted
/// another).
///
/// The password never comes from the URL (a URL is logged, shown by `ps` and kept in shell history): it comes, as
/// libpq takes it, from the environment's `PGPASSWORD`, or else from the password file `PGPASSFILE` names (default
/// `~/.pgpass`): lines of `HOST:PORT:DATABASE:USER:PASSWORD`, `*` matching anything, `\:` and `\\` escaping, the
/// first matching line winning; the file must not be readable by group or others. `sslmode` is `disable`, `require` (encrypted, the server's
/// certificate not checked) or `verify-full` (checked against `sslrootcert`, a CA file, and the host name).
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    /// How the connection is encrypted.
    public enum SSLMode: Sendable, Hashable {
        case disable
        case require
        /// The server's certificate must be signed by the CA in this PEM file and name the host.
        case verifyFull(caFile: String)
    }

    /// What a node does with writes while the standby is lost, when the URL names a primary and its standbys.
    public enum StandbyLoss: String, Sendable, Hashable, CaseIterable {
        /// A write is acknowledged only once a standby has it (its commit's WAL flushed there): while none does, writes
        /// answer UNAVAILABLE, committed on the primary, and a retry is acknowledged once a standby has caught up. No
        /// acknowledged write is lost with the primary's site.
        case refuseWrites = "refuse-writes"
        /// Writes are acknowledged once the primary committed them, with or without a standby: service goes on, and
        /// what was acknowledged while the standby was lost dies with the primary's site.
        case acceptWrites = "accept-writes"
    }

    /// One server of the URL.
    public struct Server: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `HOST:PORT`.
        public var description: String { "\(host):\(port)" }
    }

    /// The servers, in the order the URL names them (at least one).
    public var servers: [Server]
    /// What a node does with writes while no standby has them; only with several ``servers`` (one server has no standby
    /// to wait for). Not part of the URL: crmd's setting `standby-lost`.
    public var onStandbyLoss: StandbyLoss = .refuseWrites
    /// The first server's host.
    public var host: String { servers[0].host }
    /// The first server's port.
    public var port: Int { servers[0].port }
    public var user: String
    public var database: String
    public var sslMode: SSLMode
    /// From `PGPASSWORD`; never printed.
    public var password: String?

    /// Parses `url`; the password is `environment["PGPASSWORD"]`, else the matching line of the password file
    /// (`environment["PGPASSFILE"]`, else `~/.pgpass` under `environment["HOME"]`), else none.
    ///
    /// - Throws: ``PostgresLocationError`` saying what is wrong and how to write it, or why the password file
    ///   cannot be used.
    public init(url: String, environment: [String: String] = [:]) throws(PostgresLocationError) {
        let schemes = ["postgres://", "postgresql://"]
        guard let scheme = schemes.first(where: { url.hasPrefix($0) }) else {
            throw PostgresLocationError(url, "does not start with postgres:// (write postgres://USER@HOST:PORT/DATABASE)")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw PostgresLocationError(url, "names no database (write postgres://USER@HOST:PORT/DATABASE)")
        }
        let authority = rest[..<slash]
        database = String(rest[rest.index(after: slash)...])
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresLocationError(url, "names no database after the host (write postgres://USER@HOST:PORT/DATABASE)")
        }
        guard let at = authority.lastIndex(of: "@") else {
            throw PostgresLocationError(url, "names no user (write postgres://USER@HOST:PORT/DATABASE)")
        }
        let userPart = authority[..<at]
        guard !userPart.contains(":") else {
            throw PostgresLocationError(
                url, "holds a password; give it in the environment variable PGPASSWORD instead, so that it is never logged")
        }
        guard !userPart.isEmpty else { throw PostgresLocationError(url, "names no user before @") }
        user = String(userPart)
        servers = []
        for hostPart in authority[authority.index(after: at)...].split(separator: ",", omittingEmptySubsequences: false) {
            servers.append(try Self.server(hostPart, url: url))
        }
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            parameters[String(parts[0])] = parts.count == 2 ? String(parts[1]) : ""
        }
        for name in parameters.keys.sorted() where !["sslmode", "sslrootcert", "target_session_attrs"].contains(name) {
            throw PostgresLocationError(
                url, "has the parameter \(name), which crmd does not take (only sslmode, sslrootcert and target_session_attrs)")
        }
        // libpq's `primary` differs from `read-write` only for a primary made read-only by default_transaction_read_only.
        if let target = parameters["target_session_attrs"], !["read-write", "primary"].contains(target) {
            throw PostgresLocationError(
                url, "has target_session_attrs=\(target); crmd writes, so it always uses the server that accepts writes "
                    + "(read-write, the default): leave the parameter out")
        }
        switch parameters["sslmode"] ?? "disable" {
        case "disable": sslMode = .disable
        case "require": sslMode = .require
        case "verify-full":
            guard let caFile = parameters["sslrootcert"], !caFile.isEmpty else {
                throw PostgresLocationError(url, "asks for sslmode=verify-full without sslrootcert=CA-FILE to verify against")
            }
            sslMode = .verifyFull(caFile: caFile)
        case let other:
            throw PostgresLocationError(url, "has sslmode=\(other); use disable, require or verify-full")
        }
        if let password = environment["PGPASSWORD"], !password.isEmpty {
            self.password = password
        } else {
            // One password for every server: that of the first server, in the URL's order, the password file has a
            // line for (libpq would take each server's own line as it connects to it).
            var found: String?
            for server in servers where found == nil {
                found = try PasswordFile.lookup(
                    host: server.host, port: server.port, database: database, user: user, environment: environment, url: url)
            }
            password = found
        }
    }

    /// `HOST` or `HOST:PORT` of the URL's authority.
    private static func server(_ part: Substring, url: String) throws(PostgresLocationError) -> Server {
        var host = String(part)
        var port = 5432
        if let colon = part.lastIndex(of: ":") {
            host = String(part[..<colon])
            guard let number = Int(part[part.index(after: colon)...]), (1...65_535).contains(number) else {
                throw PostgresLocationError(url, "has a port that is not a number from 1 to 65535")
            }
            port = number
        }
        guard !host.isEmpty else { throw PostgresLocationError(url, "names no host after @ (or an empty one between commas)") }
        return Server(host: host, port: port)
    }

    /// `postgres://USER@HOST:PORT/DATABASE?sslmode=…`, without the password.
    public var description: String {
        let hosts = servers.map(\.description).joined(separator: ",")
        let mode: String
        switch sslMode {
        case .disable: mode = "disable"
        case .require: mode = "require"
        case .verifyFull(let caFile): mode = "verify-full&sslrootcert=\(caFile)"
        }
        return "postgres://\(user)@\(hosts)/\(database)?sslmode=\(mode)"
    }
}

/// libpq's password file: `HOST:PORT:DATABASE:USER:PASSWORD` lines.
enum PasswordFile {
    /// The password of the first line that matches, nil when no file or no line does.
    static func lookup(
        host: String, port: Int, database: String, user: String, environment: [String: String], url: String
    ) throws(PostgresLocationError) -> String? {
        let explicit = environment["PGPASSFILE"].flatMap { $0.isEmpty ? nil : $0 }
        guard let path = explicit ?? environment["HOME"].map({ $0 + "/.pgpass" }) else { return nil }
        var status = stat()
        guard stat(path, &status) == 0 else {
            if explicit != nil {
                throw PostgresLocationError(url, "needs a password from PGPASSFILE=\(path), which does not exist; fix PGPASSFILE or unset it")
            }
            return nil
        }
        guard status.st_mode & 0o077 == 0 else {
            throw PostgresLocationError(
                url, "would take its password from \(path), which group or others may read; run chmod 0600 \(path)")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw PostgresLocationError(url, "would take its password from \(path), which cannot be read as UTF-8 text")
        }
        let wanted = [host, String(port), database, user]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
            let fields = split(line.hasSuffix("\r") ? line.dropLast() : line)
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// The fields of a line split at unescaped colons, with `\:` and `\\` unescaped.
    static func split(_ line: Substring) -> [String] {
        var fields: [String] = []
        var field = ""
        var escaped = false
        for character in line {
            if escaped {
                field.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(field)
                field = ""
            } else {
                field.append(character)
            }
        }
        fields.append(field)
        return fields
    }
}

/// A database URL that cannot be used, and why.
public struct PostgresLocationError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    init(_ url: String, _ problem: String) {
        // The URL is repeated without anything after the user (a password written there is not echoed).
        let shown = url.firstIndex(of: "@").map { _ in url.replacing(/:[^@\/]*@/, with: ":…@") } ?? url
        description = "the database URL \(shown) \(problem)"
    }
}

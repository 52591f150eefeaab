import Foundation

/// Where a PostgreSQL store lives: `postgres://USER@HOST:PORT/DATABASE?sslmode=MODE`, as libpq writes it.
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

    public var host: String
    public var port: Int
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
        let hostPart = authority[authority.index(after: at)...]
        if let colon = hostPart.lastIndex(of: ":") {
            host = String(hostPart[..<colon])
            guard let port = Int(hostPart[hostPart.index(after: colon)...]), (1...65_535).contains(port) else {
                throw PostgresLocationError(url, "has a port that is not a number from 1 to 65535")
            }
            self.port = port
        } else {
            host = String(hostPart)
            port = 5432
        }
        guard !host.isEmpty else { throw PostgresLocationError(url, "names no host after @") }
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            parameters[String(parts[0])] = parts.count == 2 ? String(parts[1]) : ""
        }
        for name in parameters.keys where !["sslmode", "sslrootcert"].contains(name) {
            throw PostgresLocationError(url, "has the parameter \(name), which crmd does not take (only sslmode and sslrootcert)")
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
            password = try PasswordFile.lookup(
                host: host, port: port, database: database, user: user, environment: environment, url: url)
        }
    }

    /// `postgres://USER@HOST:PORT/DATABASE?sslmode=…`, without the password.
    public var description: String {
        let mode: String
        switch sslMode {
        case .disable: mode = "disable"
        case .require: mode = "require"
        case .verifyFull(let caFile): mode = "verify-full&sslrootcert=\(caFile)"
        }
        return "postgres://\(user)@\(host):\(port)/\(database)?sslmode=\(mode)"
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

import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire
import Foundation

/// `crm call`: any method by name with JSON, like grpcurl for gRPC.
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call any method by name with a JSON request and print the JSON answer (for adapter writers and operators).",
        discussion: """
            Without a method, lists the methods the server serves. A method is named SERVICE/METHOD: \
            crm.v1.ProfileService/GetProfile, or ProfileService/GetProfile. The request is JSON in the proto3 mapping \
            (field names in lowerCamelCase or as in the .proto, enums by value name, 64-bit integers as strings or \
            numbers), from --data or standard input; with neither, an empty request. Client and bidirectional streams \
            take a JSON array of requests, or one object per line. A unary answer is printed indented; the messages \
            of a stream one per line as they arrive. Default values are left out of answers.

            Examples:
              crm call
              crm call ProfileService/GetCallerSnapshot --data '{"handle": {"kind": "HANDLE_KIND_PHONE", "value": "0812-3456-789"}}'
              echo '{"period": {"fromMs": "1714496400000", "toMs": "1717174800000"}}' | crm call ReportService/GetRefundRecap
            """
    )

    @Argument(help: ArgumentHelp("The method, as SERVICE/METHOD; omit to list the server's methods.", valueName: "method"))
    var method: String?

    @Option(help: ArgumentHelp("The request as JSON (default: standard input, or {} when it is a terminal).", valueName: "json"))
    var data: String?

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        guard let method else {
            try await list()
            return
        }
        let requests = try requestValues()
        try await connection.withClient { client in
            let served = try await client.reflection.listMethods(ListMethodsRequest()).methods.map(\.name)
            let path = try Self.resolve(method, served: served)
            guard let callable = CRMCallableMethods.all.first(where: { $0.info.path == path }) else {
                throw CLIFailure(.failure, "the server serves \(path), but this crm does not know its messages; use a crm as new as the server")
            }
            let pretty = callable.info.kind == .unary || callable.info.kind == .clientStreaming
            do {
                try await callable.call(on: client, requests: requests) { response in
                    print(try JSONText.render(response, pretty: pretty))
                    flushStandardOutput()
                }
            } catch let error as WireJSONError {
                throw CLIFailure(.usage, "\(error.description) (the request must be \(callable.info.path)'s request message in JSON)")
            }
        }
    }

    /// The methods the server serves, with their call kinds.
    private func list() async throws {
        let methods = try await connection.withClient { client in try await client.reflection.listMethods(ListMethodsRequest()).methods }
        var table = Table(["METHOD", "KIND", "REQUEST", "RESPONSE"])
        for m in methods {
            table.add([m.name, enumLabel(m.callKind), m.requestMessage, m.responseMessage])
        }
        print(table.render())
    }

    /// The request messages: `--data`, else standard input, else `{}` on a terminal.
    private func requestValues() throws -> [JSONValue] {
        let text: String
        if let data {
            text = data
        } else if isatty(STDIN_FILENO) == 1 {
            text = "{}"
        } else {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [.object([:])] }
        do {
            let value = try JSONText.parse(trimmed)
            if case .array(let items) = value { return items }
            return [value]
        } catch {
            // One object per line.
            let lines = trimmed.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard lines.count > 1 else { throw CLIFailure(.usage, "the request is not JSON (\(JSONText.reason(error))); give an object such as {\"customerId\": \"cus_…\"}") }
            return try lines.enumerated().map { i, line in
                do { return try JSONText.parse(line) } catch {
                    throw CLIFailure(.usage, "line \(i + 1) of the requests is not JSON (\(JSONText.reason(error)))")
                }
            }
        }
    }

    /// The full path of `name` among the `served` paths: `crm.v1.X/M`, `/crm.v1.X/M` or `X/M`.
    static func resolve(_ name: String, served: [String]) throws -> String {
        let wanted = name.hasPrefix("/") ? name : "/" + name
        if served.contains(wanted) { return wanted }
        let matches = served.filter { $0.hasSuffix("." + wanted.dropFirst()) }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 { throw CLIFailure(.usage, "\(name) is ambiguous: \(matches.joined(separator: ", ")); give the full name") }
        let close = served.filter { $0.lowercased().hasSuffix("/" + (name.split(separator: "/").last.map(String.init) ?? name).lowercased()) }
        throw CLIFailure(
            .usage, "the server serves no method \(name)" + (close.isEmpty ? "" : "; did you mean \(close.joined(separator: " or "))?")
                + (close.isEmpty ? "; " : " ") + "`crm call` lists the methods it serves")
    }
}

/// JSON text and ``JSONValue``, through Foundation's JSON coders.
enum JSONText {
    private struct Box: Codable {
        var value: JSONValue

        init(_ value: JSONValue) { self.value = value }

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                value = .null
            } else if let b = try? c.decode(Bool.self) {
                value = .bool(b)
            } else if let n = try? c.decode(Int64.self) {
                value = .integer(n)
            } else if let d = try? c.decode(Double.self) {
                value = .number(d)
            } else if let s = try? c.decode(String.self) {
                value = .string(s)
            } else if let a = try? c.decode([Box].self) {
                value = .array(a.map(\.value))
            } else {
                value = .object(try c.decode([String: Box].self).mapValues(\.value))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch value {
            case .null: try c.encodeNil()
            case .bool(let b): try c.encode(b)
            case .integer(let n): try c.encode(n)
            case .number(let d): try c.encode(d)
            case .string(let s): try c.encode(s)
            case .array(let a): try c.encode(a.map(Box.init))
            case .object(let o): try c.encode(o.mapValues(Box.init))
            }
        }
    }

    static func parse(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(Box.self, from: Data(text.utf8)).value
    }

    static func render(_ value: JSONValue, pretty: Bool) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Box(value)), as: UTF8.self)
    }

    /// A short reason for a decoding error.
    static func reason(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
        }
        return "\(error)"
    }
}

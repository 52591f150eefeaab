import ArgumentParser
import Foundation
@preconcurrency import Rainbow

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a command prints: aligned tables for people, or JSON for scripts.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON with stable snake_case field names instead of tables, for scripts.")
    var json = false
}

/// Colour, only on a terminal: off when stdout is not a tty, when NO_COLOR is set, or TERM=dumb.
enum Style {
    static func configure(environment: [String: String] = ProcessInfo.processInfo.environment) {
        Rainbow.enabled = shouldColour(isTTY: isatty(STDOUT_FILENO) == 1, environment: environment)
    }

    static func shouldColour(isTTY: Bool, environment: [String: String]) -> Bool {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
        if environment["TERM"] == "dumb" { return false }
        return isTTY
    }

    static var isStderrTTY: Bool { isatty(STDERR_FILENO) == 1 }

    static func bold(_ s: String) -> String { s.bold }
    static func dim(_ s: String) -> String { s.dim }
    static func good(_ s: String) -> String { s.green }
    static func warn(_ s: String) -> String { s.yellow }
    static func bad(_ s: String) -> String { s.red }
    static func accent(_ s: String) -> String { s.cyan }
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// The visible width of text that may hold ANSI colour codes.
func visibleWidth(_ s: String) -> Int {
    var width = 0
    var inEscape = false
    for scalar in s.unicodeScalars {
        if inEscape {
            if scalar == "m" { inEscape = false }
        } else if scalar == "\u{1B}" {
            inEscape = true
        } else if scalar.properties.generalCategory != .nonspacingMark {
            width += 1
        }
    }
    return width
}

/// An aligned table with a header, like `kubectl get`: columns separated by two spaces, the
/// last column not padded.
struct Table {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns aligned to the right (numbers, money).
    var rightAligned: Set<Int> = []

    init(_ headers: [String], rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rightAligned = rightAligned
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        let count = headers.count
        var widths = headers.map(visibleWidth)
        for row in rows {
            for (i, cell) in row.prefix(count).enumerated() { widths[i] = max(widths[i], visibleWidth(cell)) }
        }
        func line(_ cells: [String], header: Bool) -> String {
            var out = ""
            for i in 0..<count {
                let cell = i < cells.count ? cells[i] : ""
                let pad = String(repeating: " ", count: widths[i] - visibleWidth(cell))
                let shown = header ? Style.bold(cell) : cell
                if rightAligned.contains(i) {
                    out += pad + shown
                } else {
                    out += shown + (i == count - 1 ? "" : pad)
                }
                if i < count - 1 { out += "  " }
            }
            while out.hasSuffix(" ") { out.removeLast() }
            return out
        }
        return ([line(headers, header: true)] + rows.map { line($0, header: false) }).joined(separator: "\n")
    }
}

/// `key: value` lines with the keys aligned, for one record.
func keyValues(_ pairs: [(String, String)]) -> String {
    let width = pairs.map { visibleWidth($0.0) }.max() ?? 0
    return pairs.map { key, value in
        Style.dim(key + ":") + String(repeating: " ", count: width - visibleWidth(key) + 1) + value
    }.joined(separator: "\n")
}

/// A horizontal bar chart: one labelled bar per row, scaled to the largest value.
func barChart(_ rows: [(label: String, value: UInt64, note: String)], width: Int = 40) -> String {
    let labelWidth = rows.map { visibleWidth($0.label) }.max() ?? 0
    let maximum = rows.map(\.value).max() ?? 0
    return rows.map { row in
        let length = maximum == 0 ? 0 : Int((Double(row.value) / Double(maximum) * Double(width)).rounded())
        let bar = String(repeating: "█", count: length) + (length == 0 && row.value > 0 ? "▏" : "")
        let label = row.label + String(repeating: " ", count: labelWidth - visibleWidth(row.label))
        return "\(label)  \(Style.accent(bar))\(String(repeating: " ", count: width - length + 1))\(row.note)"
    }.joined(separator: "\n")
}

/// JSON of a view, with sorted snake_case keys, for `--json`.
func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Prints `view` as JSON when `json` is set, else what `human` renders.
func emit<T: Encodable>(_ view: T, json: Bool, human: (T) -> String) throws {
    if json {
        print(try jsonText(view))
    } else {
        let text = human(view)
        if !text.isEmpty { print(text) }
    }
}

/// Cuts text to `limit` characters on one line, with an ellipsis.
func oneLine(_ text: String, limit: Int = 60) -> String {
    let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
    return flat.count <= limit ? flat : String(flat.prefix(limit - 1)) + "…"
}

/// Flushes standard output (for streams piped to another program).
func flushStandardOutput() {
    fflush(nil)
}

import Foundation
import SwiftCSV

/// A CSV file the CLI imports, read as written: its normalised header and its non-blank rows with their line numbers.
///
/// SwiftCSV parses; the rows are taken as it reads them rather than from its rectangular view (which pads short rows
/// to the longest one), so a row that lost a comma can be told from one whose trailing cells are empty.
package struct CSVTable {
    /// The header's column names, normalised (``normalise(_:)``).
    package let header: [String]
    /// The rows that hold anything but white space, each with the line of the file it starts on.
    package let rows: [(line: Int, cells: [String])]
    /// The columns every row must have.
    package let required: [String]

    /// The file's problem that stops the whole import (not CSV, no header, a required column missing, an unknown one).
    package struct FileError: Error, CustomStringConvertible {
        package var description: String
    }

    /// Reads `text`, whose header must hold every column of `required` and only those and `optional`.
    package init(_ text: String, required: [String], optional: [String]) throws(FileError) {
        let csv: CSV<Enumerated>
        var raw: [[String]] = []
        do {
            csv = try CSV<Enumerated>(string: text, delimiter: .comma, loadColumns: false, rowLimit: 0)
            try csv.enumerateAsArray(startAt: 1, rowLimit: nil) { raw.append($0) }
        } catch {
            throw FileError(description: "the file is not valid CSV: \(error)")
        }
        let header = csv.header.map(Self.normalise)
        guard !header.isEmpty, header != [""] else {
            throw FileError(description: "the file is empty; its first line must be the header: \(required.joined(separator: ","))")
        }
        let missing = required.filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw FileError(description: "the header lacks the column\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")); required: \(required.joined(separator: ", "))")
        }
        let unknown = header.filter { !$0.isEmpty && !required.contains($0) && !optional.contains($0) }
        guard unknown.isEmpty else {
            throw FileError(description: "unknown column\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")); the columns are \((required + optional).joined(separator: ", "))")
        }
        var rows: [(line: Int, cells: [String])] = []
        var line = 2 + Self.newlines(in: csv.header)
        for row in raw {
            let rowLine = line
            line += 1 + Self.newlines(in: row)
            if row.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            rows.append((rowLine, row))
        }
        self.header = header
        self.rows = rows
        self.required = required
    }

    /// The index of each column by name (the first, if a name repeats).
    package var index: [String: Int] {
        Dictionary(header.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
    }

    /// Why a row of `cells` values does not fit the header, or nil when it does: a row may leave out trailing optional
    /// columns, but not a required one, and may not have more values than there are columns.
    package func shapeProblem(cells: Int) -> String? {
        if cells < header.count {
            let missing = header[cells...].filter { required.contains($0) }
            guard !missing.isEmpty else { return nil }
            return "the row has \(cells) of the header's \(header.count) columns, so \(missing.joined(separator: ", ")) "
                + "\(missing.count == 1 ? "is" : "are") missing; give every required column a value (check for a lost comma)"
        }
        if cells > header.count {
            return "the row has \(cells) values but the header names \(header.count) columns; "
                + "put a value that holds a comma in double quotes, e.g. \"Jl. Melati 5, Bekasi\""
        }
        return nil
    }

    /// A header name made comparable: case-insensitive, spaces and dashes as underscores, no byte-order mark.
    package static func normalise(_ header: String) -> String {
        header.trimmingCharacters(in: .whitespaces).lowercased()
            .replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_")
            .replacingOccurrences(of: "\u{FEFF}", with: "")
    }

    private static func newlines(in cells: [String]) -> Int {
        cells.reduce(0) { count, cell in count + cell.reduce(0) { $0 + ($1.isNewline ? 1 : 0) } }
    }
}

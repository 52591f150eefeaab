package import CRMMessages
import CRMWire
import Foundation

/// The CSV that `crm complaint import` reads: past complaints with their times, one row per affected item. Rows with
/// the same `external_id` make one complaint, whose own columns are read from its first row.
///
/// Required columns: `external_id` (the complaint's id in the records: with the importer's id, its idempotency key),
/// `customer` (kind:value), `order`, `category` (out-of-stock, lost-at-customs, broken, return), `opened`.
/// Optional columns: `summary`; per item `sku`, `item_name`, `ordered`, `received`, `broken`, `unit_price`,
/// `correct_unit_price`; per complaint `resolution` (refund, no-compensation, rejected), `settled` (when decided or
/// rejected), `reason` (a rejection's), `rationale`, `goodwill` (`AMOUNT:EXPLANATION`, `;`-separated), `refund` (the
/// total the records state, checked), `informed`, `closed`. Times are YYYY-MM-DD or YYYY-MM-DDTHH:MM, Jakarta time.
package enum ComplaintCSV {
    package static let required = ["external_id", "customer", "order", "category", "opened"]
    package static let optional = [
        "summary", "sku", "item_name", "ordered", "received", "broken", "unit_price", "correct_unit_price", "resolution", "settled",
        "reason", "rationale", "goodwill", "refund", "informed", "closed",
    ]

    /// A row that could not be read, by its line in the file.
    package struct RowError: Error, Equatable, Encodable {
        package var line: Int
        package var externalID: String
        package var message: String
    }

    /// One complaint assembled from its rows.
    package struct ParsedComplaint {
        /// Its number among the complaints of the file (1-based), sent as `row_number`.
        package var rowNumber: UInt64
        /// The line of its first row.
        package var line: Int
        package var request: ImportComplaintsRequest
    }

    package struct Result {
        package var complaints: [ParsedComplaint]
        package var errors: [RowError]
        package var rowCount: Int
    }

    /// Reads `text`: every complaint whose rows are all valid, and an error per bad row; a complaint with a bad row is
    /// held back whole (its other rows are reported too).
    package static func parse(_ text: String, adapterID: String) throws(CSVTable.FileError) -> Result {
        let table = try CSVTable(text, required: required, optional: optional)
        let index = table.index
        var errors: [RowError] = []
        var groups: [(id: String, rows: [(line: Int, cells: [String])])] = []
        var groupIndex: [String: Int] = [:]
        for row in table.rows {
            let id = row.cells[safeIndex: index["external_id"]!].trimmingCharacters(in: .whitespaces)
            guard !id.isEmpty else {
                errors.append(RowError(line: row.line, externalID: "", message: "external_id is empty; give the complaint's id in the records it comes from"))
                continue
            }
            if let g = groupIndex[id] { groups[g].rows.append(row) } else {
                groupIndex[id] = groups.count
                groups.append((id, [row]))
            }
        }
        var complaints: [ParsedComplaint] = []
        for group in groups {
            var rowErrors: [RowError] = []
            var complaint = PastComplaint()
            for (position, row) in group.rows.enumerated() {
                func cell(_ name: String) -> String {
                    guard let i = index[name] else { return "" }
                    return row.cells[safeIndex: i].trimmingCharacters(in: .whitespaces)
                }
                if let problem = table.shapeProblem(cells: row.cells.count) {
                    rowErrors.append(RowError(line: row.line, externalID: group.id, message: problem))
                    continue
                }
                do {
                    if position == 0 { try readComplaintColumns(into: &complaint, cell: cell) }
                    if !cell("sku").isEmpty { complaint.items.append(try readItem(cell: cell)) }
                } catch let error as CellError {
                    rowErrors.append(RowError(line: row.line, externalID: group.id, message: error.message))
                } catch {
                    rowErrors.append(RowError(line: row.line, externalID: group.id, message: "\(error)"))
                }
            }
            if !rowErrors.isEmpty {
                errors += rowErrors
                let others = group.rows.map(\.line).filter { l in !rowErrors.contains { $0.line == l } }
                if let first = others.first {
                    errors.append(RowError(line: first, externalID: group.id,
                        message: "not imported because another row of complaint \(group.id) is invalid (line \(rowErrors.map { String($0.line) }.joined(separator: ", ")))"))
                }
                continue
            }
            complaints.append(ParsedComplaint(
                rowNumber: UInt64(complaints.count + 1), line: group.rows[0].line,
                request: ImportComplaintsRequest(
                    rowNumber: UInt64(complaints.count + 1), key: IdempotencyKey(adapterID: adapterID, externalID: group.id), complaint: complaint)))
        }
        errors.sort { $0.line < $1.line }
        return Result(complaints: complaints, errors: errors, rowCount: table.rows.count)
    }

    private struct CellError: Error {
        var message: String
    }

    private static func readComplaintColumns(into c: inout PastComplaint, cell: (String) -> String) throws {
        let customer = cell("customer")
        guard !customer.isEmpty else { throw CellError(message: "customer is empty; write a handle such as oms:C-1001 or phone:0812-3456-789") }
        do {
            c.customerHandle = try HandleSyntax.handle(customer)
        } catch let error as CustomStringConvertible {
            throw CellError(message: "customer: \(error.description)")
        }
        c.orderNumber = cell("order")
        guard !c.orderNumber.isEmpty else { throw CellError(message: "order is empty; give the order number the complaint is about") }
        let category = cell("category")
        guard let parsed = EnumArgument<ComplaintCategory>(argument: category)?.value else {
            throw CellError(message: "category '\(category)' is not one of \(EnumArgument<ComplaintCategory>.allValueStrings.joined(separator: ", "))")
        }
        c.category = parsed
        c.summary = cell("summary")
        c.openedMs = try moment(cell("opened"), column: "opened", required: true)!
        switch cell("resolution").lowercased() {
        case "": break
        case "refund": c.resolution = .refund
        case "no-compensation", "no_compensation": c.resolution = .noCompensation
        case "rejected":
            guard !cell("reason").isEmpty else { throw CellError(message: "reason is empty; a rejected complaint needs the reason it was rejected") }
        case let other: throw CellError(message: "resolution '\(other)' is not one of refund, no-compensation, rejected")
        }
        c.rejectionReason = cell("resolution").lowercased() == "rejected" ? cell("reason") : ""
        if !cell("reason").isEmpty && c.rejectionReason.isEmpty {
            throw CellError(message: "reason is for a rejected complaint; write resolution rejected, or leave reason empty")
        }
        c.rationale = cell("rationale")
        c.settledMs = try moment(cell("settled"), column: "settled", required: false).map { Int64Value(value: $0) }
        c.informedMs = try moment(cell("informed"), column: "informed", required: false).map { Int64Value(value: $0) }
        c.closedMs = try moment(cell("closed"), column: "closed", required: false).map { Int64Value(value: $0) }
        if !cell("refund").isEmpty { c.statedRefund = Int64Value(value: try money(cell("refund"), column: "refund")) }
        for line in cell("goodwill").split(separator: ";") where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let colon = line.firstIndex(of: ":") else {
                throw CellError(message: "goodwill '\(line)' needs AMOUNT:EXPLANATION, e.g. 25000:apology for the delay")
            }
            c.adjustments.append(CompensationLine(
                kind: .goodwill, amountRupiah: try money(String(line[..<colon]), column: "goodwill amount"),
                explanation: String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
    }

    private static func readItem(cell: (String) -> String) throws -> AffectedItem {
        var item = AffectedItem()
        item.sku = cell("sku")
        item.name = cell("item_name")
        func count(_ column: String) throws -> Int64 {
            let text = cell(column)
            guard let value = Int64(text), value >= 0 else {
                throw CellError(message: "\(column) '\(text)' is not a whole number of units (0 or more)")
            }
            return value
        }
        item.quantityOrdered = try count("ordered")
        item.quantityReceived = try count("received")
        item.quantityBroken = cell("broken").isEmpty ? 0 : try count("broken")
        item.paidUnitPriceRupiah = try money(cell("unit_price"), column: "unit_price")
        if !cell("correct_unit_price").isEmpty { item.correctUnitPriceRupiah = try money(cell("correct_unit_price"), column: "correct_unit_price") }
        return item
    }

    private static func moment(_ text: String, column: String, required: Bool) throws -> Int64? {
        guard !text.isEmpty else {
            if required { throw CellError(message: "\(column) is empty; write YYYY-MM-DD or YYYY-MM-DDTHH:MM") }
            return nil
        }
        do {
            return try BusinessTime.moment(text)
        } catch {
            throw CellError(message: "\(column) '\(text)' is not a time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM (Jakarta time), e.g. 2024-05-03T14:30")
        }
    }

    private static func money(_ text: String, column: String) throws -> Int64 {
        do {
            let value = try parseRupiah(text, field: column)
            guard value >= 0 else { throw CellError(message: "\(column) '\(text)' is negative") }
            return value
        } catch let error as CellError {
            throw error
        } catch {
            throw CellError(message: "\(column) '\(text)' is not an amount; write whole rupiah such as 45000 or 45.000")
        }
    }
}

package import CRMMessages
import CRMWire
import Foundation

/// The CSV that `crm ratings import` reads: a header row, then one rating per row, given when it was given.
///
/// Required columns: `external_id` (the rating's id in the file's system: with the importer's id, its idempotency
/// key), `stars` (1 to 5), `rated` (YYYY-MM-DD or YYYY-MM-DDTHH:MM, Jakarta time).
/// Optional columns: `customer` (kind:value; empty for an anonymous public review), `comment`, `source`
/// (google-review, self-service, agent-recorded, post-contact-survey), `channel`, `order`, `complaint`.
package enum RatingCSV {
    package static let required = ["external_id", "stars", "rated"]
    package static let optional = ["customer", "comment", "source", "channel", "order", "complaint"]

    /// A row that could not be read, by its line in the file.
    package struct RowError: Error, Equatable, Encodable {
        package var line: Int
        package var externalID: String
        package var message: String
    }

    /// One rating, ready to send, with the line it came from.
    package struct ParsedRating {
        package var line: Int
        package var request: SubmitRatingRequest
    }

    package struct Result {
        package var ratings: [ParsedRating]
        package var errors: [RowError]
    }

    /// Reads `text`: every valid row as a request keyed by `adapterID` and its external id, and an error per bad row.
    /// An external id given twice is an error on its later lines (the first is imported).
    package static func parse(_ text: String, adapterID: String) throws(CSVTable.FileError) -> Result {
        let table = try CSVTable(text, required: required, optional: optional)
        let index = table.index
        var result = Result(ratings: [], errors: [])
        var seen: [String: Int] = [:]
        for row in table.rows {
            func cell(_ name: String) -> String {
                guard let i = index[name] else { return "" }
                return row.cells[safeIndex: i].trimmingCharacters(in: .whitespaces)
            }
            let externalID = cell("external_id")
            func refuse(_ message: String) { result.errors.append(RowError(line: row.line, externalID: externalID, message: message)) }
            if let problem = table.shapeProblem(cells: row.cells.count) {
                refuse(problem)
                continue
            }
            guard !externalID.isEmpty else {
                refuse("external_id is empty; give the rating's id in the system it comes from, so that a second import stores it once")
                continue
            }
            if let first = seen[externalID] {
                refuse("external_id \(externalID) is given on line \(first) already")
                continue
            }
            seen[externalID] = row.line
            do {
                result.ratings.append(ParsedRating(line: row.line, request: try request(cell: cell, key: IdempotencyKey(adapterID: adapterID, externalID: externalID))))
            } catch let error as CellError {
                refuse(error.message)
            } catch {
                refuse("\(error)")
            }
        }
        return result
    }

    private struct CellError: Error {
        var message: String
    }

    private static func request(cell: (String) -> String, key: IdempotencyKey) throws -> SubmitRatingRequest {
        var request = SubmitRatingRequest()
        request.key = key
        let stars = cell("stars")
        guard let value = UInt32(stars), (1...5).contains(value) else {
            throw CellError(message: "stars '\(stars)' is not 1 to 5; write a whole number of stars, e.g. 4")
        }
        request.stars = value
        let rated = cell("rated")
        guard !rated.isEmpty else { throw CellError(message: "rated is empty; write when it was given as YYYY-MM-DD or YYYY-MM-DDTHH:MM") }
        do {
            request.ratedMs = try BusinessTime.moment(rated)
        } catch {
            throw CellError(message: "rated '\(rated)' is not a time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM (Jakarta time), e.g. 2024-05-03T14:30")
        }
        let customer = cell("customer")
        if !customer.isEmpty {
            do {
                request.customer = try HandleSyntax.selector(customer)
            } catch let error as CustomStringConvertible {
                throw CellError(message: "customer: \(error.description)")
            }
        }
        request.comment = cell("comment")
        request.source = try word(cell("source"), column: "source", default: .unspecified)
        request.channel = try word(cell("channel"), column: "channel", default: .unspecified)
        if !cell("order").isEmpty { request.orderNumber = StringValue(value: cell("order")) }
        if !cell("complaint").isEmpty { request.complaintID = StringValue(value: cell("complaint")) }
        return request
    }

    private static func word<E: WireEnum>(_ text: String, column: String, default value: E) throws -> E {
        guard !text.isEmpty else { return value }
        guard let parsed = EnumArgument<E>(argument: text)?.value else {
            throw CellError(message: "\(column) '\(text)' is not one of \(EnumArgument<E>.allValueStrings.joined(separator: ", "))")
        }
        return parsed
    }
}

import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire
import Foundation

/// `crm ratings …`: the ratings customers gave.
struct RatingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ratings",
        abstract: "List the ratings customers gave, or import past ones (record one with `crm rate`).",
        subcommands: [List.self, Import.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List ratings matching every filter given, newest first.",
            discussion: """
                Without a period: all time.
                Example: crm ratings list --stars 1 --stars 2 --source google-review --period this-month
                Example: crm ratings list phone:0812-3456-789
                """
        )

        @Argument(help: ArgumentHelp("Only this customer's: \(HandleSyntax.help).", valueName: "customer"), transform: CustomerArgument.parse)
        var customer: CustomerArgument?

        @Option(help: ArgumentHelp("Only this many stars (1 to 5); repeat for several.", valueName: "n"))
        var stars: [UInt32] = []

        @Option(help: ArgumentHelp("Only this source; repeat for several.", valueName: "source"))
        var source: [EnumArgument<RatingSource>] = []

        @OptionGroup var period: ReportCommand.Period

        @Option(help: "Ratings per page (default 50).")
        var limit: UInt32 = 50

        @Option(help: ArgumentHelp("The token printed after the previous page.", valueName: "token"))
        var pageToken: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            for s in stars where !(1...5).contains(s) { throw ValidationError("--stars \(s) is not a star value; give 1 to 5, e.g. --stars 1") }
        }

        func run() async throws {
            let request = ListRatingsRequest(
                customer: customer?.selector, stars: stars, sources: source.map(\.value), window: try period.given(),
                page: PageRequest(pageSize: limit, pageToken: pageToken ?? ""))
            let response = try await connection.withClient { try await $0.feedback.listRatings(request) }
            struct Item: Encodable {
                var ratingID: String
                var customerID: String
                var stars: UInt32
                var comment: String
                var source: String
                var channel: String?
                var orderNumber: String?
                var complaintID: String?
                var rated: TimeView?
            }
            let view = PageView(
                items: response.ratings.map {
                    Item(ratingID: $0.ratingID, customerID: $0.customerID, stars: $0.stars, comment: $0.comment, source: enumLabel($0.source),
                        channel: $0.channel == .unspecified ? nil : enumLabel($0.channel), orderNumber: $0.orderNumber?.value,
                        complaintID: $0.complaintID?.value, rated: TimeView($0.ratedMs))
                },
                nextPageToken: nextToken(response.page))
            try emit(view, json: output.json) { v in
                guard !v.items.isEmpty else { return "No ratings match." }
                var table = Table(["RATED", "STARS", "CUSTOMER", "SOURCE", "CHANNEL", "ABOUT", "COMMENT"])
                for r in v.items {
                    let stars = String(repeating: "★", count: Int(min(r.stars, 5))) + String(repeating: "☆", count: 5 - Int(min(r.stars, 5)))
                    let about = [r.orderNumber, r.complaintID].compactMap { $0 }.joined(separator: " ")
                    table.add([r.rated.map { BusinessTime.minute($0.ms) } ?? "-", r.stars <= 2 ? Style.bad(stars) : stars,
                        r.customerID.isEmpty ? Style.dim("anonymous") : r.customerID, orDash(r.source), r.channel ?? "-",
                        about.isEmpty ? "-" : about, oneLine(r.comment, limit: 50)])
                }
                return table.render() + pageHint(v.nextPageToken)
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import past ratings from a CSV file, with the time each was given; bad rows are reported by line, the rest imported.",
            discussion: """
                The first line is the header; then one rating per row.

                Required columns:
                  external_id   the rating's id where it comes from (a review id, a survey answer id)
                  stars         1 to 5
                  rated         when it was given: YYYY-MM-DD or YYYY-MM-DDTHH:MM, Jakarta time
                Optional columns:
                  customer (kind:value; empty for an anonymous public review), comment,
                  source (google-review|self-service|agent-recorded|post-contact-survey),
                  channel (whatsapp, email, …), order, complaint
                Each rating's idempotency key is --source and its external_id, so importing the file again stores
                nothing twice. Reports count each rating at the time it was given.

                Exit status 5 when any row was rejected (the others are imported).

                Example: crm ratings import google-reviews-2024.csv
                """
        )

        @Argument(help: ArgumentHelp("The CSV file.", valueName: "file.csv"))
        var file: String

        @Option(help: ArgumentHelp("The importer's id in idempotency keys.", valueName: "id"))
        var source: String = "crm-cli-ratings-import"

        @Flag(help: "Only check the file; send nothing.")
        var dryRun = false

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        struct RowReport: Encodable {
            var line: Int
            var externalID: String
            var reasons: [String]
        }

        struct View: Encodable {
            var file: String
            var rows: Int
            var accepted: Int
            var duplicate: Int
            var rejected: Int
            var dryRun: Bool
            var problems: [RowReport]
        }

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIFailure(.usage, "cannot read \(file); give the path of a CSV file")
            }
            let parsed: RatingCSV.Result
            do {
                parsed = try RatingCSV.parse(String(decoding: data, as: UTF8.self), adapterID: source)
            } catch {
                throw CLIFailure(.invalid, "\(file): \(error.description)")
            }
            var problems = parsed.errors.map { RowReport(line: $0.line, externalID: $0.externalID, reasons: [$0.message]) }
            var accepted = 0
            var duplicate = 0
            if !dryRun && !parsed.ratings.isEmpty {
                let progress = ProgressBar(total: parsed.ratings.count, enabled: !output.json && Style.isStderrTTY, noun: "ratings")
                defer { progress.finish() }
                try await connection.withClient { client in
                    for rating in parsed.ratings {
                        do {
                            let response = try await client.feedback.submitRating(rating.request)
                            if response.outcome == .duplicate { duplicate += 1 } else { accepted += 1 }
                        } catch let status as RPCStatus where status.code == .invalidArgument || status.code == .notFound || status.code == .failedPrecondition {
                            // The row's own problem: reported by line, the others go on.
                            problems.append(RowReport(line: rating.line, externalID: rating.request.key?.externalID ?? "", reasons: [status.message]))
                        }
                        progress.advance()
                    }
                }
            }
            problems.sort { $0.line < $1.line }
            let view = View(
                file: file, rows: parsed.ratings.count + parsed.errors.count, accepted: accepted, duplicate: duplicate, rejected: problems.count,
                dryRun: dryRun, problems: problems)
            try emit(view, json: output.json) { v in
                var lines = v.problems.map { Style.bad("line \($0.line)") + ($0.externalID.isEmpty ? "" : " (\($0.externalID))") + ": " + $0.reasons.joined(separator: "; ") }
                if v.dryRun {
                    lines.append("\(v.file): \(v.rows) rows, \(v.rows - v.rejected) ratings ready, \(v.rejected) rows with problems (dry run: nothing sent).")
                } else {
                    lines.append("\(v.file): \(v.rows) rows: \(Style.good("\(v.accepted) imported")), \(v.duplicate) already known, \(v.rejected == 0 ? "0 rejected" : Style.bad("\(v.rejected) rejected")).")
                }
                return lines.joined(separator: "\n")
            }
            if !problems.isEmpty { throw ExitCode(ExitStatus.invalid.rawValue) }
        }
    }
}

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
        abstract: "List the ratings customers gave (record one with `crm rate`).",
        subcommands: [List.self]
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
}

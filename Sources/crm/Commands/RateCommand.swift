import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire
import Foundation

/// `crm rate`: records a rating.
struct Rate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a customer's rating (1 to 5 stars) with a comment.",
        discussion: "Example: crm rate phone:0812-3456-789 --stars 4 --comment \"fast refund\" --complaint CMP-7F3A"
    )

    @Argument(help: ArgumentHelp("The customer: \(HandleSyntax.help). Omit for an anonymous public review.", valueName: "customer"), transform: CustomerArgument.parse)
    var customer: CustomerArgument?

    @Option(help: "Stars, 1 to 5.")
    var stars: UInt32

    @Option(help: "The customer's comment.")
    var comment: String = ""

    @Option(help: ArgumentHelp("Where it was given.", valueName: "source"))
    var source: EnumArgument<RatingSource> = EnumArgument(.agentRecorded)

    @Option(help: ArgumentHelp("The channel it came through.", valueName: "channel"))
    var channel: EnumArgument<Channel>?

    @Option(help: ArgumentHelp("The order it rates.", valueName: "number"))
    var order: String?

    @Option(help: ArgumentHelp("The complaint it rates.", valueName: "id"))
    var complaint: String?

    @Option(help: ArgumentHelp("Idempotency key, to retry safely (default: a new one).", valueName: "key"))
    var idempotencyKey: String?

    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (1...5).contains(stars) else { throw ValidationError("--stars must be 1 to 5, e.g. --stars 4") }
    }

    func run() async throws {
        let request = SubmitRatingRequest(
            key: commandKey(idempotencyKey), customer: customer?.selector, stars: stars, comment: comment, source: source.value,
            channel: channel?.value ?? .unspecified, orderNumber: order.map { StringValue(value: $0) },
            complaintID: complaint.map { StringValue(value: $0) })
        let response = try await connection.withClient { try await $0.feedback.submitRating(request) }
        struct View: Encodable {
            var outcome: String
            var ratingID: String
            var stars: UInt32
        }
        let view = View(outcome: enumLabel(response.outcome), ratingID: response.rating?.ratingID ?? "", stars: stars)
        try emit(view, json: output.json) { v in
            "\(outcomeText(v.outcome)): \(String(repeating: "★", count: Int(v.stars)))\(String(repeating: "☆", count: 5 - Int(v.stars))) rating \(v.ratingID)."
        }
    }
}

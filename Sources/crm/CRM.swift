import ArgumentParser
import CRMClient
import CRMWire
import Foundation

/// The agents' command-line client.
@main
struct CRM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm",
        abstract: "The after-sales CRM from the command line: customers, callers, timelines, orders, complaints, reports.",
        discussion: """
            Sign in once with `crm login --server HOST:PORT --ca CA.pem --token TOKEN`; the settings are saved in \
            ~/.config/crm/config.json (or $CRM_CONFIG). Per command, the flags --server, --ca, --token, --cert, --key \
            and the variables CRM_SERVER, CRM_CA, CRM_TOKEN, CRM_CERT, CRM_KEY override them (flags first).

            CUSTOMERS are written as kind:value: phone:0812-3456-789, wa:+62812…, email:a@b.c, instagram:@name, \
            tiktok:@name, facebook:name, oms:C-1001 (order-system id), webchat:VISITOR, or id:CUSTOMER_ID.
            DATES are YYYY-MM-DD, days in Jakarta time (UTC+07:00); --to days are inclusive.
            Tables are for people; --json prints stable snake_case JSON for scripts. Colour only on a terminal \
            (NO_COLOR turns it off).
            Shell completion: crm --generate-completion-script bash|zsh|fish.

            \(ExitStatus.helpText)
            """,
        version: "crm 0.1.0",
        subcommands: [
            Login.self, ConfigCommand.self, ProfileCommand.self, Caller.self, Timeline.self, OrderCommand.self,
            ComplaintCommand.self, ReturnCommand.self, LoyaltyCommand.self, Rate.self, RatingsCommand.self, ReportCommand.self,
            WatchCommand.self, Call.self,
        ]
    )

    /// Parses, runs, and exits with the status the outcome means (see `ExitStatus`); usage
    /// errors exit 2.
    static func main() async {
        Style.configure()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            finish(error)
        }
    }

    static func finish(_ error: any Error) -> Never {
        var error = error
        var server: String?
        if let serverError = error as? ServerError {
            error = serverError.error
            server = serverError.server
        }
        if let exitCode = error as? ExitCode, exitCode != .success, exitCode != .validationFailure {
            Foundation.exit(exitCode.rawValue)
        }
        if error is CLIFailure || error is RPCStatus || error is ClientConfigurationError {
            let report = failureReport(for: error, server: server)
            printError("crm: " + report.message)
            Foundation.exit(report.status.rawValue)
        }
        let code = exitCode(for: error)
        if code == .validationFailure {
            printError(fullMessage(for: error))
            Foundation.exit(ExitStatus.usage.rawValue)
        }
        if code == .success || error is CleanExit {
            Self.exit(withError: error)
        }
        let report = failureReport(for: error, server: server)
        printError("crm: " + report.message)
        Foundation.exit(report.status.rawValue)
    }
}

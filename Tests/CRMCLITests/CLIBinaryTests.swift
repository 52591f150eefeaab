import Foundation
import Testing

/// The built `crm` run as a child process, with no server: help, usage errors, settings, CSV checks.
@Suite struct CLIBinaryTests {
    @Test func helpDocumentsExitStatusAndHandles() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let result = try await cli.run(["--help"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("EXIT STATUS"))
        #expect(result.stdout.contains("kind:value"))
        for command in ["login", "profile", "caller", "timeline", "order", "complaint", "return", "loyalty", "rate", "report", "watch"] {
            #expect(result.stdout.contains("  \(command) "), "\(command) missing from help")
        }
    }

    @Test(arguments: [
        ["profile", "show", "--help"], ["order", "import", "--help"], ["complaint", "decide", "--help"],
        ["report", "ratings", "--help"], ["watch", "complaints", "--help"], ["return", "qc", "--help"],
        ["caller", "--help"], ["order", "track", "--help"], ["watch", "interactions", "--help"], ["watch", "notices", "--help"],
    ])
    func everySubcommandHasHelp(_ arguments: [String]) async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let result = try await cli.run(arguments)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("--server"), "\(result)")
        #expect(result.stdout.contains("--json") || arguments[0] == "login", "\(result)")
    }

    @Test func aHandleWithoutKindIsAUsageErrorSayingWhatToType() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let result = try await cli.run(["profile", "show", "0812-3456-789"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("phone:0812-3456-789"), "\(result)")
        #expect(result.stderr.contains("kind:value"), "\(result)")
    }

    @Test(arguments: [
        (["report", "refunds", "--from", "2024-1-1", "--to", "2024-01-31"], "YYYY-MM-DD"),
        (["complaint", "open", "phone:1", "--order", "SO-1", "--category", "return", "--summary", "x"], "--return-reason"),
        (["complaint", "reject", "CMP-1"], "--note"),
        (["complaint", "open", "phone:1", "--order", "SO-1", "--category", "broken", "--summary", "x", "--item", "MUG:1"], "SKU:ORDERED:RECEIVED:BROKEN"),
        (["rate", "phone:1", "--stars", "6"], "1 to 5"),
        (["timeline", "phone:1", "--channel", "pigeon"], "whatsapp"),
        (["profile", "show", "phone:1", "--server", "host:http"], "HOST:PORT"),
    ])
    func badArgumentsExit2WithTheRightForm(_ arguments: [String], _ hint: String) async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let result = try await cli.run(arguments)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains(hint), "\(result)")
    }

    @Test func settingsPrecedenceFlagEnvironmentFileDefault() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let ca = try cli.file("ca.pem", "not checked by login --no-verify")
        let login = try await cli.run(["login", "--server", "file-host:7001", "--ca", ca, "--token", "file-token-123", "--no-verify"])
        #expect(login.status == 0, "\(login)")
        let saved = try String(contentsOfFile: cli.directory + "/config.json", encoding: .utf8)
        #expect(saved.contains("file-host:7001"))
        let attributes = try FileManager.default.attributesOfItem(atPath: cli.directory + "/config.json")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        let result = try await cli.run(
            ["config", "show", "--json", "--token", "flag-token-456"], environment: ["CRM_SERVER": "env-host:7002"])
        #expect(result.status == 0, "\(result)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["config_file"] as? String == cli.directory + "/config.json")
        let object = json.compactMapValues { $0 as? [String: String] }
        #expect(object["server"] == ["value": "env-host:7002", "source": "environment"])
        #expect(object["token"]?["source"] == "flag")
        #expect(object["token"]?["value"] == "flag-t…", "the token is shortened")
        #expect(object["ca"] == ["value": ca, "source": "file"])
        #expect(object["cert"] == ["source": "default"])
        #expect(object["timeout_seconds"] == ["value": "30", "source": "default"])
    }

    @Test func anUnreachableServerExits7WithAHint() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let result = try await cli.run(["profile", "show", "phone:0812", "--server", "127.0.0.1:1", "--timeout", "5"])
        #expect(result.status == 7, "\(result)")
        #expect(result.stderr.contains("UNAVAILABLE"), "\(result)")
        #expect(result.stderr.contains("127.0.0.1:1"), "\(result)")
    }

    @Test func dryRunImportReportsBadRowsByLine() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let csv = try cli.file("orders.csv", """
            order_number,customer,placed,sku,quantity,unit_price
            SO-1,oms:C-1,2024-05-01,MUG-01,10,45000
            SO-2,oms:C-2,2024-05-01,MUG-01,ten,45000
            SO-3,0812,2024-05-01,MUG-01,1,45000

            """)
        let result = try await cli.run(["order", "import", csv, "--dry-run", "--json"])
        #expect(result.status == 5, "\(result)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["orders"] as? Int == 1)
        #expect(object["rows"] as? Int == 3)
        let problems = try #require(object["problems"] as? [[String: Any]])
        #expect(problems.map { $0["line"] as? Int } == [3, 4])
        #expect(problems.map { $0["order_number"] as? String } == ["SO-2", "SO-3"])

        let missing = try cli.file("bad.csv", "order_number,customer\nSO-1,oms:C-1\n")
        let refused = try await cli.run(["order", "import", missing, "--dry-run"])
        #expect(refused.status == 5, "\(refused)")
        #expect(refused.stderr.contains("placed"), "\(refused)")
    }

    @Test func shellCompletion() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        for shell in ["bash", "zsh", "fish"] {
            let result = try await cli.run(["--generate-completion-script", shell])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("complaint"), "\(shell)")
        }
    }

    @Test func noColourWhenPiped() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let result = try await cli.run(["config", "show"])
        #expect(result.status == 0, "\(result)")
        #expect(!result.stdout.contains("\u{1B}["), "escape codes in piped output")
    }
}

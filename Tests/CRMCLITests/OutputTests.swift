import CRMClient
import CRMMessages
import CRMRPC
import CRMWire
import Foundation
import Testing

@testable import crm

@Suite struct OutputTests {
    @Test func tablesAlignColumns() {
        Style.configure(environment: ["NO_COLOR": "1"])
        var table = Table(["NAME", "TOTAL"], rightAligned: [1])
        table.add(["Budi", "Rp 45.000"])
        table.add(["Siti Rahayu", "Rp 1.250.000"])
        #expect(table.render() == """
            NAME                TOTAL
            Budi            Rp 45.000
            Siti Rahayu  Rp 1.250.000
            """)
    }

    @Test func widthIgnoresColourCodes() {
        #expect(visibleWidth("\u{1B}[31mred\u{1B}[0m") == 3)
        #expect(visibleWidth("★★★") == 3)
    }

    @Test func colourOnlyOnATerminalWithoutNoColor() {
        #expect(Style.shouldColour(isTTY: true, environment: [:]))
        #expect(!Style.shouldColour(isTTY: false, environment: [:]))
        #expect(!Style.shouldColour(isTTY: true, environment: ["NO_COLOR": "1"]))
        #expect(!Style.shouldColour(isTTY: true, environment: ["TERM": "dumb"]))
    }

    @Test func jsonHasStableSnakeCaseNames() throws {
        let view = ComplaintSummaryView(ComplaintSummary(
            complaintID: "CMP-1", customerID: "cus_1", orderNumber: "SO-1", category: .lostAtCustoms, state: .waitingOnSupplier,
            openedMs: 1_714_496_400_000, slaBreached: true, compensationTotalRupiah: 90_000, priority: .vvip))
        let object = try #require(JSONSerialization.jsonObject(with: Data(jsonText(view).utf8)) as? [String: Any])
        #expect(Set(object.keys) == [
            "complaint_id", "customer_id", "order_number", "category", "state", "opened", "sla_breached",
            "compensation_total_rupiah", "priority",
        ])
        #expect(object["category"] as? String == "lost-at-customs")
        #expect(object["state"] as? String == "waiting-on-supplier")
        #expect(object["compensation_total_rupiah"] as? Int == 90_000)
        let opened = try #require(object["opened"] as? [String: Any])
        #expect(opened["at"] as? String == "2024-05-01T00:00:00+07:00")
        #expect(opened["ms"] as? Int == 1_714_496_400_000)
    }

    @Test func barChartScalesToTheLargest() {
        let chart = barChart([("a", 10, ""), ("b", 5, ""), ("c", 0, "")], width: 10)
        let lines = chart.split(separator: "\n").map(String.init)
        #expect(lines[0].filter { $0 == "█" }.count == 10)
        #expect(lines[1].filter { $0 == "█" }.count == 5)
        #expect(lines[2].filter { $0 == "█" }.count == 0)
    }

    @Test func ratingChartShowsTheAverage() {
        Style.configure(environment: ["NO_COLOR": "1"])
        let text = ratingChart([(1, 192, 2500), (5, 384, 5000)], total: 576, averageX100: 355)
        #expect(text.contains("average 3.55 stars") || text.contains("3.55"))
        #expect(text.hasPrefix("5 ★★★★★"))
    }
}

@Suite struct ExitStatusTests {
    @Test func everyCodeHasAStatus() {
        let expected: [RPCStatus.Code: Int32] = [
            .ok: 0, .cancelled: 1, .unknown: 1, .invalidArgument: 5, .deadlineExceeded: 7, .notFound: 3, .alreadyExists: 6,
            .permissionDenied: 4, .resourceExhausted: 1, .failedPrecondition: 6, .aborted: 6, .outOfRange: 5,
            .unimplemented: 1, .internal: 1, .unavailable: 7, .dataLoss: 1, .unauthenticated: 4,
        ]
        for code in RPCStatus.Code.allCases {
            #expect(ExitStatus(code).rawValue == expected[code], "\(code)")
        }
    }

    @Test func reportsSayWhatToDo() {
        let denied = failureReport(for: RPCStatus(code: .unauthenticated, message: "no token"))
        #expect(denied.status == .denied)
        #expect(denied.message.contains("crm login"))
        let down = failureReport(for: RPCStatus(code: .unavailable, message: "refused"), server: "h:1")
        #expect(down.status == .unavailable)
        #expect(down.message.contains("h:1"))
        #expect(failureReport(for: ClientConfigurationError("x")).status == .usage)
    }
}

@Suite struct SettingsTests {
    func withFile(_ saved: SavedSettings?, _ body: (String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-settings-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try saved?.save(to: path)
        try body(path)
    }

    @Test func flagBeatsEnvironmentBeatsFileBeatsDefault() throws {
        try withFile(SavedSettings(server: "file:1", ca: "/file/ca.pem", token: "file-token")) { path in
            var flags = ConnectionOptions()
            flags.server = "flag:3"
            flags.ca = nil
            flags.token = nil
            flags.cert = nil
            flags.key = nil
            flags.timeout = nil
            let environment = ["CRM_CONFIG": path, "CRM_CA": "/env/ca.pem", "CRM_TIMEOUT": "5"]
            let settings = try ResolvedSettings(flags: flags, environment: environment)
            #expect(settings.server.value == "flag:3" && settings.server.source == .flag)
            #expect(settings.ca.value == "/env/ca.pem" && settings.ca.source == .environment)
            #expect(settings.token.value == "file-token" && settings.token.source == .file)
            #expect(settings.cert.value == nil && settings.cert.source == .default)
            #expect(settings.timeoutSeconds.value == 5 && settings.timeoutSeconds.source == .environment)
            let configuration = try settings.clientConfiguration()
            #expect(configuration.host == "flag" && configuration.port == 3)
            #expect(configuration.defaultCallOptions.metadata.firstText("authorization") == "Bearer file-token")
            #expect(configuration.defaultTimeout == .seconds(5))
        }
    }

    @Test func theFileIsPrivate() throws {
        try withFile(SavedSettings(token: "secret")) { path in
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect(try SavedSettings.load(from: path).token == "secret")
        }
    }

    @Test func theFileIsFoundByEnvironment() {
        #expect(SavedSettings.path(environment: ["CRM_CONFIG": "/x.json", "HOME": "/h"]) == "/x.json")
        #expect(SavedSettings.path(environment: ["XDG_CONFIG_HOME": "/xdg", "HOME": "/h"]) == "/xdg/crm/config.json")
        #expect(SavedSettings.path(environment: ["HOME": "/h"]) == "/h/.config/crm/config.json")
    }
}

@Suite struct CallOptionsMergingTests {
    @Test func callOptionsAreLaidOverTheDefaults() {
        let defaults = ClientConfiguration(token: "t", defaultTimeout: .seconds(30)).defaultCallOptions
        let plain = defaults.merging(nil, idempotent: true, kind: .unary)
        #expect(plain.timeout == .seconds(30))
        #expect(plain.isIdempotent)
        #expect(plain.metadata.firstText("authorization") == "Bearer t")
        // Streams get no default deadline.
        #expect(defaults.merging(nil, idempotent: true, kind: .serverStreaming).timeout == nil)
        var own = CallOptions(timeout: .seconds(2), metadata: Metadata(["trace-id": "7f", "authorization": "Bearer other"]))
        own.maxAttempts = 1
        let merged = defaults.merging(own, idempotent: false, kind: .unary)
        #expect(merged.timeout == .seconds(2))
        #expect(merged.metadata["authorization"] == [.text("Bearer other")])
        #expect(merged.metadata.firstText("trace-id") == "7f")
        #expect(!merged.isIdempotent)
        #expect(merged.maxAttempts == 1)
    }

    @Test func theGeneratedRuleMarksReads() {
        #expect(ProfileServiceClient.idempotentMethods == ["GetProfile", "GetCallerSnapshot", "SearchProfiles"])
        #expect(ComplaintServiceClient.idempotentMethods == ["GetComplaint", "ListComplaints", "QuoteCompensation", "WatchComplaints", "WatchMyNotices"])
        #expect(OrderServiceClient.idempotentMethods == ["GetOrder", "ListOrders"])
        #expect(HealthClient.idempotentMethods == ["Check", "Watch"])
    }

    @Test func aCertificateNeedsItsKey() {
        #expect(throws: ClientConfigurationError.self) {
            try CRMClient.rpcConfiguration(ClientConfiguration(clientCertificateFile: "c.pem"))
        }
        #expect(throws: ClientConfigurationError.self) {
            try CRMClient.rpcConfiguration(ClientConfiguration(clientKeyFile: "c.key"))
        }
    }
}

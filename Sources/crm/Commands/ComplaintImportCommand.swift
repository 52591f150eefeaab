import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire
import Foundation

extension ComplaintCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring in past complaints from a CSV file, with the times they were opened, settled, told and closed (supervisors).",
            discussion: """
                The first line is the header; then one row per affected item. Rows with the same external_id make one \
                complaint, whose own columns are read from its first row.

                Required columns:
                  external_id   the complaint's id in the records (with --source, its idempotency key)
                  customer      the customer as kind:value (oms:C-1001, phone:0812…)
                  order         the order number
                  category      out-of-stock, lost-at-customs, broken or return
                  opened        when it was opened
                Optional columns:
                  summary; per item: sku, item_name, ordered, received, broken, unit_price, correct_unit_price;
                  resolution (refund|no-compensation|rejected), settled (when decided or rejected), reason (a
                  rejection's), rationale, goodwill (AMOUNT:EXPLANATION;…), refund (the total the records state:
                  a row whose items give another total is refused), informed, closed
                Times are YYYY-MM-DD or YYYY-MM-DDTHH:MM, Jakarta time. The refund is computed from the items, as for a
                live decision, and reports count each complaint at its recorded times. A decided return needs its
                quality check and cannot be imported decided. Importing the file again stores nothing twice.

                Exit status 5 when any row was rejected (the others are imported).

                Example: crm complaint import lost-at-customs-2024.csv
                Then:    crm report refunds --from 2024-01-01 --to 2024-05-31 --category lost-at-customs --by month
                """
        )

        @Argument(help: ArgumentHelp("The CSV file.", valueName: "file.csv"))
        var file: String

        @Option(help: ArgumentHelp("The importer's id in idempotency keys.", valueName: "id"))
        var source: String = "crm-cli-complaint-import"

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
            var complaints: Int
            var accepted: UInt64
            var duplicate: UInt64
            var rejected: Int
            var dryRun: Bool
            var problems: [RowReport]
        }

        /// Complaints sent per ImportComplaints stream (one result each must fit one response).
        static let complaintsPerStream = 10_000

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIFailure(.usage, "cannot read \(file); give the path of a CSV file")
            }
            let parsed: ComplaintCSV.Result
            do {
                parsed = try ComplaintCSV.parse(String(decoding: data, as: UTF8.self), adapterID: source)
            } catch {
                throw CLIFailure(.invalid, "\(file): \(error.description)")
            }
            var problems = parsed.errors.map { RowReport(line: $0.line, externalID: $0.externalID, reasons: [$0.message]) }
            var accepted: UInt64 = 0
            var duplicate: UInt64 = 0
            if !dryRun && !parsed.complaints.isEmpty {
                let progress = ProgressBar(total: parsed.complaints.count, enabled: !output.json && Style.isStderrTTY, noun: "complaints")
                defer { progress.finish() }
                let byRow = Dictionary(uniqueKeysWithValues: parsed.complaints.map { ($0.rowNumber, $0) })
                for start in stride(from: 0, to: parsed.complaints.count, by: Self.complaintsPerStream) {
                    let batch = parsed.complaints[start..<min(start + Self.complaintsPerStream, parsed.complaints.count)]
                    let response = try await connection.withClient { client in
                        try await client.complaints.importComplaints { requests in
                            for complaint in batch {
                                try await requests.write(complaint.request)
                                progress.advance()
                            }
                        }
                    }
                    accepted += response.acceptedCount
                    duplicate += response.duplicateCount
                    for result in response.results where result.outcome == .rejected {
                        let complaint = byRow[result.rowNumber]
                        let reasons = result.violations.map { $0.field.isEmpty ? $0.reason : "\($0.field): \($0.reason)" }
                        problems.append(RowReport(
                            line: complaint?.line ?? 0, externalID: complaint?.request.key?.externalID ?? "",
                            reasons: reasons.isEmpty ? ["rejected by the server"] : reasons))
                    }
                }
            }
            problems.sort { $0.line < $1.line }
            let view = View(
                file: file, rows: parsed.rowCount, complaints: parsed.complaints.count, accepted: accepted, duplicate: duplicate,
                rejected: problems.count, dryRun: dryRun, problems: problems)
            try emit(view, json: output.json) { v in
                var lines = v.problems.map { Style.bad("line \($0.line)") + ($0.externalID.isEmpty ? "" : " (\($0.externalID))") + ": " + $0.reasons.joined(separator: "; ") }
                if v.dryRun {
                    lines.append("\(v.file): \(v.rows) rows, \(v.complaints) complaints ready, \(v.rejected) rows with problems (dry run: nothing sent).")
                } else {
                    lines.append("\(v.file): \(v.rows) rows, \(v.complaints) complaints: \(Style.good("\(v.accepted) imported")), \(v.duplicate) already known, \(v.rejected == 0 ? "0 rejected" : Style.bad("\(v.rejected) rejected")).")
                }
                return lines.joined(separator: "\n")
            }
            if !problems.isEmpty { throw ExitCode(ExitStatus.invalid.rawValue) }
        }
    }
}

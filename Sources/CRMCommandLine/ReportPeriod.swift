import ArgumentParser
package import CRMMessages
package import Foundation

/// A calendar period named relative to today in Jakarta time (`--period this-month`), so that a report command works
/// on any day without editing its dates. Weeks start on Monday.
package enum RelativePeriod: String, CaseIterable, ExpressibleByArgument, Sendable {
    case today
    case yesterday
    case thisWeek = "this-week"
    case lastWeek = "last-week"
    case thisMonth = "this-month"
    case lastMonth = "last-month"
    case thisYear = "this-year"
    case lastYear = "last-year"

    package init?(argument: String) { self.init(rawValue: argument.lowercased()) }

    package static var allValueStrings: [String] { allCases.map(\.rawValue) }

    /// The whole period containing (or, for the `last-` and `yesterday` cases, before) `nowMs`: from its first
    /// midnight to the midnight after its last day, in Unix milliseconds. A period that has not ended yet still spans
    /// its whole calendar length; nothing after `nowMs` has happened, so the figures are the same.
    package func range(nowMs: Int64) -> TimeRange {
        let calendar = BusinessTime.mondayCalendar
        let now = Date(timeIntervalSince1970: Double(nowMs) / 1000)
        let (unit, step): (Calendar.Component, Int) =
            switch self {
            case .today: (.day, 0)
            case .yesterday: (.day, -1)
            case .thisWeek: (.weekOfYear, 0)
            case .lastWeek: (.weekOfYear, -1)
            case .thisMonth: (.month, 0)
            case .lastMonth: (.month, -1)
            case .thisYear: (.year, 0)
            case .lastYear: (.year, -1)
            }
        // Moving by whole units from the start of the current one never lands inside a shorter month or a leap day.
        let current = calendar.dateInterval(of: unit, for: now)!
        let start = calendar.date(byAdding: unit, value: step, to: current.start)!
        let end = calendar.date(byAdding: unit, value: 1, to: start)!
        return TimeRange(fromMs: Int64((start.timeIntervalSince1970 * 1000).rounded()), toMs: Int64((end.timeIntervalSince1970 * 1000).rounded()))
    }
}

/// The period of a report: `--from`/`--to` days or one `--period`, never both.
package func reportPeriod(from: String?, to: String?, period: RelativePeriod?, nowMs: Int64 = BusinessTime.nowMs()) throws -> TimeRange? {
    if let period {
        guard from == nil, to == nil else {
            throw ValidationError("--period \(period.rawValue) names the whole period; leave out --from and --to, or leave out --period")
        }
        return period.range(nowMs: nowMs)
    }
    return try timeRange(from: from, to: to)
}

extension BusinessTime {
    /// The Gregorian calendar in Jakarta time with weeks starting on Monday (ISO 8601, as in Indonesia).
    package static var mondayCalendar: Calendar {
        var calendar = calendar
        calendar.firstWeekday = 2
        calendar.minimumDaysInFirstWeek = 4
        return calendar
    }

    /// Now, in Unix milliseconds.
    package static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}

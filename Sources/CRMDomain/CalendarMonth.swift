/// A calendar month in Jakarta time (WIB, UTC+07:00), the period reports group by.
///
/// The business's recaps are monthly ("Lost at Customs, January–May 2024") and the business runs on WIB, which has had
/// no daylight saving time since 1964; a fixed offset is therefore exact and needs no time-zone database.
public struct CalendarMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The offset of Western Indonesian Time from UTC.
    public static let jakartaOffset: Int64 = 7 * Milliseconds.hour

    /// The year, for example 2024.
    public let year: Int
    /// The month, 1 (January) to 12 (December).
    public let month: Int

    /// The years a month may be named in: the four-digit years of the Gregorian calendar.
    public static let validYears: ClosedRange<Int> = 1...9999

    /// Creates a month, refusing a month number outside 1…12 or a year outside 1…9999.
    public init(year: Int, month: Int) throws(CalendarMonthError) {
        guard (1...12).contains(month) else { throw .monthOutOfRange(month) }
        guard Self.validYears.contains(year) else { throw .yearOutOfRange(year) }
        self.year = year
        self.month = month
    }

    private init(validYear: Int, validMonth: Int) {
        year = validYear
        month = validMonth
    }

    /// The Jakarta month that contains the instant `millis`.
    public init(containing millis: Int64) {
        // floor((millis + offset) / day), computed without forming millis + offset, which could overflow
        var remainder = millis % Milliseconds.day
        if remainder < 0 { remainder += Milliseconds.day }
        let days = Self.floorDivide(millis, Milliseconds.day) + (remainder + Self.jakartaOffset) / Milliseconds.day
        let (y, m, _) = Self.civil(fromDays: days)
        self.init(validYear: y, validMonth: m)
    }

    /// The month after this one.
    public var next: CalendarMonth {
        month == 12 ? CalendarMonth(validYear: year + 1, validMonth: 1) : CalendarMonth(validYear: year, validMonth: month + 1)
    }

    /// The first millisecond of the month (midnight of day 1, Jakarta time).
    /// Clamped to the `Int64` range for months hundreds of millions of years away, which only absurd instants produce.
    public var startMillis: Int64 {
        let (midnightUTC, overflow) = Self.days(fromCivil: year, month, 1).multipliedReportingOverflow(by: Milliseconds.day)
        if overflow { return year > 0 ? .max : .min }
        return Milliseconds.between(Self.jakartaOffset, midnightUTC)
    }

    /// `YYYY-MM`.
    public var description: String {
        let m = month < 10 ? "0\(month)" : "\(month)"
        return "\(year)-\(m)"
    }

    /// Chronological order.
    public static func < (lhs: CalendarMonth, rhs: CalendarMonth) -> Bool {
        (lhs.year, lhs.month) < (rhs.year, rhs.month)
    }

    // Howard Hinnant's days-from-civil algorithms (public domain), exact for the proleptic Gregorian calendar.
    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}

/// Why a ``CalendarMonth`` could not be made.
public enum CalendarMonthError: DomainError {
    /// The month number is not between 1 and 12.
    case monthOutOfRange(Int)
    /// The year is not between 1 and 9999.
    case yearOutOfRange(Int)

    /// See ``DomainError/code``.
    public var code: String {
        switch self {
        case .monthOutOfRange: "calendar_month.month_out_of_range"
        case .yearOutOfRange: "calendar_month.year_out_of_range"
        }
    }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case let .monthOutOfRange(month):
            return "Month \(month) does not exist; use 1 (January) to 12 (December)."
        case let .yearOutOfRange(year):
            return "Year \(year) is outside the calendar reports use; give a year from 1 to 9999."
        }
    }
}

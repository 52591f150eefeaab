/// Durations in milliseconds, the unit of every time value in this module.
///
/// The domain never reads a clock: "now" and every event time are Unix milliseconds (`Int64`) passed in by the
/// caller, which keeps every rule a pure function and every test deterministic.
public enum Milliseconds: Sendable {
    /// One second.
    public static let second: Int64 = 1_000
    /// One minute.
    public static let minute: Int64 = 60 * second
    /// One hour.
    public static let hour: Int64 = 60 * minute
    /// One day of 24 hours (calendar-free: Indonesia has no daylight saving time).
    public static let day: Int64 = 24 * hour

    /// `count` whole days.
    public static func days(_ count: Int64) -> Int64 { count * day }

    /// `count` whole hours.
    public static func hours(_ count: Int64) -> Int64 { count * hour }

    /// `later − earlier`, clamped to the `Int64` range. Times come from outside; an absurd one must give an absurd
    /// answer, not a crash.
    static func between(_ earlier: Int64, _ later: Int64) -> Int64 {
        let (difference, overflow) = later.subtractingReportingOverflow(earlier)
        if !overflow { return difference }
        return later > earlier ? .max : .min
    }
}

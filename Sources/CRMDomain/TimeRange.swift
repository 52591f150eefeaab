/// A half-open interval of time `[start, end)` in Unix milliseconds, used to select facts for reports.
///
/// Half-open so that consecutive periods (January, February, …) tile time without counting anything twice.
public struct TimeRange: Sendable, Hashable, CustomStringConvertible {
    /// The first millisecond inside the range.
    public let start: Int64
    /// The first millisecond after the range.
    public let end: Int64

    /// Creates a range, refusing one that ends before it starts.
    public init(start: Int64, end: Int64) throws(TimeRangeError) {
        guard start <= end else { throw .endBeforeStart(start: start, end: end) }
        self.start = start
        self.end = end
    }

    /// The whole months from `first` to `last` inclusive, in Jakarta time (WIB).
    public init(months first: CalendarMonth, through last: CalendarMonth) throws(TimeRangeError) {
        try self.init(start: first.startMillis, end: last.next.startMillis)
    }

    /// Whether `instant` lies inside the range.
    public func contains(_ instant: Int64) -> Bool { instant >= start && instant < end }

    /// `[start, end)` in milliseconds.
    public var description: String { "[\(start), \(end))" }
}

/// Why a ``TimeRange`` could not be made.
public enum TimeRangeError: DomainError {
    /// The end lies before the start.
    case endBeforeStart(start: Int64, end: Int64)

    /// See ``DomainError/code``.
    public var code: String { "time_range.end_before_start" }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case let .endBeforeStart(start, end):
            return "The period ends (\(end)) before it starts (\(start)); give the earlier instant as the start."
        }
    }
}

import CRMDomain
import CRMMessages

/// Time buckets of a report in the business time zone (Asia/Jakarta, UTC+07:00), clipped to the period.
enum ReportBuckets {
    static let maximumBuckets = 5_000

    static func make(_ period: CRMDomain.TimeRange, _ granularity: ReportGranularity, field: String) throws(RequestFieldError) -> [CRMDomain.TimeRange] {
        guard period.end > period.start else { return [] }
        var starts: [Int64] = []
        let offset = CalendarMonth.jakartaOffset
        let day = Milliseconds.day
        func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
        switch granularity {
        case .unspecified, .wholePeriod:
            return [period]
        case .day, .week:
            let length = granularity == .day ? day : 7 * day
            var localDay = floorDiv(period.start + offset, day)
            if granularity == .week {
                // 1970-01-01 was a Thursday: Monday-based weekday = (days + 3) mod 7.
                let weekday = ((localDay + 3) % 7 + 7) % 7
                localDay -= weekday
            }
            var start = localDay * day - offset
            while start < period.end {
                starts.append(start)
                start += length
                if starts.count > maximumBuckets { break }
            }
        case .month, .quarter, .year:
            var month = CalendarMonth(containing: period.start)
            let step = granularity == .month ? 1 : granularity == .quarter ? 3 : 12
            if granularity == .quarter { while (month.month - 1) % 3 != 0 { month = try! CalendarMonth(year: month.year, month: month.month - 1) } }
            if granularity == .year { month = try! CalendarMonth(year: month.year, month: 1) }
            while month.startMillis < period.end {
                starts.append(month.startMillis)
                for _ in 0..<step { month = month.next }
                if starts.count > maximumBuckets { break }
            }
        case .unrecognized(let n):
            throw RequestFieldError(field, "is \(n), a granularity this server does not know")
        }
        guard starts.count <= maximumBuckets else {
            throw RequestFieldError(field, "splits the period into more than \(maximumBuckets) buckets; choose a coarser granularity or a shorter period")
        }
        var result: [CRMDomain.TimeRange] = []
        for (i, s) in starts.enumerated() {
            let e = i + 1 < starts.count ? starts[i + 1] : period.end
            let start = max(s, period.start), end = min(e, period.end)
            if end > start, let range = try? CRMDomain.TimeRange(start: start, end: end) { result.append(range) }
        }
        return result
    }

    /// The index of the bucket holding `t`, if any.
    static func index(of t: Int64, in buckets: [CRMDomain.TimeRange]) -> Int? {
        var low = 0, high = buckets.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if t < buckets[mid].start { high = mid - 1 } else if t >= buckets[mid].end { low = mid + 1 } else { return mid }
        }
        return nil
    }
}

extension Ratio {
    /// Hundredths of a percent, 0 when undefined.
    var pctX100: UInt32 { UInt32(clamping: percent?.value ?? 0) }
}

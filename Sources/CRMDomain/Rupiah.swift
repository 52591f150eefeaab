/// Helpers for amounts of money, which are always whole rupiah in an `Int64`.
///
/// The rupiah has no minor unit in practice, and integers make every total exact and every rounding rule explicit;
/// floating point would make refunds differ by a rupiah depending on the order of additions.
public enum Rupiah: Sendable {
    /// Formats an amount the Indonesian way: `Rp 1.250.000`, `-Rp 5.000`.
    public static func format(_ amount: Int64) -> String {
        let digits = String(amount.magnitude)
        var grouped = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { grouped.append(".") }
            grouped.append(character)
        }
        return (amount < 0 ? "-Rp " : "Rp ") + grouped
    }

    /// `a × b`, or `nil` when the product does not fit in an `Int64`.
    static func multiply(_ a: Int64, _ b: Int64) -> Int64? {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : product
    }

    /// `a + b`, or `nil` when the sum does not fit in an `Int64`.
    static func add(_ a: Int64, _ b: Int64) -> Int64? {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : sum
    }

    /// `a + b`, clamped to the `Int64` range; for totals that only feed comparisons (tiers, reports).
    static func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if !overflow { return sum }
        return b > 0 ? .max : .min
    }
}

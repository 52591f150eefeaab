/// A fixed-point number with two decimals, stored as an integer count of hundredths (355 is 3.55).
///
/// Reports never use floating point: an average or a percentage printed in two places must be the same digits.
public struct Hundredths: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The value × 100.
    public let value: Int64

    /// Wraps a count of hundredths.
    public init(_ value: Int64) { self.value = value }

    /// `numerator / denominator` in hundredths, rounded half up (3.555 → 3.56, 3.5549 → 3.55); `nil` when the
    /// denominator is 0, either input is negative, or the result does not fit.
    public static func quotient(_ numerator: Int64, _ denominator: Int64) -> Hundredths? {
        scaledQuotient(numerator, denominator, scale: 100)
    }

    /// `round_half_up(numerator × scale / denominator)`, computed in 128 bits so no count can overflow it.
    static func scaledQuotient(_ numerator: Int64, _ denominator: Int64, scale: Int128) -> Hundredths? {
        guard denominator > 0, numerator >= 0 else { return nil }
        // (2·s·n + d) / (2·d) = floor(s·n/d + 1/2)
        let n = Int128(numerator) * scale * 2 + Int128(denominator)
        return Int64(exactly: n / (Int128(denominator) * 2)).map(Hundredths.init)
    }

    /// `3.55`, `-0.05`.
    public var description: String {
        let magnitude = value.magnitude
        let cents = magnitude % 100
        return (value < 0 ? "-" : "") + "\(magnitude / 100)." + (cents < 10 ? "0" : "") + "\(cents)"
    }

    /// Numeric order.
    public static func < (lhs: Hundredths, rhs: Hundredths) -> Bool { lhs.value < rhs.value }
}

/// A part of a whole, kept as the two counts so nothing is lost, with a rounded percentage for display.
public struct Ratio: Sendable, Hashable, CustomStringConvertible {
    /// The part.
    public let numerator: Int64
    /// The whole.
    public let denominator: Int64

    /// Creates the ratio.
    public init(_ numerator: Int64, of denominator: Int64) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// The percentage in hundredths of a percent, rounded half up (`50.00 %` is 5000); `nil` for an empty whole.
    public var percent: Hundredths? { Hundredths.scaledQuotient(numerator, denominator, scale: 10_000) }

    /// `97.50%`, or `n/a` for an empty whole.
    public var description: String { percent.map { "\($0)%" } ?? "n/a" }
}

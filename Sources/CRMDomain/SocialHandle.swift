/// Normalises Instagram, TikTok and Facebook handles: trimmed, without a leading `@`, lower-cased.
///
/// All three platforms treat usernames case-insensitively and allow only letters, digits, `.` and `_`, so the
/// normalised form is exactly what identifies the account. Length limits follow the platforms' own
/// (Instagram 1–30, TikTok 2–24, Facebook 5–50, which also fits Messenger's numeric page-scoped ids).
public enum SocialHandle: Sendable {
    /// The shortest and longest username each platform accepts.
    public static func lengthLimits(for kind: HandleKind) -> ClosedRange<Int> {
        switch kind {
        case .instagram: 1...30
        case .tiktok: 2...24
        case .facebook: 5...50
        case .phone, .email, .orderSystem, .webChat: 1...64
        }
    }

    /// Returns the normalised handle of `kind`, or throws why `raw` is not one.
    public static func normalise(_ raw: String, kind: HandleKind) throws(HandleError) -> String {
        var text = Substring(Text.trimmed(raw))
        if text.hasPrefix("@") { text = text.dropFirst() }
        guard !text.isEmpty else { throw .empty(kind) }
        let lowered = Text.asciiLowercased(String(text))
        for c in lowered {
            let ok = c.asciiValue.map { (48...57).contains($0) || (97...122).contains($0) || $0 == 46 || $0 == 95 } ?? false
            guard ok else { throw .socialInvalid(kind: kind, input: raw, problem: .invalidCharacter(c)) }
        }
        let limits = lengthLimits(for: kind)
        guard lowered.count >= limits.lowerBound else {
            throw .socialInvalid(kind: kind, input: raw, problem: .tooShort(length: lowered.count, minimum: limits.lowerBound))
        }
        guard lowered.count <= limits.upperBound else {
            throw .socialInvalid(kind: kind, input: raw, problem: .tooLong(length: lowered.count, maximum: limits.upperBound))
        }
        return lowered
    }
}

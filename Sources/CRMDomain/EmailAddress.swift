/// Normalises e-mail addresses: trimmed, lower-cased, checked for basic validity.
///
/// Lower-casing the local part is technically lossy (RFC 5321 lets it be case-sensitive) but no mail provider
/// customers use treats it so, and one person writing `Budi@` and `budi@` must be one customer. Only ASCII is
/// accepted: internationalised domains arrive in their `xn--` form from every mail system we read.
public enum EmailAddress: Sendable {
    /// The longest address mail systems deliver to (RFC 5321 path limit minus the angle brackets).
    public static let maximumLength = 254

    private static let localSpecials: Set<Character> = [
        "!", "#", "$", "%", "&", "'", "*", "+", "/", "=", "?", "^", "_", "`", "{", "|", "}", "~", "-", ".",
    ]

    /// Returns the normalised address, or throws why `raw` is not one.
    public static func normalise(_ raw: String) throws(HandleError) -> String {
        let trimmed = Text.trimmed(raw)
        guard !trimmed.isEmpty else { throw .empty(.email) }
        let lowered = Text.asciiLowercased(trimmed)
        func fail(_ problem: EmailProblem) -> HandleError { .emailInvalid(input: raw, problem: problem) }

        guard lowered.count <= maximumLength else { throw fail(.tooLong(length: lowered.count, maximum: maximumLength)) }
        let parts = lowered.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { throw fail(.missingAt) }
        guard parts.count == 2 else { throw fail(.multipleAt) }
        let local = parts[0]
        let domain = parts[1]
        guard !local.isEmpty else { throw fail(.emptyLocalPart) }
        guard !domain.isEmpty else { throw fail(.emptyDomain) }

        for c in local where !(isASCIILetterOrDigit(c) || localSpecials.contains(c)) {
            throw fail(.invalidCharacter(c))
        }
        guard !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..") else { throw fail(.misplacedDot) }

        for c in domain where !(isASCIILetterOrDigit(c) || c == "-" || c == ".") {
            throw fail(.invalidCharacter(c))
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { throw fail(.domainWithoutDot) }
        for label in labels where label.isEmpty || label.count > 63 || label.hasPrefix("-") || label.hasSuffix("-") {
            throw fail(.invalidDomainLabel(String(label)))
        }
        let tld = labels[labels.count - 1]
        guard tld.count >= 2, tld.allSatisfy({ $0.isASCII && $0.isLetter }) || tld.hasPrefix("xn--") else {
            throw fail(.invalidTopLevelDomain(String(tld)))
        }
        return lowered
    }

    private static func isASCIILetterOrDigit(_ c: Character) -> Bool {
        guard let a = c.asciiValue else { return false }
        return (48...57).contains(a) || (97...122).contains(a) || (65...90).contains(a)
    }
}

/// Normalises Indonesian phone numbers to E.164 (`+62` followed by the national significant number).
///
/// Accepted written forms: `+62 812-3456-7890`, `62812…`, `0062 812…`, `0812…`, `812…` (mobile written without the
/// trunk 0, as forms with a fixed +62 prefix produce), `+62 (0)812…` (the trunk 0 after the country code is dropped),
/// with spaces, dashes, dots, slashes and parentheses anywhere. Other countries are refused: the business serves
/// Indonesian customers, and accepting foreign numbers would let a mistyped number become a wrong identity.
///
/// Length checks apply to the national significant number (NSN, the digits after `+62`): 7 to 12 digits, and at
/// least 9 for mobiles (NSN starting with 8): Jakarta landlines are 9–10 digits (`21` + 7–8), mobiles 9–12.
public enum PhoneNumber: Sendable {
    /// Indonesia's country calling code.
    public static let countryCode = "62"
    /// The fewest digits an Indonesian NSN has (a 2–3 digit area code and a 5-digit local number).
    public static let minimumDigits = 7
    /// The fewest digits an Indonesian mobile NSN (starting with 8) has.
    public static let minimumMobileDigits = 9
    /// The most digits an Indonesian NSN has.
    public static let maximumDigits = 12

    /// Returns the E.164 form of `raw`, or throws why it is not an Indonesian phone number.
    public static func normalise(_ raw: String) throws(HandleError) -> String {
        let trimmed = Text.trimmed(raw)
        var digits = ""
        var sawPlus = false
        for character in trimmed {
            if let ascii = character.asciiValue, (48...57).contains(ascii) {
                digits.append(character)
            } else if character == "+" {
                guard digits.isEmpty && !sawPlus else { throw .phoneMisplacedPlus(input: raw) }
                sawPlus = true
            } else if isSeparator(character) {
                continue
            } else {
                throw .phoneInvalidCharacter(input: raw, character: character)
            }
        }
        guard !digits.isEmpty else { throw .empty(.phone) }

        var national: Substring
        var afterCountryCode = false
        if sawPlus {
            guard digits.hasPrefix(countryCode) else { throw .phoneNotIndonesian(input: raw) }
            national = digits.dropFirst(2)
            afterCountryCode = true
        } else if digits.hasPrefix("00") {
            // "00" is the international prefix dialled from Indonesia: 0062… is ours, anything else is abroad.
            guard digits.dropFirst(2).hasPrefix(countryCode) else { throw .phoneNotIndonesian(input: raw) }
            national = digits.dropFirst(4)
            afterCountryCode = true
        } else if digits.hasPrefix(countryCode) {
            national = digits.dropFirst(2)
            afterCountryCode = true
        } else if digits.hasPrefix("0") {
            national = digits.dropFirst(1)
        } else if digits.hasPrefix("8") {
            national = Substring(digits)
        } else {
            throw .phoneWithoutPrefix(input: raw)
        }
        // "+62 (0)812…" is a common way to show both forms at once; the 0 is the trunk prefix, not part of the NSN.
        if afterCountryCode && national.hasPrefix("0") { national = national.dropFirst() }

        guard let first = national.first else {
            throw .phoneTooShort(input: raw, digits: 0, minimum: minimumDigits)
        }
        guard ("2"..."9").contains(first) else { throw .phoneInvalidLeadingDigit(input: raw, digit: first) }
        let minimum = first == "8" ? minimumMobileDigits : minimumDigits
        guard national.count >= minimum else {
            throw .phoneTooShort(input: raw, digits: national.count, minimum: minimum)
        }
        guard national.count <= maximumDigits else {
            throw .phoneTooLong(input: raw, digits: national.count, maximum: maximumDigits)
        }
        return "+" + countryCode + national
    }

    private static func isSeparator(_ c: Character) -> Bool {
        c == " " || c == "-" || c == "." || c == "(" || c == ")" || c == "/" || c == "\u{00A0}" || c == "\t"
    }
}

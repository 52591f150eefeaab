/// Why a piece of text cannot be a customer handle.
///
/// Every case keeps the input so the message can quote it, and the message says what a valid one looks like.
public enum HandleError: DomainError {
    /// Nothing but white space was given.
    case empty(HandleKind)
    /// A phone number contains a character that is neither a digit nor a usual separator.
    case phoneInvalidCharacter(input: String, character: Character)
    /// A `+` appears anywhere but at the very start.
    case phoneMisplacedPlus(input: String)
    /// The number carries a country code other than Indonesia's 62.
    case phoneNotIndonesian(input: String)
    /// The number starts with neither a country code (`+62`, `62`, `0062`), nor the trunk `0`, nor a mobile's `8`:
    /// too little of it was written to tell what number it is.
    case phoneWithoutPrefix(input: String)
    /// The number, after the country code or trunk `0`, does not start with a digit an Indonesian number can start with.
    case phoneInvalidLeadingDigit(input: String, digit: Character)
    /// Too few digits after the country code or trunk `0`.
    case phoneTooShort(input: String, digits: Int, minimum: Int)
    /// Too many digits after the country code or trunk `0`.
    case phoneTooLong(input: String, digits: Int, maximum: Int)
    /// The text is not a plausible e-mail address.
    case emailInvalid(input: String, problem: EmailProblem)
    /// The text is not a plausible social-media handle of that kind.
    case socialInvalid(kind: HandleKind, input: String, problem: SocialHandleProblem)
    /// The text is not a usable order-system customer id.
    case orderSystemIDInvalid(input: String, problem: OrderSystemIDProblem)
    /// The text is not a usable web-chat visitor id.
    case webChatVisitorInvalid(input: String, problem: OrderSystemIDProblem)
    /// A canonical handle named a kind that does not exist.
    case unknownKind(String)
    /// A canonical handle lacked the `kind:` prefix.
    case malformedCanonical(String)

    /// See ``DomainError/code``.
    public var code: String {
        switch self {
        case let .empty(kind): "handle.\(kind.rawValue).empty"
        case .phoneInvalidCharacter: "handle.phone.invalid_character"
        case .phoneMisplacedPlus: "handle.phone.misplaced_plus"
        case .phoneNotIndonesian: "handle.phone.not_indonesian"
        case .phoneWithoutPrefix: "handle.phone.without_prefix"
        case .phoneInvalidLeadingDigit: "handle.phone.invalid_leading_digit"
        case .phoneTooShort: "handle.phone.too_short"
        case .phoneTooLong: "handle.phone.too_long"
        case .emailInvalid: "handle.email.invalid"
        case let .socialInvalid(kind, _, _): "handle.\(kind.rawValue).invalid"
        case .orderSystemIDInvalid: "handle.orderSystem.invalid"
        case .webChatVisitorInvalid: "handle.webChat.invalid"
        case .unknownKind: "handle.unknown_kind"
        case .malformedCanonical: "handle.malformed_canonical"
        }
    }

    static let phoneExample = "write it like 0812-3456-7890, 62812 3456 7890 or +62 812-3456-7890"

    /// A sentence saying what went wrong and what a valid handle looks like.
    public var description: String {
        switch self {
        case let .empty(kind):
            return "The \(kind.rawValue) handle is empty; give a non-blank value."
        case let .phoneInvalidCharacter(input, character):
            return "Phone number \"\(input)\" contains \"\(character)\"; only digits, a leading +, spaces, dashes, dots and parentheses are allowed (\(Self.phoneExample))."
        case let .phoneMisplacedPlus(input):
            return "Phone number \"\(input)\" has a + that is not at the start; \(Self.phoneExample)."
        case let .phoneNotIndonesian(input):
            return "Phone number \"\(input)\" is not Indonesian; only +62 numbers are accepted (\(Self.phoneExample))."
        case let .phoneWithoutPrefix(input):
            return "Phone number \"\(input)\" is not a whole Indonesian number: write it with its leading 0 or the country code +62, like 0812-3456-7890 (a mobile), 021-555-0123 (a Jakarta line) or +62 812-3456-7890."
        case let .phoneInvalidLeadingDigit(input, digit):
            return "Phone number \"\(input)\" goes on with \(digit) after its 0 or +62, where an area code or a mobile prefix belongs, and those start with 2–9 (mobiles with 8); \(Self.phoneExample)."
        case let .phoneTooShort(input, digits, minimum):
            return "Phone number \"\(input)\" has \(digits) digits after +62 or the leading 0; at least \(minimum) are needed (\(Self.phoneExample))."
        case let .phoneTooLong(input, digits, maximum):
            return "Phone number \"\(input)\" has \(digits) digits after +62 or the leading 0; at most \(maximum) are allowed (\(Self.phoneExample))."
        case let .emailInvalid(input, problem):
            return "E-mail address \"\(input)\" is not valid: \(problem); write it like nama@perusahaan.co.id."
        case let .socialInvalid(kind, input, problem):
            return "\(kind.rawValue) handle \"\(input)\" is not valid: \(problem); write it like @toko_jaya or toko.jaya."
        case let .webChatVisitorInvalid(input, problem):
            return "Web-chat visitor id \"\(input)\" is not valid: \(problem); give the id exactly as the chat widget shows it."
        case let .orderSystemIDInvalid(input, problem):
            return "Order-system customer id \"\(input)\" is not valid: \(problem); give the id exactly as the order system shows it."
        case let .unknownKind(kind):
            let kinds = HandleKind.allCases.map(\.rawValue).joined(separator: ", ")
            return "\"\(kind)\" is not a handle kind; use one of \(kinds)."
        case let .malformedCanonical(text):
            return "\"\(text)\" is not a canonical handle; write it as kind:value, for example phone:+628123456789."
        }
    }
}

/// What exactly is wrong with an e-mail address.
public enum EmailProblem: Sendable, Hashable, CustomStringConvertible {
    /// There is no `@`.
    case missingAt
    /// There is more than one `@`.
    case multipleAt
    /// Nothing before the `@`.
    case emptyLocalPart
    /// Nothing after the `@`.
    case emptyDomain
    /// A character that addresses may not contain (spaces, non-ASCII, and so on).
    case invalidCharacter(Character)
    /// A dot at the start or end of the local part, or two dots in a row.
    case misplacedDot
    /// The domain has no dot, so it has no top-level domain.
    case domainWithoutDot
    /// A domain label is empty, too long, or starts or ends with `-`.
    case invalidDomainLabel(String)
    /// The top-level domain is not at least two letters.
    case invalidTopLevelDomain(String)
    /// The address is longer than the 254 characters mail systems accept.
    case tooLong(length: Int, maximum: Int)

    /// A phrase naming the problem.
    public var description: String {
        switch self {
        case .missingAt: "it has no @"
        case .multipleAt: "it has more than one @"
        case .emptyLocalPart: "nothing comes before the @"
        case .emptyDomain: "nothing comes after the @"
        case let .invalidCharacter(c): "it contains \"\(c)\""
        case .misplacedDot: "a dot starts or ends the name or two dots are adjacent"
        case .domainWithoutDot: "the domain has no dot"
        case let .invalidDomainLabel(label): "the domain part \"\(label)\" is empty, too long or starts or ends with -"
        case let .invalidTopLevelDomain(tld): "the top-level domain \"\(tld)\" is not two or more letters"
        case let .tooLong(length, maximum): "it is \(length) characters long, more than \(maximum)"
        }
    }
}

/// What exactly is wrong with a social-media handle.
public enum SocialHandleProblem: Sendable, Hashable, CustomStringConvertible {
    /// A character other than a letter, a digit, `.` or `_`.
    case invalidCharacter(Character)
    /// Shorter than the platform allows.
    case tooShort(length: Int, minimum: Int)
    /// Longer than the platform allows.
    case tooLong(length: Int, maximum: Int)

    /// A phrase naming the problem.
    public var description: String {
        switch self {
        case let .invalidCharacter(c): "it contains \"\(c)\" (only letters, digits, . and _ are allowed)"
        case let .tooShort(length, minimum): "it has \(length) characters, fewer than \(minimum)"
        case let .tooLong(length, maximum): "it has \(length) characters, more than \(maximum)"
        }
    }
}

/// What exactly is wrong with an order-system customer id.
public enum OrderSystemIDProblem: Sendable, Hashable, CustomStringConvertible {
    /// A control character (the value of the Unicode scalar), which no id system emits on purpose.
    case controlCharacter(UInt32)
    /// Longer than any id the order system issues.
    case tooLong(length: Int, maximum: Int)

    /// A phrase naming the problem.
    public var description: String {
        switch self {
        case let .controlCharacter(value): "it contains the control character U+\(String(value, radix: 16, uppercase: true))"
        case let .tooLong(length, maximum): "it has \(length) characters, more than \(maximum)"
        }
    }
}

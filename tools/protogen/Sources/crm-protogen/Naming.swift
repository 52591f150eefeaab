/// Names in C (exactly as protoc-c 1.4.1 spells them) and in Swift.
enum CNaming {
    /// protoc-c's `ToCamel`: `foo_bar` → `FooBar`.
    static func toCamel(_ name: String) -> String {
        var out = ""
        var nextUpper = true
        for ch in name {
            if ch == "_" {
                nextUpper = true
            } else if nextUpper {
                out += ch.uppercased()
                nextUpper = false
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// protoc-c's `CamelToLower`: `CallerSnapshot` → `caller_snapshot`.
    static func camelToLower(_ name: String) -> String {
        var out = ""
        var wasUpper = true
        for ch in name {
            let isUpper = ch.isASCII && ch.isUppercase
            if isUpper {
                if !wasUpper { out += "_" }
                out += ch.lowercased()
            } else {
                out.append(ch)
            }
            wasUpper = isUpper
        }
        return out
    }

    /// protoc-c's `FullNameToC`: `crm.v1.Interaction` → `Crm__V1__Interaction`.
    static func typeName(_ fullName: String) -> String {
        fullName.split(separator: ".").map { toCamel(String($0)) }.joined(separator: "__")
    }

    /// protoc-c's `FullNameToLower`: `crm.v1.CallerSnapshot` → `crm__v1__caller_snapshot`.
    static func functionPrefix(_ fullName: String) -> String {
        fullName.split(separator: ".").map { camelToLower(String($0)) }.joined(separator: "__")
    }

    /// protoc-c's `FieldName`: the field name lower-cased.
    static func member(_ fieldName: String) -> String { fieldName.lowercased() }
}

enum SwiftNaming {
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
        "inout", "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public",
        "rethrows", "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue",
        "default", "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw",
        "switch", "where", "while", "Any", "as", "await", "false", "is", "nil", "self", "Self", "super",
        "throws", "true", "try", "Type", "Protocol",
    ]

    /// Members every generated message already has; a field may not take these names.
    static let reservedMembers: Set<String> = ["protoName", "wireDescriptor", "wireBytes", "CMessage", "hashValue"]

    /// `order_number` → `orderNumber`; `customer_id` → `customerID`.
    static func lowerCamel(_ snake: String) -> String {
        let words = snake.lowercased().split(separator: "_").map(String.init)
        guard let first = words.first else { return snake }
        var out = first
        for word in words.dropFirst() {
            out += word == "id" ? "ID" : word.prefix(1).uppercased() + word.dropFirst()
        }
        return out
    }

    /// `link_target` → `LinkTarget`.
    static func upperCamel(_ snake: String) -> String {
        let lower = lowerCamel(snake)
        return lower.prefix(1).uppercased() + lower.dropFirst()
    }

    /// Backticks a name that is a Swift keyword.
    static func escaped(_ name: String) -> String {
        keywords.contains(name) ? "`\(name)`" : name
    }

    /// `CHANNEL_WHATSAPP` in enum `Channel` → `whatsapp`.
    static func enumCase(_ valueName: String, enumName: String) throws -> String {
        let prefix = CNaming.camelToLower(enumName).uppercased() + "_"
        guard valueName.hasPrefix(prefix), valueName.count > prefix.count else {
            throw GeneratorError.schema("enum value \(valueName) must start with \(prefix) (the enum's name)")
        }
        let rest = String(valueName.dropFirst(prefix.count))
        let name = lowerCamel(rest)
        guard let first = name.first, first.isLetter else {
            throw GeneratorError.schema("enum value \(valueName) must continue with a letter after \(prefix)")
        }
        return name
    }
}

/// A schema the generator cannot turn into Swift, with what to change.
enum GeneratorError: Error, CustomStringConvertible {
    case schema(String)
    case usage(String)

    var description: String {
        switch self {
        case .schema(let s): "crm-protogen: schema error: \(s)"
        case .usage(let s): "crm-protogen: \(s)"
        }
    }
}

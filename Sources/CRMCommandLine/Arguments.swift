package import ArgumentParser
package import CRMMessages
package import CRMWire
package import Foundation

// MARK: Handles

/// A customer named on the command line as `kind:value`.
///
/// | kind | example | means |
/// |---|---|---|
/// | `phone` | `phone:0812-3456-789` | phone number (normalised to +62…) |
/// | `whatsapp`, `wa` | `wa:+62 812 3456 789` | WhatsApp number |
/// | `email` | `email:budi@example.co.id` | e-mail address |
/// | `instagram`, `ig` | `instagram:@tokobudi` | Instagram username |
/// | `tiktok` | `tiktok:@tokobudi` | TikTok username |
/// | `facebook`, `fb` | `facebook:tokobudi` | Facebook username or page-scoped id |
/// | `oms`, `order-system` | `oms:C-10023` | customer id in the order system |
/// | `webchat` | `webchat:v-8812` | web-chat visitor id |
/// | `id` | `id:cus_4f2a…` | the CRM's customer id |
package enum HandleSyntax {
    package static let kinds: [(names: [String], kind: HandleKind)] = [
        (["phone", "tel"], .phone),
        (["email", "mail"], .email),
        (["whatsapp", "wa"], .whatsapp),
        (["instagram", "ig"], .instagram),
        (["tiktok", "tt"], .tiktok),
        (["facebook", "fb"], .facebook),
        (["oms", "order-system"], .orderSystemID),
        (["webchat", "web-chat"], .webChatVisitor),
    ]

    package static let help = "kind:value, e.g. phone:0812-3456-789, email:a@b.c, instagram:@name, wa:+62812…, oms:C-1001, or id:CUSTOMER_ID"

    package static let kindList = (kinds.map { $0.names[0] } + ["id"]).joined(separator: ", ")

    /// The error for text that is not `kind:value`, saying what to type instead.
    package static func error(_ text: String, _ why: String) -> ValidationError {
        ValidationError("'\(text)' \(why); write a customer as kind:value, e.g. phone:0812-3456-789, email:a@b.c, instagram:@name or id:CUSTOMER_ID (kinds: \(kindList))")
    }

    /// Parses `kind:value` into a handle.
    package static func handle(_ text: String) throws -> Handle {
        guard case .handle(let handle)? = try selector(text).target else {
            throw ValidationError("'\(text)' is a customer id, but a handle is needed here; write kind:value with one of \(kinds.map { $0.names[0] }.joined(separator: ", "))")
        }
        return handle
    }

    /// Parses `kind:value` (or `id:CUSTOMER_ID`) into a customer selector.
    package static func selector(_ text: String) throws -> CustomerSelector {
        guard let colon = text.firstIndex(of: ":") else { throw error(text, "has no kind") }
        let kindName = text[..<colon].lowercased().trimmingCharacters(in: .whitespaces)
        let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { throw error(text, "has no value after the colon") }
        if kindName == "id" { return CustomerSelector(target: .customerID(value)) }
        guard let kind = kinds.first(where: { $0.names.contains(kindName) })?.kind else {
            throw error(text, "has an unknown kind '\(kindName)'")
        }
        return CustomerSelector(target: .handle(Handle(kind: kind, value: value)))
    }

    /// A handle written back as `kind:value`.
    package static func format(_ handle: Handle) -> String {
        let name = kinds.first(where: { $0.kind == handle.kind })?.names[0] ?? enumLabel(handle.kind)
        return "\(name):\(handle.value)"
    }
}

/// A customer argument (`kind:value`), checked while parsing.
package struct CustomerArgument: ExpressibleByArgument {
    package var selector: CustomerSelector
    package var text: String

    package init?(argument: String) {
        guard let selector = try? HandleSyntax.selector(argument) else { return nil }
        self.selector = selector
        text = argument
    }

    package static func parse(_ text: String) throws -> CustomerArgument {
        let selector = try HandleSyntax.selector(text)
        return CustomerArgument(selector: selector, text: text)
    }

    private init(selector: CustomerSelector, text: String) {
        self.selector = selector
        self.text = text
    }
}

// MARK: Enums

/// The command-line word for an enum value: `CHANNEL_INSTAGRAM_DM` → `instagram-dm`.
package func enumLabel<E: WireEnum>(_ value: E) -> String {
    if E(protoName: value.protoName) == nil { return String(value.rawValue) }
    let typeName = E.protoName.split(separator: ".").last.map(String.init) ?? ""
    let prefix = upperSnake(typeName) + "_"
    var name = value.protoName
    if name.hasPrefix(prefix) { name.removeFirst(prefix.count) }
    return name.lowercased().replacingOccurrences(of: "_", with: "-")
}

/// `ComplaintState` → `COMPLAINT_STATE`.
package func upperSnake(_ camel: String) -> String {
    var out = ""
    var wasUpper = true
    for ch in camel {
        let isUpper = ch.isUppercase
        if isUpper && !wasUpper { out += "_" }
        out += ch.uppercased()
        wasUpper = isUpper
    }
    return out
}

/// A generated enum taken as an option value by its command-line word (`out-of-stock`).
package struct EnumArgument<E: WireEnum>: ExpressibleByArgument, CustomStringConvertible {
    package var value: E

    package init(_ value: E) { self.value = value }

    package init?(argument: String) {
        let word = argument.lowercased().replacingOccurrences(of: "_", with: "-")
        guard let value = Self.choices.first(where: { enumLabel($0) == word }) else { return nil }
        self.value = value
    }

    /// Every value but the zero (unspecified) one.
    package static var choices: [E] { E.allCases.filter { $0.rawValue != 0 } }

    package static var allValueStrings: [String] { choices.map(enumLabel) }

    package var description: String { enumLabel(value) }
    package var defaultValueDescription: String { enumLabel(value) }
}

// MARK: Dates and money

/// Dates on the command line are days in the business time zone (Asia/Jakarta, UTC+07:00).
package enum BusinessTime {
    package static let zone = TimeZone(secondsFromGMT: 7 * 3600)!

    package static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    /// Midnight starting `YYYY-MM-DD` in Jakarta, in Unix milliseconds.
    package static func startOfDay(_ text: String) throws -> Int64 {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
            calendar.component(.day, from: date) == day, calendar.component(.month, from: date) == month
        else {
            throw ValidationError("'\(text)' is not a date; write dates as YYYY-MM-DD, e.g. 2024-05-31")
        }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// `YYYY-MM-DD` (midnight) or `YYYY-MM-DDTHH:MM` / `YYYY-MM-DD HH:MM` in Jakarta, in Unix milliseconds.
    package static func moment(_ text: String) throws -> Int64 {
        let separator = text.firstIndex(where: { $0 == "T" || $0 == " " })
        guard let separator else { return try startOfDay(text) }
        let day = try startOfDay(String(text[..<separator]))
        let clock = text[text.index(after: separator)...].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 2, clock.allSatisfy({ $0.count == 2 }), let hour = Int(clock[0]), let minute = Int(clock[1]),
            (0..<24).contains(hour), (0..<60).contains(minute)
        else {
            throw ValidationError("'\(text)' is not a time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM (Jakarta time), e.g. 2024-05-03T14:30")
        }
        return day + Int64(hour * 3_600_000 + minute * 60_000)
    }

    /// Midnight ending `YYYY-MM-DD` (the next day's start), in Unix milliseconds.
    package static func endOfDay(_ text: String) throws -> Int64 {
        try startOfDay(text) + 86_400_000
    }

    /// `2024-05-01 14:03` in Jakarta time.
    package static func minute(_ ms: Int64) -> String {
        format(ms, "yyyy-MM-dd HH:mm")
    }

    /// `2024-05-01` in Jakarta time.
    package static func day(_ ms: Int64) -> String {
        format(ms, "yyyy-MM-dd")
    }

    /// RFC 3339 with the Jakarta offset, for JSON: `2024-05-01T14:03:00+07:00`.
    package static func rfc3339(_ ms: Int64) -> String {
        format(ms, "yyyy-MM-dd'T'HH:mm:ssxxxxx")
    }

    private static func format(_ ms: Int64, _ pattern: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = pattern
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}

/// A time range from `--from` and `--to` days (both inclusive), or nil when neither is given.
package func timeRange(from: String?, to: String?) throws -> TimeRange? {
    guard from != nil || to != nil else { return nil }
    let start = try from.map(BusinessTime.startOfDay) ?? 0
    let end = try to.map(BusinessTime.endOfDay) ?? Int64(Date().timeIntervalSince1970 * 1000) + 1
    guard end > start else { throw ValidationError("--to \(to ?? "") is before --from \(from ?? ""); write the earlier day in --from") }
    return TimeRange(fromMs: start, toMs: end)
}

/// Rupiah written as `45000`, `45.000`, `45,000` or `Rp 45.000` (whole rupiah).
package func parseRupiah(_ text: String, field: String) throws -> Int64 {
    var digits = text.trimmingCharacters(in: .whitespaces)
    if digits.lowercased().hasPrefix("rp") { digits = String(digits.dropFirst(2)).trimmingCharacters(in: .whitespaces) }
    let negative = digits.hasPrefix("-")
    if negative { digits.removeFirst() }
    digits.removeAll { $0 == "." || $0 == "," || $0 == "_" || $0 == " " }
    guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let value = Int64(digits) else {
        throw ValidationError("\(field) '\(text)' is not an amount; write whole rupiah such as 45000 or 45.000")
    }
    return negative ? -value : value
}

/// Rupiah for people: `Rp 1.250.000`.
package func formatRupiah(_ amount: Int64) -> String {
    let digits = String(amount.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "." }
        out.append(ch)
    }
    return (amount < 0 ? "-Rp " : "Rp ") + out
}

/// A percentage in hundredths (`9523`) for people: `95.23%`.
package func formatPercent(_ x100: UInt32) -> String {
    "\(x100 / 100).\(String(format: "%02d", x100 % 100))%"
}

/// A duration in milliseconds for people: `3d 4h`, `5h 12m`, `40m`.
package func formatDuration(_ ms: Int64) -> String {
    let minutes = ms / 60_000
    if minutes < 60 { return "\(minutes)m" }
    let hours = minutes / 60
    if hours < 48 { return "\(hours)h \(minutes % 60)m" }
    return "\(hours / 24)d \(hours % 24)h"
}

// MARK: Complaint items

/// An affected item as `SKU:ORDERED:RECEIVED:BROKEN:PAID[:CORRECT]` (prices in rupiah).
package func parseAffectedItem(_ text: String) throws -> AffectedItem {
    let form = "write an item as SKU:ORDERED:RECEIVED:BROKEN:PAID_UNIT_PRICE[:CORRECT_UNIT_PRICE], e.g. --item MUG-01:10:7:2:45000"
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 5 || parts.count == 6, !parts[0].isEmpty else {
        throw ValidationError("'\(text)' is not an item; \(form)")
    }
    func count(_ s: String, _ name: String) throws -> Int64 {
        guard let n = Int64(s), n >= 0 else { throw ValidationError("\(name) '\(s)' in '\(text)' is not a count; \(form)") }
        return n
    }
    var item = AffectedItem()
    item.sku = parts[0]
    item.quantityOrdered = try count(parts[1], "ORDERED")
    item.quantityReceived = try count(parts[2], "RECEIVED")
    item.quantityBroken = try count(parts[3], "BROKEN")
    item.paidUnitPriceRupiah = try parseRupiah(parts[4], field: "PAID_UNIT_PRICE")
    item.correctUnitPriceRupiah = parts.count == 6 ? try parseRupiah(parts[5], field: "CORRECT_UNIT_PRICE") : item.paidUnitPriceRupiah
    guard item.quantityBroken <= item.quantityReceived else {
        throw ValidationError("'\(text)': BROKEN (\(item.quantityBroken)) cannot exceed RECEIVED (\(item.quantityReceived)); \(form)")
    }
    return item
}

/// A new idempotency key for a fact made from the command line, unless `given`.
package func commandKey(_ given: String?) -> IdempotencyKey {
    IdempotencyKey(adapterID: "crm-cli", externalID: given ?? UUID().uuidString.lowercased())
}

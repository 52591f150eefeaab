import Testing
@testable import CRMDomain

@Suite("Handles: normalisation and refusal")
struct HandleTests {
    @Test("Every written form of one mobile number normalises to the same E.164 number", arguments: [
        "0812-3456-7890", "62812 3456 7890", "+62 812-3456-7890", "+62 (0)812 3456 7890", "0062 812.3456.7890",
        "(0812) 3456-7890", "812 3456 7890", " +6281234567890 ", "+62-812-3456-7890", "0812/3456/7890",
    ])
    func phoneForms(raw: String) throws {
        #expect(try Handle.phone(raw).value == "+6281234567890")
    }

    @Test("The brief's examples 0812-3456-789, 62812… and +62 812 … are one number")
    func briefExamples() throws {
        let forms = ["0812-3456-789", "628123456789", "+62 812 3456 789"]
        #expect(Set(try forms.map(Handle.phone)).count == 1)
        #expect(try Handle.phone("0812-3456-789").canonical == "phone:+628123456789")
    }

    @Test("A Jakarta landline keeps its area code")
    func landline() throws {
        #expect(try Handle.phone("(021) 5678-1234").value == "+622156781234")
    }

    @Test("Phone refusals carry the exact reason", arguments: [
        ("   ", HandleError.empty(.phone)),
        ("---", HandleError.empty(.phone)),
        ("0812-3456-789x", HandleError.phoneInvalidCharacter(input: "0812-3456-789x", character: "x")),
        ("0812+3456789", HandleError.phoneMisplacedPlus(input: "0812+3456789")),
        ("++62812345678", HandleError.phoneMisplacedPlus(input: "++62812345678")),
        ("+65 9123 4567", HandleError.phoneNotIndonesian(input: "+65 9123 4567")),
        ("0065 9123 4567", HandleError.phoneNotIndonesian(input: "0065 9123 4567")),
        ("12345678", HandleError.phoneWithoutPrefix(input: "12345678")),
        ("+62 112 345 678", HandleError.phoneInvalidLeadingDigit(input: "+62 112 345 678", digit: "1")),
        ("0812-345", HandleError.phoneTooShort(input: "0812-345", digits: 6, minimum: 9)),
        ("021-123", HandleError.phoneTooShort(input: "021-123", digits: 5, minimum: 7)),
        ("+62", HandleError.phoneTooShort(input: "+62", digits: 0, minimum: 7)),
        ("0812-3456-7890-123", HandleError.phoneTooLong(input: "0812-3456-7890-123", digits: 14, maximum: 12)),
    ])
    func phoneRefusals(raw: String, expected: HandleError) {
        #expect(throws: expected) { try Handle.phone(raw) }
    }

    @Test("A phone error says what went wrong and what a valid number looks like")
    func phoneMessage() {
        let error = HandleError.phoneTooShort(input: "0812-345", digits: 6, minimum: 9)
        #expect(error.description == "Phone number \"0812-345\" has 6 digits after +62 or the leading 0; at least 9 are needed (write it like 0812-3456-7890, 62812 3456 7890 or +62 812-3456-7890).")
        #expect(error.code == "handle.phone.too_short")
    }

    @Test("E-mail addresses are trimmed and lower-cased")
    func emailNormalised() throws {
        #expect(try Handle.email("  Budi.Santoso@Example.CO.ID ").value == "budi.santoso@example.co.id")
        #expect(try Handle.email("order+wa@toko-jaya.id").value == "order+wa@toko-jaya.id")
    }

    @Test("E-mail refusals carry the exact problem", arguments: [
        ("  ", HandleError.empty(.email)),
        ("budi.example.com", .emailInvalid(input: "budi.example.com", problem: .missingAt)),
        ("a@b@c.com", .emailInvalid(input: "a@b@c.com", problem: .multipleAt)),
        ("@x.com", .emailInvalid(input: "@x.com", problem: .emptyLocalPart)),
        ("budi@", .emailInvalid(input: "budi@", problem: .emptyDomain)),
        ("bu di@x.com", .emailInvalid(input: "bu di@x.com", problem: .invalidCharacter(" "))),
        ("bü@x.com", .emailInvalid(input: "bü@x.com", problem: .invalidCharacter("ü"))),
        ("budi@x_y.com", .emailInvalid(input: "budi@x_y.com", problem: .invalidCharacter("_"))),
        (".budi@x.com", .emailInvalid(input: ".budi@x.com", problem: .misplacedDot)),
        ("bu..di@x.com", .emailInvalid(input: "bu..di@x.com", problem: .misplacedDot)),
        ("budi@localhost", .emailInvalid(input: "budi@localhost", problem: .domainWithoutDot)),
        ("budi@-x.com", .emailInvalid(input: "budi@-x.com", problem: .invalidDomainLabel("-x"))),
        ("budi@x..com", .emailInvalid(input: "budi@x..com", problem: .invalidDomainLabel(""))),
        ("budi@x.c", .emailInvalid(input: "budi@x.c", problem: .invalidTopLevelDomain("c"))),
        ("budi@x.c0m", .emailInvalid(input: "budi@x.c0m", problem: .invalidTopLevelDomain("c0m"))),
    ])
    func emailRefusals(raw: String, expected: HandleError) {
        #expect(throws: expected) { try Handle.email(raw) }
    }

    @Test("An e-mail address longer than 254 characters is refused")
    func emailTooLong() {
        let raw = String(repeating: "a", count: 250) + "@x.com"
        #expect(throws: HandleError.emailInvalid(input: raw, problem: .tooLong(length: 256, maximum: 254))) { try Handle.email(raw) }
    }

    @Test("Social handles lose the @ and their case")
    func socialNormalised() throws {
        #expect(try Handle.instagram(" @Toko_Jaya ").value == "toko_jaya")
        #expect(try Handle.tiktok("Toko.Jaya").value == "toko.jaya")
        #expect(try Handle.facebook("@TokoJaya.Official").value == "tokojaya.official")
    }

    @Test("Social refusals carry the exact problem", arguments: [
        (HandleKind.instagram, "@", HandleError.empty(.instagram)),
        (.instagram, "toko-jaya", .socialInvalid(kind: .instagram, input: "toko-jaya", problem: .invalidCharacter("-"))),
        (.tiktok, "a", .socialInvalid(kind: .tiktok, input: "a", problem: .tooShort(length: 1, minimum: 2))),
        (.facebook, "abcd", .socialInvalid(kind: .facebook, input: "abcd", problem: .tooShort(length: 4, minimum: 5))),
        (.instagram, String(repeating: "a", count: 31), .socialInvalid(kind: .instagram, input: String(repeating: "a", count: 31), problem: .tooLong(length: 31, maximum: 30))),
    ])
    func socialRefusals(kind: HandleKind, raw: String, expected: HandleError) {
        #expect(throws: expected) { try Handle(kind: kind, raw: raw) }
    }

    @Test("Order-system ids are kept as given, only trimmed")
    func orderSystemIDs() throws {
        #expect(try Handle.orderSystem("  C-000123 ").value == "C-000123")
        #expect(try Handle.orderSystem("c-000123") != Handle.orderSystem("C-000123"))
    }

    @Test("Order-system id refusals carry the exact problem")
    func orderSystemRefusals() {
        #expect(throws: HandleError.empty(.orderSystem)) { try Handle.orderSystem(" ") }
        #expect(throws: HandleError.orderSystemIDInvalid(input: "C\u{7}1", problem: .controlCharacter(7))) { try Handle.orderSystem("C\u{7}1") }
        let long = String(repeating: "9", count: 65)
        #expect(throws: HandleError.orderSystemIDInvalid(input: long, problem: .tooLong(length: 65, maximum: 64))) { try Handle.orderSystem(long) }
    }

    @Test("Web-chat visitor ids are kept as given, only trimmed, and refused with their own kind's message")
    func webChatVisitors() throws {
        #expect(try Handle.webChat(" v-8812 ").canonical == "webChat:v-8812")
        #expect(try Handle(canonical: "webChat:v-8812") == Handle.webChat("v-8812"))
        #expect(try Handle.webChat("V-1") != Handle.webChat("v-1"))
        #expect(try Handle.webChat("C-1") != Handle.orderSystem("C-1"))
        #expect(throws: HandleError.empty(.webChat)) { try Handle.webChat("") }
        let bad = HandleError.webChatVisitorInvalid(input: "v\u{0}", problem: .controlCharacter(0))
        #expect(throws: bad) { try Handle.webChat("v\u{0}") }
        #expect(bad.description.contains("Web-chat visitor id") && bad.code == "handle.webChat.invalid")
        #expect(Channel.webChat.acceptedHandleKinds?.contains(.webChat) == true)
    }

    @Test("The canonical form round-trips and is refused when malformed")
    func canonicalForm() throws {
        let h = try Handle.phone("0812-3456-7890")
        #expect(try Handle(canonical: h.canonical) == h)
        #expect(try Handle(canonical: "phone:0812 3456 7890") == h)
        #expect(throws: HandleError.unknownKind("fax")) { try Handle(canonical: "fax:123") }
        #expect(throws: HandleError.malformedCanonical("nocolon")) { try Handle(canonical: "nocolon") }
        // Found by fuzzing (Fuzz/Crashes/handles): a value that starts with a combining mark joins the colon into one
        // character, and the canonical form must still read back.
        let combining = try Handle.orderSystem("\u{0365}")
        #expect(try Handle(canonical: combining.canonical) == combining)
    }

    @Test("Handles sort by kind, then value bytes")
    func ordering() throws {
        let sorted = try [Handle.orderSystem("A1"), Handle.email("z@x.id"), Handle.phone("081234567890"), Handle.email("a@x.id")].sorted()
        #expect(sorted.map(\.canonical) == ["phone:+6281234567890", "email:a@x.id", "email:z@x.id", "orderSystem:A1"])
    }

    @Test("Every handle error has a distinct code and a message that names the input")
    func errorMessages() {
        let errors: [HandleError] = [
            .phoneInvalidCharacter(input: "08x", character: "x"), .phoneMisplacedPlus(input: "0+8"),
            .phoneNotIndonesian(input: "+65 1"), .phoneInvalidLeadingDigit(input: "1", digit: "1"),
            .phoneWithoutPrefix(input: "12345"),
            .phoneTooLong(input: "0812345678901234", digits: 15, maximum: 12),
            .emailInvalid(input: "x", problem: .missingAt), .socialInvalid(kind: .tiktok, input: "a", problem: .tooShort(length: 1, minimum: 2)),
            .orderSystemIDInvalid(input: "C\u{7}", problem: .controlCharacter(7)), .webChatVisitorInvalid(input: "v\u{7}", problem: .controlCharacter(7)),
        ]
        #expect(Set(errors.map(\.code)).count == errors.count)
        for error in errors { #expect(error.description.contains("\"")) }
        #expect(HandleError.unknownKind("fax").description == "\"fax\" is not a handle kind; use one of phone, email, instagram, tiktok, facebook, orderSystem, webChat.")
    }
}

@Suite("Identifiers")
struct IdentifierTests {
    @Test("Identifiers are trimmed, and a fact id can be built from adapter and external id")
    func trimmed() throws {
        #expect(try OrderNumber("  ORD-1 ").rawValue == "ORD-1")
        #expect(try FactID(adapter: "whatsapp", externalID: "wamid.123").rawValue == "whatsapp/wamid.123")
    }

    @Test("Identifier refusals carry the exact reason")
    func refusals() {
        #expect(throws: IdentifierError.empty(.fact)) { try FactID("  ") }
        #expect(throws: IdentifierError.tooLong(.fact, length: 129, maximum: 128)) { try FactID(String(repeating: "x", count: 129)) }
        #expect(throws: IdentifierError.controlCharacter(.order, 10)) { try OrderNumber("A\nB") }
        #expect(throws: IdentifierError.empty(.complaint)) { try ComplaintID("") }
        #expect(throws: IdentifierError.empty(.actor)) { try Actor(role: .sales, id: " ") }
        #expect(throws: IdentifierError.malformedCustomerID("cus_xyz")) { try CustomerID("cus_xyz") }
        #expect(throws: IdentifierError.malformedCustomerID("c_0")) { try CustomerID("c_0") }
        #expect(IdentifierError.empty(.fact).description == "The fact id is empty; give a non-blank id.")
    }

    @Test("Customer ids are FNV-1a 128 of the anchor's canonical form, and parse back")
    func customerIDs() throws {
        // Published FNV-1a 128-bit test vectors.
        #expect(CustomerID.fnv1a128([]) == (UInt128(0x6c62_272e_07bb_0142) << 64 | UInt128(0x62b8_2175_6295_c58d)))
        #expect(String(CustomerID.fnv1a128(Array("a".utf8)), radix: 16) == "d228cb696f1a8caf78912b704e4a8964")
        let id = CustomerID.derived(fromAnchor: try phone("081234567890"))
        #expect(id.rawValue.hasPrefix("cus_") && id.rawValue.count == 36)
        #expect(try CustomerID(id.rawValue) == id)
        #expect(id == CustomerID.derived(fromAnchor: try phone("+62 812 3456 7890")))
        #expect(id != CustomerID.derived(fromAnchor: try phone("081234567891")))
    }
}

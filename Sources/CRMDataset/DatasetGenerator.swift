public import CRMDomain

/// A small, fast, seedable random number generator (SplitMix64), so a dataset is the same on every run.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One generated customer: their handles (as normalised) and every fact about them.
public struct GeneratedCustomer: Sendable {
    public let index: Int
    public let phone: Handle
    /// The phone number as a caller's system might present it (one of the usual written forms).
    public let phoneAsWritten: String
    public let handles: [Handle]
    public let facts: [Fact]
}

/// Makes a realistic after-sales dataset: Indonesian names, phone numbers in every written form, several handles
/// per person linked the ways the business learns of them, about ten interactions per customer across channels,
/// orders with items and tracking, complaints in the four categories with their workflow, and ratings in the
/// proportions of the seed's table.
///
/// Customer `i` is a pure function of `(seed, i)`, so any subset can be made, in any order, by any number of workers.
public struct DatasetGenerator: Sendable {
    public let seed: UInt64
    /// "Now" for the dataset: facts lie in the three years before it.
    public let now: Int64
    /// About how many interactions each customer has.
    public let interactionsPerCustomer: Int

    public init(seed: UInt64 = 2024, now: Int64 = 1_735_664_400_000, interactionsPerCustomer: Int = 10) {
        self.seed = seed
        self.now = now
        self.interactionsPerCustomer = interactionsPerCustomer
    }

    static let firstNames = [
        "Budi", "Siti", "Agus", "Dewi", "Andi", "Rina", "Joko", "Sri", "Hendra", "Wati", "Bambang", "Yuni", "Rudi", "Lestari",
        "Eko", "Putri", "Dedi", "Ayu", "Fajar", "Indah", "Hadi", "Nur", "Wahyu", "Ratna", "Arief", "Maya", "Teguh", "Fitri",
        "Irfan", "Nia", "Yusuf", "Kartika", "Rizky", "Sari", "Dimas", "Anisa", "Gilang", "Citra", "Bayu", "Melati",
    ]
    static let lastNames = [
        "Santoso", "Wijaya", "Saputra", "Hidayat", "Pratama", "Kusuma", "Setiawan", "Nugroho", "Susanto", "Gunawan",
        "Halim", "Siregar", "Nasution", "Simanjuntak", "Lubis", "Harahap", "Sitompul", "Wibowo", "Purnomo", "Suryadi",
        "Tanjung", "Rahman", "Hakim", "Utomo", "Permana", "Anggraini", "Sembiring", "Ginting", "Tarigan", "Manurung",
    ]
    static let companies = [
        "Toko Jaya Abadi", "CV Sinar Terang", "PT Maju Bersama", "UD Sumber Rejeki", "Toko Berkah", "CV Mitra Usaha",
        "PT Cahaya Niaga", "Toko Serba Ada", "CV Karya Mandiri", "PT Nusantara Grosir",
    ]
    static let cities = [
        "Jakarta Barat", "Jakarta Selatan", "Jakarta Utara", "Bekasi", "Depok", "Tangerang", "Bogor", "Bandung", "Surabaya",
        "Semarang", "Medan", "Makassar", "Yogyakarta", "Palembang", "Denpasar",
    ]
    static let products: [(sku: String, name: String, price: Int64)] = [
        ("TAS-001", "Tas selempang kulit", 85_000), ("SPT-014", "Sepatu olahraga", 120_000), ("KAO-220", "Kaos polos katun", 25_000),
        ("JAM-031", "Jam tangan digital", 65_000), ("LMP-105", "Lampu LED 12W", 18_000), ("MNN-009", "Mainan balok edukasi", 45_000),
        ("KOS-301", "Set kosmetik", 150_000), ("HPC-017", "Casing ponsel", 12_000), ("PRL-440", "Panci presto", 210_000),
        ("BTL-052", "Botol minum 1L", 22_000), ("KBL-118", "Kabel data USB-C", 9_500), ("JKT-760", "Jaket parasut", 135_000),
    ]
    static let mobilePrefixes = ["811", "812", "813", "821", "822", "852", "853", "855", "856", "857", "858", "877", "878", "895", "896"]

    /// Customer `index`.
    public func customer(_ index: Int) -> GeneratedCustomer {
        // Values are well-formed by construction; a value the domain refused would only drop that one fact.
        var builder = FactBuilder(index: index, rng: SplitMix64(seed: (seed &* 0x1_0000_0001_B3) ^ (UInt64(index) &* 0x9E37_79B9)), now: now)
        return builder.build(interactions: interactionsPerCustomer)
    }

    /// Every written form of customer `index`'s mobile number (`0812-…`, `62812…`, `+62 (0)812 …`); one of them is the
    /// customer's ``GeneratedCustomer/phoneAsWritten``, and all normalise to its ``GeneratedCustomer/phone``. The number
    /// does not depend on the seed: customer `index` of any dataset has it.
    public static func phoneWrittenForms(_ index: Int) -> [String] {
        // A unique mobile number per customer: the index spread over 8 digits after a real operator prefix.
        let prefix = mobilePrefixes[index % mobilePrefixes.count]
        let digits = String(UInt64(index / mobilePrefixes.count) &* 7_919 % 100_000_000)
        let rest = String(repeating: "0", count: 8 - digits.count) + digits
        return FactBuilder.writtenForms(prefix: prefix, rest: rest)
    }

    /// Only the interactions of a fresh contact period for customer `index` (for ingest benchmarks): `count`
    /// interactions from the customer's existing handles, after `now`, with ids disjoint from ``customer(_:)``'s.
    public func followUpInteractions(_ index: Int, count: Int, round: Int) -> [Fact] {
        let c = customer(index)
        var rng = SplitMix64(seed: seed ^ UInt64(index) &* 0xD6E8_FEB8_6659_FD93 ^ UInt64(round) &* 0xA076_1D64_78BD_642F)
        var facts: [Fact] = []
        for n in 0..<count {
            let handle = c.handles.filter { $0.kind != .orderSystem }.randomElement(using: &rng) ?? c.phone
            let channel = FactBuilder.channel(for: handle, &rng)
            let at = now + Int64(round) * Milliseconds.day + Int64(n) * Milliseconds.minute + Int64.random(in: 0..<60_000, using: &rng)
            guard let i = try? Interaction(
                channel: channel, direction: .inbound, handle: handle, intent: .informationRequest,
                summary: FactBuilder.inboundTexts.randomElement(using: &rng) ?? "Halo"),
                let id = try? FactID(adapter: FactBuilder.adapter(for: channel), externalID: "c\(index)-r\(round)-m\(n)")
            else { continue }
            facts.append(Fact(id: id, observedAt: at, source: .channel, payload: .interaction(i)))
        }
        return facts
    }
}

/// Builds one customer's facts.
struct FactBuilder {
    let index: Int
    var rng: SplitMix64
    let now: Int64
    var facts: [Fact] = []
    var counter = 0

    init(index: Int, rng: SplitMix64, now: Int64) {
        self.index = index
        self.rng = rng
        self.now = now
    }

    static let inboundTexts = [
        "Halo kak, pesanan saya sudah sampai mana ya?", "Apakah barang ini masih ready stock?", "Mau tanya ongkir ke Bekasi berapa?",
        "Barang yang saya terima rusak, mohon dibantu.", "Kapan estimasi barang sampai di gudang?", "Bisa minta katalog terbaru?",
        "Saya mau order lagi untuk toko saya.", "Refund saya belum masuk, mohon dicek.", "Terima kasih, barang sudah diterima dengan baik.",
        "Apakah ada promo untuk pembelian grosir?", "Jumlah barang kurang dari pesanan saya.", "Bisa bayar DP 50% dulu?",
    ]
    static let outboundTexts = [
        "Baik kak, pesanan sedang dalam perjalanan dari China.", "Mohon maaf atas keterlambatannya, kami cek dulu ya.",
        "Barang sudah tiba di gudang Jakarta.", "Berikut katalog terbaru kami.", "Refund sudah kami proses hari ini.",
    ]

    static func adapter(for channel: Channel) -> String {
        switch channel {
        case .whatsApp: "whatsapp"
        case .instagram: "instagram"
        case .tiktok: "tiktok"
        case .facebookMessenger: "messenger"
        case .email: "email"
        case .phoneCall, .videoCall: "ivr"
        case .sms: "sms"
        case .webChat: "webchat"
        case .letter: "post"
        case .fax: "fax"
        case .inPerson: "service-centre"
        case .internalNote: "notes"
        }
    }

    static func channel(for handle: Handle, _ rng: inout SplitMix64) -> Channel {
        let options: [Channel] = switch handle.kind {
        case .phone: [.whatsApp, .whatsApp, .whatsApp, .phoneCall, .phoneCall, .sms, .videoCall, .fax]
        case .email: [.email, .email, .webChat, .letter]
        case .instagram: [.instagram]
        case .tiktok: [.tiktok]
        case .facebook: [.facebookMessenger]
        case .orderSystem: [.webChat, .inPerson, .internalNote]
        case .webChat: [.webChat]
        }
        return options.randomElement(using: &rng) ?? .whatsApp
    }

    private mutating func nextID(_ adapter: String) -> FactID? {
        counter += 1
        return try? FactID(adapter: adapter, externalID: "c\(index)-\(counter)")
    }

    private mutating func add(_ adapter: String, at: Int64, source: FactSource, _ payload: FactPayload) {
        guard let id = nextID(adapter) else { return }
        facts.append(Fact(id: id, observedAt: at, source: source, payload: payload))
    }

    /// The number written one of the ways Indonesians write it.
    static func writtenForms(prefix: String, rest: String) -> [String] {
        let a = String(rest.prefix(4)), b = String(rest.dropFirst(4))
        return [
            "0\(prefix)-\(a)-\(b)", "0\(prefix)\(rest)", "62\(prefix)\(rest)", "+62 \(prefix)-\(a)-\(b)", "+62 \(prefix) \(a) \(b)",
            "(+62) \(prefix) \(a) \(b)", "+62 (0)\(prefix) \(a)-\(b)", "0\(prefix) \(a) \(b)", "0062 \(prefix) \(rest)",
        ]
    }

    mutating func build(interactions: Int) -> GeneratedCustomer {
        let first = DatasetGenerator.firstNames.randomElement(using: &rng) ?? "Budi"
        let last = DatasetGenerator.lastNames.randomElement(using: &rng) ?? "Santoso"
        let city = DatasetGenerator.cities.randomElement(using: &rng) ?? "Jakarta Barat"
        let since = now - Int64.random(in: Milliseconds.days(30)...Milliseconds.days(3 * 365), using: &rng)

        let forms = DatasetGenerator.phoneWrittenForms(index)
        let written = forms.randomElement(using: &rng) ?? forms[0]
        guard let phone = try? Handle.phone(written) else { fatalError("generator made an invalid phone \(written)") }

        var handles = [phone]
        let slug = "\(first.lowercased()).\(last.lowercased())\(index)"
        if Int.random(in: 0..<10, using: &rng) < 7, let h = try? Handle.email("  \(first)\(index)@\(["gmail.com", "yahoo.co.id", "tokojaya.id"].randomElement(using: &rng) ?? "gmail.com")") { handles.append(h) }
        if Int.random(in: 0..<10, using: &rng) < 4, let h = try? Handle.instagram("@\(slug.prefix(30))") { handles.append(h) }
        if Int.random(in: 0..<10, using: &rng) < 2, let h = try? Handle.tiktok("@\(String(slug.prefix(20)))tt") { handles.append(h) }
        if Int.random(in: 0..<20, using: &rng) < 3, let h = try? Handle.facebook(String(("fb." + slug).prefix(50))) { handles.append(h) }
        let buyer = Int.random(in: 0..<10, using: &rng) < 8
        let oms = buyer ? try? Handle.orderSystem("C-\(100_000 + index)") : nil
        if let oms { handles.append(oms) }

        // How the business learned that the handles are one person.
        var t = since
        add("whatsapp", at: t, source: .channel, .fieldObservation(FieldObservation(handle: phone, field: .name, value: "\(first) \(last)")))
        for (n, handle) in handles.dropFirst().enumerated() {
            t += Int64(n + 1) * Milliseconds.hour
            guard let pair = try? HandlePair(phone, handle) else { continue }
            let (adapter, source): (String, FactSource) = switch handle.kind {
            case .email: ("whatsapp", .channel)  // "my e-mail is …" in a WhatsApp message
            case .orderSystem: ("oms", .orderSystem)
            default: ("agent", .agent)
            }
            add(adapter, at: t, source: source, .identityLink(pair))
        }
        add("agent", at: t + Milliseconds.hour, source: .agent, .fieldObservation(FieldObservation(handle: phone, field: .city, value: city)))
        if Int.random(in: 0..<10, using: &rng) < 4 {
            let company = DatasetGenerator.companies.randomElement(using: &rng) ?? "Toko Berkah"
            add("agent", at: t + 2 * Milliseconds.hour, source: .agent, .fieldObservation(FieldObservation(handle: phone, field: .company, value: company)))
        }

        // Orders, tracking, complaints and ratings.
        var orderNumbers: [OrderNumber] = []
        if let oms {
            for n in 0..<Int.random(in: 1...3, using: &rng) {
                guard let number = try? OrderNumber("ORD-\(index)-\(n + 1)") else { continue }
                let placed = since + Int64.random(in: 0...max(1, now - since - Milliseconds.days(5)), using: &rng)
                let estimate = placed + Milliseconds.days(Int64.random(in: 30...90, using: &rng))
                var items: [OrderItem] = []
                for product in DatasetGenerator.products.shuffled(using: &rng).prefix(Int.random(in: 1...4, using: &rng)) {
                    let quantity = Int64.random(in: 10...500, using: &rng)
                    if let item = try? OrderItem(sku: product.sku, name: product.name, quantity: quantity, unitPrice: product.price) { items.append(item) }
                }
                guard let record = try? OrderRecord(
                    orderNumber: number, customer: oms, items: items, placedAt: placed, estimatedDeliveryAt: estimate,
                    destinationCity: city, shippingFee: Int64.random(in: 0...150, using: &rng) * 1_000)
                else { continue }
                add("oms", at: placed, source: .orderSystem, .order(record))
                orderNumbers.append(number)
                var stageTime = placed
                let stages: [TrackingStage] = [.ordered, .paid, .shippedFromChina, .atCustoms, .arrivedInWarehouse, .delivered]
                for stage in stages {
                    stageTime += Milliseconds.days(Int64.random(in: 1...20, using: &rng))
                    if stageTime > now || Int.random(in: 0..<20, using: &rng) == 0 { break }
                    add("oms", at: stageTime, source: .orderSystem, .tracking(TrackingEvent(orderNumber: number, stage: stage)))
                }
                if Int.random(in: 0..<100, using: &rng) < 18 { addComplaint(number: number, customer: phone, items: items, at: placed + Milliseconds.days(35)) }
            }
        }

        // About `interactions` contacts across the handles' channels.
        let count = max(1, interactions + Int.random(in: -2...2, using: &rng))
        for _ in 0..<count {
            let handle = handles.randomElement(using: &rng) ?? phone
            let channel = Self.channel(for: handle, &rng)
            let outbound = Int.random(in: 0..<4, using: &rng) == 0
            let intent: InteractionIntent = [.informationRequest, .informationRequest, .order, .complaint, .feedback, .other]
                .randomElement(using: &rng) ?? .other
            let text = (outbound ? Self.outboundTexts : Self.inboundTexts).randomElement(using: &rng) ?? "Halo"
            let at = since + Int64.random(in: 0...max(1, now - since), using: &rng)
            let order = intent == .order || intent == .complaint ? orderNumbers.randomElement(using: &rng) : nil
            guard let interaction = try? Interaction(
                channel: channel, direction: outbound ? .outbound : .inbound, handle: handle, intent: intent, summary: text, orderNumber: order)
            else { continue }
            add(Self.adapter(for: channel), at: at, source: .channel, .interaction(interaction))
        }

        // Ratings follow the seed's table: 384 five, 77 four, 77 three, 38 two, 192 one out of 768.
        if Int.random(in: 0..<10, using: &rng) < 3 {
            let roll = Int.random(in: 0..<768, using: &rng)
            let stars = roll < 384 ? 5 : roll < 461 ? 4 : roll < 538 ? 3 : roll < 576 ? 2 : 1
            if let rating = try? Rating(handle: phone, stars: stars, comment: stars >= 4 ? "Pelayanan cepat, mantap" : "Pengiriman lama sekali",
                                        orderNumber: orderNumbers.first) {
                add("survey", at: now - Int64.random(in: 0...Milliseconds.days(300), using: &rng), source: .selfService, .rating(rating))
            }
        }
        return GeneratedCustomer(index: index, phone: phone, phoneAsWritten: written, handles: handles, facts: facts)
    }

    private mutating func addComplaint(number: OrderNumber, customer: Handle, items: [OrderItem], at opened: Int64) {
        guard opened < now, let id = try? ComplaintID("K-\(number.rawValue)"),
              let sales = try? Actor(role: .sales, id: "sari"), let afterSales = try? Actor(role: .afterSales, id: "andi"),
              let item = items.first
        else { return }
        let category = ComplaintCategory.allCases.randomElement(using: &rng) ?? .broken
        let summary = switch category {
        case .outOfStock: "Sebagian barang kosong dari supplier"
        case .lostAtCustoms: "Barang tertahan di bea cukai"
        case .broken: "Barang datang dalam keadaan rusak"
        case .customerReturn: "Pelanggan mengembalikan barang yang tidak sesuai"
        }
        guard let opening = try? ComplaintOpening(id: id, customer: customer, orderNumber: number, category: category, summary: summary, openedBy: sales)
        else { return }
        add("agent", at: opened, source: .agent, .complaintOpened(opening))
        func step(_ action: ComplaintAction, _ actor: Actor, _ at: Int64) -> Bool {
            guard at < now else { return false }
            add("agent", at: at, source: .agent, .complaintTransition(ComplaintStep(complaintID: id, action: action, actor: actor)))
            return true
        }
        var t = opened + Milliseconds.hours(Int64.random(in: 1...30, using: &rng))
        guard step(.startReview, afterSales, t) else { return }
        if category == .lostAtCustoms {
            t += Milliseconds.days(2)
            guard step(.askSupplier(note: "Cek ke supplier 1688 dan forwarder"), afterSales, t) else { return }
        }
        t += Milliseconds.days(Int64.random(in: 1...10, using: &rng))
        let missing = max(1, item.quantity / 10)
        let refund: Refund?
        if category == .customerReturn {
            let check = QualityCheck(outcome: .accepted, inspectedBy: "gudang", inspectedAt: t, notes: "Sesuai laporan")
            refund = (try? ReturnedItem(sku: item.sku, quantity: missing, paidUnitPrice: item.unitPrice))
                .flatMap { try? ReturnRecord(orderNumber: number, items: [$0], qualityCheck: check, localShippingCost: 25_000) }
                .flatMap { try? Compensation.compute(claims: [], returnRecord: $0) }
        } else {
            let claim = try? ClaimLine(
                sku: item.sku, name: item.name, orderedQuantity: item.quantity,
                receivedQuantity: category == .broken ? item.quantity : item.quantity - missing,
                brokenQuantity: category == .broken ? missing : 0, paidUnitPrice: item.unitPrice)
            refund = claim.flatMap { try? Compensation.compute(claims: [$0]) }
        }
        guard let refund, step(.decide(ComplaintDecision(refund: refund, note: "Refund disetujui")), afterSales, t) else { return }
        t += Milliseconds.hours(Int64.random(in: 1...48, using: &rng))
        guard step(.informCustomer, sales, t) else { return }
        t += Milliseconds.days(1)
        _ = step(.close, sales, t)
    }
}

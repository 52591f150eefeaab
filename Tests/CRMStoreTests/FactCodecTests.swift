import CRMDomain
import Testing
@testable import CRMStore

@Suite("Fact encoding")
struct FactCodecTests {
    static func samples() throws -> [Fact] {
        let p = try phone("0812-3456-7890"), e = try email("Budi@Example.co.id"), o = try oms("C-001")
        let returnRecord = try ReturnRecord(
            orderNumber: OrderNumber("ORD-1"), items: [ReturnedItem(sku: "SKU-1", quantity: 2, paidUnitPrice: 50_000)],
            qualityCheck: QualityCheck(outcome: .refused, inspectedBy: "gudang", inspectedAt: jan2024, notes: "rusak karena pemakaian"),
            localShippingCost: 25_000)
        let returnDecision = ComplaintDecision(
            refund: try Compensation.compute(
                claims: [ClaimLine(sku: "SKU-1", name: "Tas", orderedQuantity: 10, receivedQuantity: 9, brokenQuantity: 1, paidUnitPrice: 50_000, correctUnitPrice: 45_000)],
                returnRecord: returnRecord),
            note: "sebagian")
        return [
            try message("wa/1", from: p, on: .whatsApp, intent: .informationRequest, at: jan2024, summary: "Halo \"kak\"\n😀", order: "ORD-1"),
            try fact("ig/2", at: jan2024 - 5, .interaction(Interaction(
                channel: .letter, direction: .outbound, handle: e, intent: .complaint, summary: "", complaintID: ComplaintID("K-1")))),
            try link("l/1", p, e, at: jan2024),
            try unlink("u/1", p, o, at: -42),
            try observe("f/1", p, .name, "Budi Santoso", at: jan2024, source: .bulkImport),
            try observe("f/2", p, .city, "", at: jan2024),
            try order("o/1", "ORD-1", customer: o, items: [("SKU-1", 10, 50_000), ("SKU-2", 3, 0)], placedAt: jan2024),
            try track("t/1", "ORD-1", .atCustoms, at: jan2024 + day),
            try openComplaint("k/1", "K-1", customer: p, category: .customerReturn, at: jan2024 + 2 * day),
            try step("s/1", "K-1", .startReview, by: .afterSales, at: jan2024 + 3 * day),
            try step("s/2", "K-1", .askSupplier(note: "cek 1688"), by: .afterSales, at: jan2024 + 3 * day),
            try step("s/3", "K-1", .decide(returnDecision), by: .afterSales, at: jan2024 + 4 * day),
            try step("s/4", "K-1", .decide(decision(refunding: 10_000)), by: .supervisor, at: jan2024 + 4 * day),
            try step("s/5", "K-1", .reject(reason: "tidak terbukti"), by: .afterSales, at: jan2024 + 4 * day),
            try step("s/6", "K-1", .informCustomer, by: .sales, at: jan2024 + 5 * day),
            try step("s/7", "K-1", .close, by: .sales, at: jan2024 + 5 * day),
            try step("s/8", "K-1", .reopen(reason: "keberatan"), by: .sales, at: jan2024 + 6 * day),
            try fact("r/1", at: jan2024, .rating(Rating(handle: p, stars: 4, comment: "mantap", orderNumber: OrderNumber("ORD-1")))),
            try fact("n/1", at: Int64.max, source: .agent, .delayNoticeSent(DelayNoticeID(orderNumber: OrderNumber("ORD-1"), estimatedDeliveryAt: Int64.min))),
            // Fields version 2 added.
            try fact("wa/3", at: jan2024, .interaction(Interaction(
                channel: .email, direction: .inbound, handle: e, intent: .order, summary: "minta invoice", body: "Yth. CS,\nmohon invoice"))),
            try fact("o/2", at: jan2024, source: .orderSystem, .order(OrderRecord(
                orderNumber: OrderNumber("ORD-2"), customer: o, items: [OrderItem(sku: "SKU-1", name: "Tas", quantity: 2, unitPrice: 50_000)],
                placedAt: jan2024, estimatedDeliveryAt: nil, destinationCity: "Bogor", shippingFee: 20_000, serviceFee: 5_000,
                discount: 10_000, paid: 60_000))),
            try fact("t/2", at: jan2024 + day, .tracking(TrackingEvent(
                orderNumber: OrderNumber("ORD-2"), stage: .shippedFromChina, location: "Guangzhou", note: "container 7",
                revisedEstimate: jan2024 + 40 * day))),
            try fact("k/2", at: jan2024, source: .agent, .complaintOpened(ComplaintOpening(
                id: ComplaintID("K-2"), customer: p, orderNumber: OrderNumber("ORD-2"), category: .broken, summary: "pecah",
                openedBy: actor(.sales), items: [ClaimLine(sku: "SKU-1", name: "Tas", orderedQuantity: 2, receivedQuantity: 2, brokenQuantity: 1, paidUnitPrice: 50_000)]))),
            try step("s/9", "K-2", .decide(ComplaintDecision(
                refund: try Compensation.compute(claims: [], goodwill: [GoodwillAdjustment(amount: 25_000, reason: "maaf")]), note: "")),
                by: .afterSales, at: jan2024 + day),
            try fact("r/2", at: jan2024, .rating(Rating(handle: nil, stars: 2, comment: "ulasan Google"))),
            try fact("qc/1", at: jan2024 + day, source: .agent, .returnInspection(ReturnInspection(
                complaintID: ComplaintID("K-2"), orderNumber: OrderNumber("ORD-2"), verdict: .partial,
                items: [InspectedItem(sku: "SKU-1", returned: 2, accepted: 1, finding: "satu tergores"), InspectedItem(sku: "SKU-2", returned: 1, accepted: 0)],
                localShippingCost: 15_000, receivedAt: nil, inspectedBy: "gudang", notes: ""))),
            // Fields version 3 added.
            try fact("o/3", at: jan2024, source: .orderSystem, .order(OrderRecord(
                orderNumber: OrderNumber("ORD-3"), customer: o, items: [OrderItem(sku: "SKU-1", name: "Tas", quantity: 1, unitPrice: 50_000)],
                placedAt: jan2024, estimatedDeliveryAt: nil, destinationCity: "Kota Bekasi",
                delivery: DeliveryDetails(recipient: "Budi", phone: "0812-3456-7890", addressLine: "Jl. Melati 5", area: "Bekasi Barat",
                    province: "Jawa Barat", postalCode: "17134")))),
            try fact("r/3", at: jan2024, .rating(Rating(
                handle: p, stars: 5, comment: "cepat", source: .postContactSurvey, channel: .whatsApp, complaintID: ComplaintID("K-2")))),
            try fact("r/4", at: jan2024, .rating(Rating(handle: nil, stars: 1, comment: "", source: .googleReview))),
        ]
    }

    @Test("every payload kind round-trips through the encoding unchanged")
    func roundTrip() throws {
        for fact in try Self.samples() {
            let bytes = try FactCodec.encode(fact.payload)
            let decoded = try bytes.withUnsafeBytes { raw in
                try FactCodec.decodeFact(id: fact.id.rawValue, observedAt: fact.observedAt, sourceCode: fact.source.storageCode(), bytes: raw)
            }
            #expect(decoded == fact)
            #expect(decoded.canonicalDescription == fact.canonicalDescription)
            // Canonical: encoding the decoded fact gives the same bytes.
            #expect(try FactCodec.encode(decoded.payload) == bytes)
        }
    }

    /// Payloads written by version 1 of the encoding (before interaction bodies, optional estimates, order fees,
    /// tracking details, opening items and anonymous ratings), as stored in existing databases.
    static let version1: [(kind: String, hex: String)] = [
        ("order", "0105054f52442d310505432d3030310105534b552d310354617314a08d0680d08fa5986380e8da9e9f63074a616b61727461b0ea01"),
        ("tracking", "0106054f52442d3103"),
        ("opened", "0107034b2d31000e2b36323831323334353637383930054f52442d31020570656361680003616e69"),
        ("decide", "0108034b2d3101046275646902026f6b010105534b552d31010490bf050f534b552d313a20322062726f6b656e00"),
        ("rating", "0109000e2b3632383132333435363738393004066d616e74617000"),
        ("interaction", "01010000000e2b36323831323334353637383930040468616c6f0000"),
    ]

    /// An order and a rating as version 2 of the encoding wrote them (before delivery details and rating sources).
    static let version2: [(kind: String, hex: String)] = [
        ("order", "0205054f52442d310505432d3030310105534b552d310354617314a08d0680d08fa5986380e8da9e9f63074a616b61727461b0ea0101000000"),
        ("rating", "020901000e2b3632383132333435363738393004066d616e74617000"),
    ]

    @Test("facts written by version 2 of the encoding still decode, without delivery details or rating sources")
    func decodesVersion2() throws {
        func decode(_ kind: String) throws -> FactPayload {
            let hex = try #require(Self.version2.first(where: { $0.kind == kind })?.hex)
            let bytes = try stride(from: 0, to: hex.count, by: 2).map { i in
                let start = hex.index(hex.startIndex, offsetBy: i)
                return try #require(UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16))
            }
            #expect(bytes.first == 2, "a version-2 encoding")
            return try bytes.withUnsafeBytes { try FactCodec.decodePayload($0) }
        }
        guard case let .order(o) = try decode("order") else { Issue.record("not an order"); return }
        #expect(o.orderNumber == (try OrderNumber("ORD-1")) && o.destinationCity == "Jakarta" && o.estimatedDeliveryAt == 1_705_000_000_000)
        #expect(o.delivery == DeliveryDetails())
        guard case let .rating(r) = try decode("rating") else { Issue.record("not a rating"); return }
        #expect(r == (try Rating(handle: try phone("+6281234567890"), stars: 4, comment: "mantap")))
        #expect(r.source == nil && r.channel == nil && r.complaintID == nil)
        for (kind, _) in Self.version2 {
            let bytes = try FactCodec.encode(try decode(kind))
            #expect(bytes.first == FactCodec.version)
            #expect(try bytes.withUnsafeBytes { try FactCodec.decodePayload($0) } == (try decode(kind)))
        }
    }

    @Test("facts written by version 1 of the encoding still decode, with the fields added since empty")
    func decodesVersion1() throws {
        func decode(_ kind: String) throws -> FactPayload {
            let recorded = Self.version1.first(where: { $0.kind == kind })?.hex
            let hex = try #require(recorded)
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                bytes.append(try #require(UInt8(hex[index..<next], radix: 16)))
                index = next
            }
            #expect(bytes.first == 1, "a version-1 encoding")
            return try bytes.withUnsafeBytes { try FactCodec.decodePayload($0) }
        }
        let p = try phone("+6281234567890"), ord1 = try OrderNumber("ORD-1"), omsC001 = try oms("C-001")
        let k1 = try ComplaintID("K-1"), ani = try actor(.sales, "ani"), budi = try actor(.afterSales, "budi")
        guard case let .order(o) = try decode("order") else { Issue.record("not an order"); return }
        #expect(o.orderNumber == ord1 && o.customer == omsC001)
        #expect(o.items == [try OrderItem(sku: "SKU-1", name: "Tas", quantity: 10, unitPrice: 50_000)])
        #expect(o.placedAt == 1_704_067_200_000 && o.estimatedDeliveryAt == 1_705_000_000_000)
        #expect(o.destinationCity == "Jakarta" && o.shippingFee == 15_000 && o.total == 515_000)
        #expect(o.serviceFee == 0 && o.discount == 0 && o.paid == 0 && o.outstanding == 515_000)

        guard case let .tracking(t) = try decode("tracking") else { Issue.record("not a tracking event"); return }
        #expect(t == TrackingEvent(orderNumber: try OrderNumber("ORD-1"), stage: .atCustoms))
        #expect(t.location.isEmpty && t.note.isEmpty && t.revisedEstimate == nil)

        guard case let .complaintOpened(c) = try decode("opened") else { Issue.record("not an opening"); return }
        #expect(c.id == k1 && c.customer == p && c.category == .broken && c.summary == "pecah")
        #expect(c.openedBy == ani && c.items.isEmpty)

        guard case let .complaintTransition(s) = try decode("decide"), case let .decide(d) = s.action else {
            Issue.record("not a decision"); return
        }
        #expect(s.actor == budi && d.note == "ok" && d.refund.total == 90_000)
        #expect(d.refund.lines.map(\.reason) == [.broken] && d.refund.lines.first?.explanation == "SKU-1: 2 broken")

        guard case let .rating(r) = try decode("rating") else { Issue.record("not a rating"); return }
        #expect(r == (try Rating(handle: p, stars: 4, comment: "mantap")))

        guard case let .interaction(i) = try decode("interaction") else { Issue.record("not an interaction"); return }
        #expect(i.handle == p && i.channel == .whatsApp && i.direction == .inbound && i.intent == .other)
        #expect(i.summary == "halo" && i.body.isEmpty && i.orderNumber == nil && i.complaintID == nil)

        // Read back and written again, a version-1 fact takes the current version's layout.
        for (kind, _) in Self.version1 {
            let bytes = try FactCodec.encode(try decode(kind))
            #expect(bytes.first == FactCodec.version)
            #expect(try bytes.withUnsafeBytes { try FactCodec.decodePayload($0) } == (try decode(kind)))
        }
    }

    @Test("every case of every stored enum has a storage code")
    func everyCaseHasACode() throws {
        func check<T: StorageCoded & CaseIterable>(_: T.Type) throws {
            #expect(Set(T.codes).count == T.codes.count, "duplicate code in \(T.storageName)")
            for value in T.allCases { _ = try value.storageCode() }
        }
        try check(HandleKind.self); try check(FactSource.self); try check(Channel.self); try check(Direction.self)
        try check(InteractionIntent.self); try check(ProfileField.self); try check(TrackingStage.self)
        try check(ComplaintCategory.self); try check(ComplaintState.self); try check(ActorRole.self)
        try check(QualityOutcome.self); try check(RefundReason.self); try check(InspectionVerdict.self); try check(RatingSource.self)
    }

    @Test("truncated, padded or unknown bytes are refused with a reason, never a crash")
    func damagedBytes() throws {
        for fact in try Self.samples() {
            let bytes = try FactCodec.encode(fact.payload)
            for cut in 0..<bytes.count {
                #expect(throws: FactDecodingError.self) { try Array(bytes.prefix(cut)).withUnsafeBytes { try FactCodec.decodePayload($0) } }
            }
            #expect(throws: FactDecodingError.self) { try (bytes + [0]).withUnsafeBytes { try FactCodec.decodePayload($0) } }
        }
        #expect(throws: FactDecodingError.unsupportedVersion(9)) { try [UInt8]([9, 1]).withUnsafeBytes { try FactCodec.decodePayload($0) } }
        #expect(throws: FactDecodingError.unknownCode("FactKind", 77)) { try [UInt8]([1, 77]).withUnsafeBytes { try FactCodec.decodePayload($0) } }
    }
}

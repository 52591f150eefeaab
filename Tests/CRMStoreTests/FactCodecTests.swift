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

    @Test("every case of every stored enum has a storage code")
    func everyCaseHasACode() throws {
        func check<T: StorageCoded & CaseIterable>(_: T.Type) throws {
            #expect(Set(T.codes).count == T.codes.count, "duplicate code in \(T.storageName)")
            for value in T.allCases { _ = try value.storageCode() }
        }
        try check(HandleKind.self); try check(FactSource.self); try check(Channel.self); try check(Direction.self)
        try check(InteractionIntent.self); try check(ProfileField.self); try check(TrackingStage.self)
        try check(ComplaintCategory.self); try check(ComplaintState.self); try check(ActorRole.self)
        try check(QualityOutcome.self); try check(RefundReason.self)
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

import CRMMessages

/// The messages the benchmark encodes and decodes: one interaction as an adapter pushes
/// it, and a full customer profile as an agent's screen loads it.
enum Samples {
    static func interaction(_ i: Int) -> Interaction {
        Interaction(
            interactionID: "ix-\(100_000 + i)",
            key: IdempotencyKey(adapterID: "whatsapp-gateway-1", externalID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjA\(i)"),
            channel: .whatsapp,
            direction: .inbound,
            handle: Handle(kind: .whatsapp, value: "+6281234567\(i % 1000)"),
            customerID: "cus-7f3a9c",
            occurredMs: 1_732_000_000_000 + Int64(i) * 60_000,
            subject: "",
            body: "Halo kak, pesanan saya PO-2024-0\(i) belum sampai, sudah lewat estimasi. Mohon dicek ya, terima kasih.",
            summary: "Order past its estimate; asks for status",
            intent: .complaint,
            orderNumber: StringValue(value: "PO-2024-0\(i)"),
            author: ActorRef(role: .adapter, name: "whatsapp-gateway-1"),
            statedHandles: [Handle(kind: .email, value: "budi.santoso@example.co.id")]
        )
    }

    static func identity(_ i: Int) -> Identity {
        let isPhone = i % 2 == 0
        let handle = isPhone
            ? Handle(kind: .phone, value: "+62812345\(10_000 + i)")
            : Handle(kind: .email, value: "budi\(i)@example.co.id")
        let raw = isPhone ? "0812-345-\(10_000 + i)" : "Budi\(i)@Example.co.id"
        let first: Int64 = 1_650_000_000_000 + Int64(i) * 86_400_000
        let last: Int64 = 1_732_000_000_000 - Int64(i) * 3_600_000
        return Identity(handle: handle, rawValue: raw, firstSeenMs: first, lastSeenMs: last, channels: [.whatsapp, .phoneCall])
    }

    /// A profile with 50 identities and 200 timeline entries.
    static func profile() -> CustomerProfile {
        var counters = ProfileCounters()
        counters.interactionsTotal = 200
        counters.ordersTotal = 31
        counters.spendTotalRupiah = 245_500_000
        counters.complaintsTotal = 4
        counters.complaintsLast90Days = 1
        counters.complaintsOpen = 1
        counters.infoRequestsTotal = 12
        counters.infoRequestsLast90Days = 3
        var profile = CustomerProfile()
        profile.customerID = "cus-7f3a9c"
        profile.displayName = "Budi Santoso"
        profile.tier = .gold
        profile.customerSinceMs = 1_650_000_000_000
        profile.tenureDays = 950
        profile.counters = counters
        profile.identities = (0..<50).map(identity)
        profile.recentInteractions = (0..<200).map(interaction)
        profile.asOfMs = 1_732_100_000_000
        return profile
    }
}

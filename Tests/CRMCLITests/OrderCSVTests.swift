import CRMCommandLine
import CRMMessages
import CRMWire
import Testing

@testable import crm

@Suite struct OrderCSVTests {
    static let header = "order_number,customer,placed,sku,item_name,quantity,unit_price,shipping,paid,city,contacts"

    func parse(_ body: String) throws -> OrderCSV.Result {
        try OrderCSV.parse(Self.header + "\n" + body, adapterID: "test", nowMs: 0)
    }

    @Test func rowsOfOneOrderMakeOneOrder() throws {
        let result = try parse("""
            SO-1,oms:C-1,2024-05-01,MUG-01,Mug,10,45.000,20000,100000,Kota Bekasi,phone:0812-3456-789;email:a@b.c
            SO-1,oms:C-1,2024-05-01,PLATE-02,Plate,2,30000,,,,
            SO-2,phone:0812-1,2024-05-02,CUP-03,,1,15000,,,,

            """)
        #expect(result.errors == [])
        #expect(result.rowCount == 3)
        #expect(result.orders.count == 2)
        let first = try #require(result.orders.first)
        #expect(first.rowNumber == 1)
        #expect(first.line == 2)
        #expect(first.lines == [2, 3])
        let order = first.order
        #expect(order.orderNumber == "SO-1")
        #expect(order.customerHandle == Handle(kind: .orderSystemID, value: "C-1"))
        #expect(order.contactHandles == [Handle(kind: .phone, value: "0812-3456-789"), Handle(kind: .email, value: "a@b.c")])
        #expect(order.items.map(\.sku) == ["MUG-01", "PLATE-02"])
        #expect(order.items.map(\.lineTotalRupiah) == [450_000, 60_000])
        #expect(order.totals?.itemsSubtotalRupiah == 510_000)
        #expect(order.totals?.totalRupiah == 530_000)
        #expect(order.totals?.outstandingRupiah == 430_000)
        #expect(order.deliveryAddress?.city == "Kota Bekasi")
        #expect(order.placedMs == 1_714_496_400_000)
        #expect(result.orders[1].line == 4)
    }

    /// Each amount fits in 64 bits but their sum does not: the order is refused with its line, never wrapped around
    /// (the order-csv fuzz target's property; the sum used to trap).
    @Test func amountsThatAddUpPastTheLargestAreRefusedByLine() throws {
        let result = try parse("""
            SO-1,oms:C-1,2024-05-01,MUG-01,Mug,1,9223372036854775807,,,,
            SO-1,oms:C-1,2024-05-01,MUG-02,Mug,1,1,,,,
            SO-2,oms:C-2,2024-05-01,MUG-01,Mug,1,9223372036854775807,1,,,
            SO-3,oms:C-3,2024-05-01,MUG-01,Mug,1,9223372036854775807,,,,
            """)
        #expect(result.orders.map(\.order.orderNumber) == ["SO-3"])
        #expect(result.errors.map(\.line) == [2, 4])
        #expect(result.errors.allSatisfy { $0.message.contains("add up to more than") })
        #expect(result.orders[0].order.totals?.totalRupiah == Int64.max)
    }

    @Test func badRowsAreReportedByLineAndTheRestKept() throws {
        let result = try parse("""
            SO-1,oms:C-1,2024-05-01,MUG-01,Mug,10,45000,,,,
            SO-2,0812-1,2024-05-02,CUP-03,,1,15000,,,,
            SO-3,oms:C-3,2024-13-02,CUP-03,,1,15000,,,,
            SO-4,oms:C-4,2024-05-02,CUP-03,,zero,15000,,,,
            SO-5,oms:C-5,2024-05-02,CUP-03,,1,15k,,,,
            ,oms:C-6,2024-05-02,CUP-03,,1,15000,,,,
            SO-7,oms:C-7,2024-05-02,CUP-03,,1,15000,,,,
            """)
        #expect(result.orders.map(\.order.orderNumber) == ["SO-1", "SO-7"])
        #expect(result.errors.map(\.line) == [3, 4, 5, 6, 7])
        #expect(result.errors[0].message.contains("kind:value"))
        #expect(result.errors[1].message.contains("YYYY-MM-DD"))
        #expect(result.errors[2].message.contains("quantity"))
        #expect(result.errors[3].message.contains("unit_price"))
        #expect(result.errors[4].message.contains("order_number is empty"))
        // Rows are numbered among the orders sent, so results map back to lines.
        #expect(result.orders.map(\.rowNumber) == [1, 2])
        #expect(result.orders.map(\.line) == [2, 8])
    }

    @Test func oneBadRowHoldsBackItsWholeOrder() throws {
        let result = try parse("""
            SO-1,oms:C-1,2024-05-01,MUG-01,Mug,10,45000,,,,
            SO-1,oms:C-1,2024-05-01,,Plate,2,30000,,,,
            """)
        #expect(result.orders.isEmpty)
        #expect(result.errors.map(\.line) == [2, 3])
        #expect(result.errors.first { $0.line == 3 }?.message == "sku is empty")
        #expect(result.errors.first { $0.line == 2 }?.message.contains("another row of order SO-1") == true)
    }

    @Test func quotedNewlinesKeepLineNumbersRight() throws {
        let result = try parse("""
            SO-1,oms:C-1,2024-05-01,MUG-01,"Mug,
            big",10,45000,,,,
            SO-2,oms:C-2,2024-05-01,MUG-01,Mug,-1,45000,,,,
            """)
        #expect(result.orders.first?.order.items.first?.name == "Mug,\nbig")
        #expect(result.errors.map(\.line) == [4])
    }

    @Test func windowsLineEndingsAndBlankLines() throws {
        let text = Self.header + "\r\nSO-1,oms:C-1,2024-05-01,MUG-01,Mug,1,45000,,,,\r\n\r\nSO-2,oms:C-2,2024-05-01,MUG-01,Mug,x,45000,,,,\r\n"
        let result = try OrderCSV.parse(text, adapterID: "test", nowMs: 0)
        #expect(result.orders.count == 1)
        #expect(result.errors.map(\.line) == [4])
    }

    @Test func theHeaderIsChecked() {
        #expect(throws: OrderCSV.FileError.self) { try OrderCSV.parse("order_number,customer\nSO-1,oms:C-1\n", adapterID: "t", nowMs: 0) }
        #expect(throws: OrderCSV.FileError.self) { try OrderCSV.parse("", adapterID: "t", nowMs: 0) }
        do {
            _ = try OrderCSV.parse(Self.header + ",colour\n", adapterID: "t", nowMs: 0)
            Issue.record("an unknown column was accepted")
        } catch {
            #expect("\(error)".contains("colour"))
        }
        // Names are case-insensitive and may use spaces or dashes.
        #expect(throws: Never.self) {
            try OrderCSV.parse("Order Number,CUSTOMER,placed,SKU,quantity,unit-price\nSO-1,oms:C-1,2024-05-01,A,1,1\n", adapterID: "t", nowMs: 0)
        }
    }

    @Test func keysAreStableForTheSameRowsAndChangeWithThem() throws {
        let a = try parse("SO-1,oms:C-1,2024-05-01,MUG-01,Mug,10,45000,,,,\n")
        let b = try parse("SO-1,oms:C-1,2024-05-01,MUG-01,Mug,10,45000,,,,\n")
        let c = try parse("SO-1,oms:C-1,2024-05-01,MUG-01,Mug,11,45000,,,,\n")
        #expect(a.orders[0].key == b.orders[0].key)
        #expect(a.orders[0].key != c.orders[0].key)
        #expect(a.orders[0].key.adapterID == "test")
        #expect(a.orders[0].key.externalID.hasPrefix("SO-1#"))
    }
}

@Suite struct OrderCSVShapeTests {
    func parse(_ text: String) throws -> OrderCSV.Result { try OrderCSV.parse(text, adapterID: "test", nowMs: 0) }

    @Test func aRowMissingRequiredColumnsNamesThem() throws {
        let result = try parse("""
            order_number,customer,placed,sku,quantity,unit_price,city
            SO-1,oms:C-1,2024-05-01,MUG-01
            SO-2,oms:C-2,2024-05-01,MUG-01,1,45000
            SO-3,oms:C-3,2024-05-01,MUG-01,1,45000,Bogor
            SO-3,oms:C-3,2024-05-01,CUP-01,1

            """)
        #expect(result.orders.map(\.order.orderNumber) == ["SO-2"], "a row may leave out trailing optional columns")
        let missing = try #require(result.errors.first { $0.line == 2 })
        #expect(missing.message.contains("4 of the header's 7 columns, so quantity, unit_price are missing"), "\(missing.message)")
        #expect(result.errors.contains { $0.line == 5 && $0.message.contains("unit_price is missing") }, "\(result.errors)")
        #expect(result.errors.contains { $0.line == 4 && $0.message.contains("another row of order SO-3") }, "the order's other rows wait: \(result.errors)")
    }

    @Test func aRowWithMoreValuesThanColumnsSaysToQuote() throws {
        let result = try parse("""
            order_number,customer,placed,sku,quantity,unit_price,city
            SO-1,oms:C-1,2024-05-01,MUG-01,1,45000,Jl. Melati 5, Bekasi

            """)
        #expect(result.orders.isEmpty)
        #expect(result.errors.first?.message.contains("8 values but the header names 7 columns; put a value that holds a comma in double quotes") == true, "\(result.errors)")
    }
}

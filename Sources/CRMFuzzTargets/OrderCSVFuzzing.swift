import CRMCommandLine
import CRMMessages
import CRMWire

/// The order CSV that `crm order import` reads: any text gives orders and per-line errors, or one `FileError` for the
/// whole file. Every order it gives must be one the server would take as imported: at least one line, each line's
/// total its quantity times its unit price, the order's totals adding up, a key that the same text gives again, and a
/// message that encodes; every error names a line of the file.
enum OrderCSVFuzzing {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        let text = FuzzInput(bytes).restAsText
        let result: OrderCSV.Result
        do {
            result = try OrderCSV.parse(text, adapterID: "fuzz", nowMs: 1_700_000_000_000)
        } catch is OrderCSV.FileError {
            return
        } catch {
            preconditionFailure("an order CSV was refused without a FileError: \(error)")
        }
        // Lines counted as the file has them: a quoted cell may hold line breaks of its own.
        let lines = text.reduce(1) { $0 + ($1.isNewline ? 1 : 0) }
        for error in result.errors {
            precondition((2...lines).contains(error.line), "an error names line \(error.line) of a file of \(lines) lines")
        }
        precondition(result.errors.map(\.line) == result.errors.map(\.line).sorted(), "errors are not in the order of their lines")
        for parsed in result.orders {
            let order = parsed.order
            precondition(!order.items.isEmpty, "order \(order.orderNumber) has no lines")
            precondition((2...lines).contains(parsed.line), "order \(order.orderNumber) is on line \(parsed.line) of \(lines)")
            for item in order.items {
                precondition(item.quantity >= 1 && item.unitPriceRupiah >= 0, "a line of \(order.orderNumber) is negative")
                precondition(item.lineTotalRupiah == item.quantity * item.unitPriceRupiah, "a line total of \(order.orderNumber) is wrong")
            }
            let totals = order.totals ?? OrderTotals()
            precondition(
                totals.itemsSubtotalRupiah == order.items.reduce(0) { $0 &+ $1.lineTotalRupiah },
                "the subtotal of \(order.orderNumber) is not the sum of its lines")
            precondition(
                totals.outstandingRupiah == totals.totalRupiah &- totals.paidRupiah, "what \(order.orderNumber) owes does not add up")
            do {
                _ = try ImportOrdersRequest(rowNumber: parsed.rowNumber, key: parsed.key, order: order).wireBytes()
            } catch {
                preconditionFailure("order \(order.orderNumber) from the CSV does not encode: \(error)")
            }
        }
        let again = try? OrderCSV.parse(text, adapterID: "fuzz", nowMs: 1_700_000_000_000)
        precondition(again?.orders.map(\.key) == result.orders.map(\.key), "the same text gave other idempotency keys")
    }
}

package import CRMMessages
import CRMWire
import Foundation

/// The CSV that `crm order import` reads: a header row, then one row per order line. Rows with
/// the same `order_number` make one order; the order's own columns are read from its first row.
///
/// Required columns: `order_number`, `customer` (kind:value, e.g. `oms:C-1001`), `placed`
/// (YYYY-MM-DD), `sku`, `quantity`, `unit_price` (whole rupiah).
/// Optional columns: `item_name`, `supplier` (alibaba-1688, taobao, tmall, other), `supplier_url`,
/// `shipping`, `service_fee`, `discount`, `paid` (rupiah), `payment_plan` (full-payment,
/// instalment-50), `estimated_delivery` (YYYY-MM-DD), `contacts` (more handles, `;`-separated),
/// `recipient`, `phone`, `address`, `area`, `city`, `province`, `postal_code`.
/// Header names are case-insensitive; spaces and dashes count as underscores.
package enum OrderCSV {
    package static let required = ["order_number", "customer", "placed", "sku", "quantity", "unit_price"]
    package static let optional = [
        "item_name", "supplier", "supplier_url", "shipping", "service_fee", "discount", "paid", "payment_plan",
        "estimated_delivery", "contacts", "recipient", "phone", "address", "area", "city", "province", "postal_code",
    ]

    /// A row the file could not be read into an order line, by its line in the file.
    package struct RowError: Error, Equatable, Encodable {
        package var line: Int
        package var orderNumber: String
        package var message: String
    }

    /// One order assembled from its rows.
    package struct ParsedOrder {
        /// The order's number among the orders of the file (1-based), sent as `row_number`.
        package var rowNumber: UInt64
        /// The line in the file of its first row.
        package var line: Int
        /// Every line of the file its rows are on.
        package var lines: [Int]
        package var order: Order
        package var key: IdempotencyKey
    }

    package struct Result {
        package var orders: [ParsedOrder]
        package var errors: [RowError]
        /// Data rows read (blank lines aside).
        package var rowCount: Int
    }

    /// The file's problem that stops the whole import.
    package typealias FileError = CSVTable.FileError

    package static func normalise(_ header: String) -> String { CSVTable.normalise(header) }

    /// Reads `text`: every order whose rows are all valid, and an error per bad row (with its
    /// line number) for the rest. `adapterID` and the row content make each order's idempotency
    /// key, so importing the same file twice stores nothing new.
    package static func parse(_ text: String, adapterID: String, nowMs: Int64) throws -> Result {
        let table = try CSVTable(text, required: required, optional: optional)
        let index = table.index
        var errors: [RowError] = []
        var groups: [(number: String, rows: [(line: Int, cells: [String])])] = []
        var groupIndex: [String: Int] = [:]
        for row in table.rows {
            let number = row.cells[safeIndex: index["order_number"]!].trimmingCharacters(in: .whitespaces)
            guard !number.isEmpty else {
                errors.append(RowError(line: row.line, orderNumber: "", message: "order_number is empty"))
                continue
            }
            if let g = groupIndex[number] {
                groups[g].rows.append(row)
            } else {
                groupIndex[number] = groups.count
                groups.append((number, [row]))
            }
        }

        var orders: [ParsedOrder] = []
        for group in groups {
            var rowErrors: [RowError] = []
            var order = Order()
            order.orderNumber = group.number
            for (position, row) in group.rows.enumerated() {
                func cell(_ name: String) -> String {
                    guard let i = index[name] else { return "" }
                    return row.cells[safeIndex: i].trimmingCharacters(in: .whitespaces)
                }
                if let problem = table.shapeProblem(cells: row.cells.count) {
                    rowErrors.append(RowError(line: row.line, orderNumber: group.number, message: problem))
                    continue
                }
                do {
                    if position == 0 { try readOrderColumns(into: &order, cell: cell) }
                    order.items.append(try readItem(cell: cell))
                } catch let error as CellError {
                    rowErrors.append(RowError(line: row.line, orderNumber: group.number, message: error.message))
                }
            }
            if !rowErrors.isEmpty {
                errors += rowErrors
                let others = group.rows.map(\.line).filter { l in !rowErrors.contains { $0.line == l } }
                if !others.isEmpty {
                    errors.append(RowError(line: others[0], orderNumber: group.number,
                        message: "not imported because another row of order \(group.number) is invalid (line \(rowErrors.map { String($0.line) }.joined(separator: ", ")))"))
                }
                continue
            }
            do {
                try finishTotals(&order, nowMs: nowMs)
            } catch let error as CellError {
                errors.append(RowError(line: group.rows[0].line, orderNumber: group.number, message: error.message))
                continue
            }
            let key = IdempotencyKey(adapterID: adapterID, externalID: "\(group.number)#\(fingerprint(group.rows.map(\.cells)))")
            orders.append(ParsedOrder(rowNumber: UInt64(orders.count + 1), line: group.rows[0].line,
                lines: group.rows.map(\.line), order: order, key: key))
        }
        errors.sort { $0.line < $1.line }
        return Result(orders: orders, errors: errors, rowCount: table.rows.count)
    }

    private struct CellError: Error {
        package var message: String
    }

    private static func readOrderColumns(into order: inout Order, cell: (String) -> String) throws {
        let customer = cell("customer")
        guard !customer.isEmpty else { throw CellError(message: "customer is empty; write a handle such as oms:C-1001 or phone:0812-3456-789") }
        do {
            order.customerHandle = try HandleSyntax.handle(customer)
        } catch let error as CustomStringConvertible {
            throw CellError(message: "customer: \(error.description)")
        }
        order.placedMs = try date(cell("placed"), column: "placed", required: true)!
        order.revisionMs = order.placedMs
        if let estimate = try date(cell("estimated_delivery"), column: "estimated_delivery", required: false) {
            order.estimatedDeliveryMs = Int64Value(value: estimate)
        }
        for contact in cell("contacts").split(separator: ";") where !contact.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                order.contactHandles.append(try HandleSyntax.handle(contact.trimmingCharacters(in: .whitespaces)))
            } catch let error as CustomStringConvertible {
                throw CellError(message: "contacts: \(error.description)")
            }
        }
        var totals = OrderTotals()
        totals.shippingRupiah = try money(cell("shipping"), column: "shipping") ?? 0
        totals.serviceFeeRupiah = try money(cell("service_fee"), column: "service_fee") ?? 0
        totals.discountRupiah = try money(cell("discount"), column: "discount") ?? 0
        totals.paidRupiah = try money(cell("paid"), column: "paid") ?? 0
        order.totals = totals
        let plan = cell("payment_plan")
        if !plan.isEmpty {
            guard let kind = EnumArgument<PaymentPlanKind>(argument: plan)?.value else {
                throw CellError(message: "payment_plan '\(plan)' is not one of \(EnumArgument<PaymentPlanKind>.allValueStrings.joined(separator: ", "))")
            }
            order.paymentPlan = PaymentPlan(kind: kind)
        }
        let address = DeliveryAddress(
            recipientName: cell("recipient"), phone: cell("phone"), addressLine: cell("address"), area: cell("area"),
            city: cell("city"), province: cell("province"), postalCode: cell("postal_code"))
        if address != DeliveryAddress() { order.deliveryAddress = address }
    }

    private static func readItem(cell: (String) -> String) throws -> OrderItem {
        var item = OrderItem()
        item.sku = cell("sku")
        guard !item.sku.isEmpty else { throw CellError(message: "sku is empty") }
        item.name = cell("item_name")
        let quantity = cell("quantity")
        guard let q = Int64(quantity), q >= 1 else {
            throw CellError(message: "quantity '\(quantity)' is not a whole number of at least 1")
        }
        item.quantity = q
        guard let price = try money(cell("unit_price"), column: "unit_price") else {
            throw CellError(message: "unit_price is empty; write whole rupiah such as 45000")
        }
        item.unitPriceRupiah = price
        let (total, overflow) = q.multipliedReportingOverflow(by: price)
        guard !overflow else { throw CellError(message: "quantity × unit_price is too large") }
        item.lineTotalRupiah = total
        let supplier = cell("supplier")
        if !supplier.isEmpty {
            guard let platform = EnumArgument<SupplierPlatform>(argument: supplier)?.value else {
                throw CellError(message: "supplier '\(supplier)' is not one of \(EnumArgument<SupplierPlatform>.allValueStrings.joined(separator: ", "))")
            }
            item.supplierPlatform = platform
        }
        item.supplierListingUrl = cell("supplier_url")
        return item
    }

    private static func finishTotals(_ order: inout Order, nowMs: Int64) throws {
        var totals = order.totals ?? OrderTotals()
        // Every amount is at least 0 and fits in 64 bits, but a sum need not: such an order is refused, not wrapped.
        let tooLarge = CellError(message: "the order's amounts add up to more than Rp 9,223,372,036,854,775,807; check the prices and quantities")
        var subtotal: Int64 = 0
        for item in order.items {
            let (next, overflow) = subtotal.addingReportingOverflow(item.lineTotalRupiah)
            guard !overflow else { throw tooLarge }
            subtotal = next
        }
        let (withShipping, overShipping) = subtotal.addingReportingOverflow(totals.shippingRupiah)
        let (withFee, overFee) = withShipping.addingReportingOverflow(totals.serviceFeeRupiah)
        let total = withFee - totals.discountRupiah
        let (outstanding, overOutstanding) = total.subtractingReportingOverflow(totals.paidRupiah)
        guard !overShipping, !overFee, !overOutstanding else { throw tooLarge }
        totals.itemsSubtotalRupiah = subtotal
        totals.totalRupiah = total
        totals.outstandingRupiah = outstanding
        order.totals = totals
        if order.paymentPlan == nil { order.paymentPlan = PaymentPlan(kind: .fullPayment) }
        // A re-import of changed rows is a newer revision: it must win over the earlier one.
        order.revisionMs = max(order.revisionMs, nowMs)
    }

    private static func date(_ text: String, column: String, required: Bool) throws -> Int64? {
        if text.isEmpty {
            if required { throw CellError(message: "\(column) is empty; write the day as YYYY-MM-DD") }
            return nil
        }
        do {
            return try BusinessTime.startOfDay(text)
        } catch {
            throw CellError(message: "\(column) '\(text)' is not a date; write it as YYYY-MM-DD, e.g. 2024-05-31")
        }
    }

    private static func money(_ text: String, column: String) throws -> Int64? {
        guard !text.isEmpty else { return nil }
        do {
            let value = try parseRupiah(text, field: column)
            guard value >= 0 else { throw CellError(message: "\(column) '\(text)' is negative") }
            return value
        } catch let error as CellError {
            throw error
        } catch {
            throw CellError(message: "\(column) '\(text)' is not an amount; write whole rupiah such as 45000 or 45.000")
        }
    }

    /// FNV-1a over the rows' cells: the same rows give the same key.
    package static func fingerprint(_ rows: [[String]]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for row in rows {
            for cell in row {
                for byte in cell.utf8 {
                    hash ^= UInt64(byte)
                    hash = hash &* 0x100_0000_01b3
                }
                hash ^= 0x1F
                hash = hash &* 0x100_0000_01b3
            }
            hash ^= 0x1E
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

extension Array where Element == String {
    package subscript(safeIndex i: Int) -> String { i < count ? self[i] : "" }
}

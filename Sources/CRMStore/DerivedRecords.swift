import CRMDomain
import GRDB

/// The `customers` and `customer_name_words` rows: a customer's anchor, first sighting and current name, company
/// and city, for search and listings.
struct CustomerRecords {
    let db: Database

    private static let upsert = """
        INSERT INTO customers (customer_id, anchor, first_seen_at) VALUES (?, ?, ?)
        ON CONFLICT (customer_id) DO UPDATE SET anchor = excluded.anchor, first_seen_at = excluded.first_seen_at
        """
    private static let members = "SELECT handle FROM handles WHERE customer_id = ?"
    private static let setFields = "UPDATE customers SET name = ?, company = ?, city = ? WHERE customer_id = ?"
    private static let deleteWords = "DELETE FROM customer_name_words WHERE customer_id = ?"
    private static let insertWord = "INSERT OR IGNORE INTO customer_name_words (word, customer_id) VALUES (?, ?)"
    private static let anyHandle = "SELECT 1 FROM handles WHERE customer_id = ? LIMIT 1"
    private static let deleteCustomer = "DELETE FROM customers WHERE customer_id = ?"

    /// Writes the row of a (re)computed component and recomputes its fields.
    func write(component: IdentityComponent, firstSeenAt: Int64) throws {
        try db.cachedStatement(sql: Self.upsert).execute(arguments: [component.id.rawValue, component.anchor.canonical, firstSeenAt])
        try refreshFields(of: component.id.rawValue, members: component.handles)
    }

    /// Removes a customer that no longer has handles (it merged into another or split apart).
    func delete(_ id: String) throws {
        guard try Int64.fetchOne(db.cachedStatement(sql: Self.anyHandle), arguments: [id]) == nil else { return }
        try db.cachedStatement(sql: Self.deleteCustomer).execute(arguments: [id])
        try db.cachedStatement(sql: Self.deleteWords).execute(arguments: [id])
    }

    /// Recomputes name, company and city: per field, the observation with the greatest ``FactPrecedence`` among the
    /// customer's handles wins, and an empty winner means unknown (the domain's rule, see ``ProfileProjection``).
    func refreshFields(of id: String, members known: [Handle]? = nil) throws {
        let members: [Handle]
        if let known {
            members = known
        } else {
            members = try String.fetchAll(db.cachedStatement(sql: Self.members), arguments: [id]).map { try Handle(canonical: $0) }
        }
        let queries = FactQueries(db: db)
        var winners: [ProfileField: Fact] = [:]
        for handle in members {
            for fact in try queries.facts(key: FactKey.handle(handle), kinds: FactKind.fieldObservation.rawValue...FactKind.fieldObservation.rawValue) {
                guard case let .fieldObservation(o) = fact.payload else { continue }
                if winners[o.field].map({ $0.precedence < fact.precedence }) ?? true { winners[o.field] = fact }
            }
        }
        func value(_ field: ProfileField) -> String? {
            guard let fact = winners[field], case let .fieldObservation(o) = fact.payload, !o.value.isEmpty else { return nil }
            return o.value
        }
        let name = value(.name)
        try db.cachedStatement(sql: Self.setFields).execute(arguments: [name, value(.company), value(.city), id])
        try db.cachedStatement(sql: Self.deleteWords).execute(arguments: [id])
        let insert = try db.cachedStatement(sql: Self.insertWord)
        for word in NameWords.words(of: name ?? "") { try insert.execute(arguments: [word, id]) }
    }
}

/// How names are split into searchable words: lower-cased runs of letters and digits.
enum NameWords {
    static func words(of text: String) -> Set<String> {
        var words: Set<String> = []
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                words.insert(current)
                current = ""
            }
        }
        if !current.isEmpty { words.insert(current) }
        return words
    }
}

/// The `orders` rows: the winning record of each order number and the status its tracking gives.
struct OrderRecords {
    let db: Database

    private static let upsert = """
        INSERT OR REPLACE INTO orders (order_number, customer_handle, record_fact_id, placed_at, estimated_delivery_at,
            status, is_final, subtotal, total, delivered_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    private static let delete = "DELETE FROM orders WHERE order_number = ?"
    private static let owner = "SELECT customer_handle FROM orders WHERE order_number = ?"

    /// Recomputes an order's row; returns the handle its previous row named and the order's view now.
    func refresh(_ number: String) throws -> OrderChange {
        let previous = try String.fetchOne(db.cachedStatement(sql: Self.owner), arguments: [number])
        let facts = try FactQueries(db: db).facts(key: FactKey.order(number))
        guard let view = OrderAssembly.view(from: facts) else {
            try db.cachedStatement(sql: Self.delete).execute(arguments: [number])
            return OrderChange(number: try OrderNumber(number), previousOwner: previous, view: nil)
        }
        let r = view.record
        // The column holds the estimate in force; an order without one is never overdue, so it sorts after every time.
        try db.cachedStatement(sql: Self.upsert).execute(arguments: [
            number, r.customer.canonical, view.recordFactID.rawValue, r.placedAt, view.estimatedDeliveryAt ?? Int64.max, view.status.rawValue,
            view.status.isFinal, r.subtotal, r.total, view.deliveredAt,
        ])
        return OrderChange(number: view.orderNumber, previousOwner: previous, view: view)
    }
}

/// An order whose row was recomputed: who had it before, and what it is now (nil when no record of it is left).
struct OrderChange {
    let number: OrderNumber
    /// The canonical handle the previous row named.
    let previousOwner: String?
    let view: OrderView?
}

/// A complaint whose row was recomputed: who had it before, and what it is now (nil when no opening of it is left).
struct ComplaintChange {
    let id: ComplaintID
    /// The canonical handle the previous row named.
    let previousOwner: String?
    let complaint: Complaint?
}

/// Builds an order's view from the facts filed under its number, as ``ProfileProjection`` does: the order record
/// with the greatest ``FactPrecedence`` wins, and every tracking event counts.
enum OrderAssembly {
    static func view(from facts: [Fact]) -> OrderView? {
        var records: [Fact] = []
        var tracking: [TrackingRecord] = []
        for fact in facts {
            switch fact.payload {
            case .order: records.append(fact)
            case let .tracking(t): tracking.append(TrackingRecord(t, at: fact.observedAt, factID: fact.id))
            default: continue
            }
        }
        guard let winner = Precedence.strongest(records), case let .order(record) = winner.payload else { return nil }
        return OrderView(record: record, recordFactID: winner.id, tracking: tracking)
    }
}

/// The `complaints` rows: state and clocks folded from each complaint's opening and steps.
struct ComplaintRecords {
    let db: Database

    private static let upsert = """
        INSERT OR REPLACE INTO complaints (complaint_id, customer_handle, order_number, category, state, opened_at,
            first_response_at, resolved_at, decided_at, refund_total)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    private static let delete = "DELETE FROM complaints WHERE complaint_id = ?"
    private static let owner = "SELECT customer_handle FROM complaints WHERE complaint_id = ?"

    /// Recomputes a complaint's row; returns the handle its previous row named and the complaint now.
    func refresh(_ id: String) throws -> ComplaintChange {
        let previous = try String.fetchOne(db.cachedStatement(sql: Self.owner), arguments: [id])
        let facts = try FactQueries(db: db).facts(key: FactKey.complaint(id))
        guard let c = ComplaintAssembly.complaints(from: facts).first(where: { $0.id.rawValue == id }) else {
            try db.cachedStatement(sql: Self.delete).execute(arguments: [id])
            return ComplaintChange(id: try ComplaintID(id), previousOwner: previous, complaint: nil)
        }
        try db.cachedStatement(sql: Self.upsert).execute(arguments: [
            id, c.customer.canonical, c.orderNumber.rawValue, c.category.rawValue, c.state.rawValue, c.openedAt,
            c.firstResponseAt, c.resolvedAt, c.decidedAt, c.decision?.refund.total,
        ])
        return ComplaintChange(id: c.id, previousOwner: previous, complaint: c)
    }
}

/// Folds complaints from their openings and steps with the domain's own projection, so the state machine, the
/// time-order rule and the list of refused steps are exactly the profile's.
enum ComplaintAssembly {
    static func complaints(from facts: [Fact]) -> [Complaint] {
        let projection = ProfileProjection(facts: facts)
        return projection.profiles().flatMap(\.complaints).sorted { $0.id < $1.id }
    }
}

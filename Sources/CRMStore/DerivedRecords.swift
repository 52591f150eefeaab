import CRMDomain

/// The `customers` and `customer_name_words` rows: a customer's anchor, first sighting and current name, company
/// and city, for search and listings.
struct CustomerRecords<Tables: StoreTables> {
    let tables: Tables

    /// Writes the row of a (re)computed component and recomputes its fields.
    func write(component: IdentityComponent, firstSeenAt: Int64) throws {
        try tables.saveCustomer(component.id.rawValue, anchor: component.anchor.canonical, firstSeenAt: firstSeenAt)
        try refreshFields(of: component.id.rawValue, members: component.handles)
    }

    /// Removes a customer that no longer has handles (it merged into another or split apart).
    func delete(_ id: String) throws {
        guard try !tables.hasHandles(id) else { return }
        try tables.deleteCustomer(id)
    }

    /// Recomputes name, company and city: per field, the observation with the greatest ``FactPrecedence`` among the
    /// customer's handles wins, and an empty winner means unknown (the domain's rule, see ``ProfileProjection``).
    func refreshFields(of id: String, members known: [Handle]? = nil) throws {
        let members: [Handle]
        if let known {
            members = known
        } else {
            members = try tables.members(of: id).map { try Handle(canonical: $0) }
        }
        var winners: [ProfileField: Fact] = [:]
        for handle in members {
            for fact in try tables.facts(key: FactKey.handle(handle), kinds: FactKind.fieldObservation.rawValue...FactKind.fieldObservation.rawValue) {
                guard case let .fieldObservation(o) = fact.payload else { continue }
                if winners[o.field].map({ $0.precedence < fact.precedence }) ?? true { winners[o.field] = fact }
            }
        }
        func value(_ field: ProfileField) -> String? {
            guard let fact = winners[field], case let .fieldObservation(o) = fact.payload, !o.value.isEmpty else { return nil }
            return o.value
        }
        let name = value(.name)
        try tables.saveFields(of: id, name: name, company: value(.company), city: value(.city), nameWords: NameWords.words(of: name ?? ""))
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
struct OrderRecords<Tables: StoreTables> {
    let tables: Tables

    /// Recomputes an order's row; returns the handle its previous row named and the order's view now.
    func refresh(_ number: String) throws -> OrderChange {
        let previous = try tables.orderOwner(number)
        let facts = try tables.facts(key: FactKey.order(number))
        guard let view = OrderAssembly.view(from: facts) else {
            try tables.deleteOrder(number)
            return OrderChange(number: try OrderNumber(number), previousOwner: previous, view: nil)
        }
        let r = view.record
        try tables.saveOrder(OrderRow(
            number: number, customerHandle: r.customer.canonical, recordFactID: view.recordFactID.rawValue, placedAt: r.placedAt,
            estimatedDeliveryAt: view.estimatedDeliveryAt ?? Int64.max, status: view.status.rawValue, isFinal: view.status.isFinal,
            subtotal: r.subtotal, total: r.total, deliveredAt: view.deliveredAt))
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
struct ComplaintRecords<Tables: StoreTables> {
    let tables: Tables

    /// Recomputes a complaint's row; returns the handle its previous row named and the complaint now.
    func refresh(_ id: String) throws -> ComplaintChange {
        let previous = try tables.complaintOwner(id)
        let facts = try tables.facts(key: FactKey.complaint(id))
        guard let c = ComplaintAssembly.complaints(from: facts).first(where: { $0.id.rawValue == id }) else {
            try tables.deleteComplaint(id)
            return ComplaintChange(id: try ComplaintID(id), previousOwner: previous, complaint: nil)
        }
        try tables.saveComplaint(ComplaintRow(
            id: id, customerHandle: c.customer.canonical, orderNumber: c.orderNumber.rawValue, category: c.category.rawValue,
            state: c.state.rawValue, openedAt: c.openedAt, firstResponseAt: c.firstResponseAt, resolvedAt: c.resolvedAt,
            decidedAt: c.decidedAt, refundTotal: c.decision?.refund.total))
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

package import CRMDomain

/// The queries of ``Store`` over any database's ``StoreTables``, inside one read of whoever holds `tables`: each
/// store runs them in its own read transaction and keeps only how it reads.
package struct StoreReads<Tables: StoreTables> {
    package let tables: Tables

    package init(_ tables: Tables) { self.tables = tables }

    // MARK: Customers

    package func customerID(of handle: Handle) throws -> CustomerID? {
        guard let raw = try tables.handleRow(handle.canonical)?.customer else { return nil }
        return try CustomerID(raw)
    }

    package func customerIDs(for handles: [Handle]) throws -> [Handle: CustomerID] {
        var customers: [Handle: CustomerID] = [:]
        for handle in Set(handles) {
            if let customer = try customerID(of: handle) { customers[handle] = customer }
        }
        return customers
    }

    package func profile(for handle: Handle) throws -> CustomerProfile? {
        try ProfileLoader(tables: tables).profile(ofHandle: handle)
    }

    package func profile(of customer: String) throws -> CustomerProfile? {
        try ProfileLoader(tables: tables).profile(of: customer)
    }

    /// The read model of the customer `handle` belongs to, as stored (one statement).
    package func summaryLookup(for handle: Handle) throws -> SummaryLookup {
        try SummaryRows(tables: tables).lookUp(handle: handle)
    }

    /// The read model of a customer, as stored (one statement).
    package func summaryLookup(of customer: CustomerID) throws -> SummaryLookup {
        try SummaryRows(tables: tables).lookUp(customer: customer.rawValue)
    }

    package func searchCustomers(name: String, limit: Int) throws -> [CustomerMatch] {
        let words = NameWords.words(of: name).sorted { $0.count > $1.count }
        guard let longest = words.first, limit > 0 else { return [] }
        let candidates = try tables.customers(withNameWordPrefix: longest, limit: 2000)
        var matches: [CustomerMatch] = []
        let loader = ProfileLoader(tables: tables)
        for id in candidates {
            guard let fields = try tables.fields(of: id), let current = fields.name else { continue }
            let nameWords = NameWords.words(of: current)
            guard words.allSatisfy({ w in nameWords.contains { $0.hasPrefix(w) } }) else { continue }
            matches.append(CustomerMatch(
                id: try CustomerID(id), name: current, company: fields.company, city: fields.city, handles: try loader.members(of: id)))
        }
        matches.sort { ($0.name ?? "", $0.id) < ($1.name ?? "", $1.id) }
        return Array(matches.prefix(limit))
    }

    package func timeline(of customer: CustomerID, before cursor: TimelineCursor?, limit: Int) throws -> TimelinePage {
        let members = try ProfileLoader(tables: tables).members(of: customer.rawValue)
        var records: [InteractionRecord] = []
        for handle in members {
            for row in try tables.interactionRows(key: FactKey.handle(handle), before: cursor, limit: limit + 1) {
                let fact = try row.decoded()
                guard case let .interaction(i) = fact.payload else { continue }
                records.append(InteractionRecord(interaction: i, at: fact.observedAt, source: fact.source, factID: fact.id))
            }
        }
        records.sort { ($0.at, $0.factID) > ($1.at, $1.factID) }
        let page = Array(records.prefix(limit))
        let next = records.count > limit ? page.last.map { TimelineCursor(at: $0.at, factID: $0.factID) } : nil
        return TimelinePage(records: page, next: next)
    }

    // MARK: Orders

    package func order(_ number: String) throws -> OrderView? {
        OrderAssembly.view(from: try tables.facts(key: FactKey.order(number)))
    }

    package func orders(of customer: CustomerID) throws -> [OrderView] {
        var views: [OrderView] = []
        for handle in try ProfileLoader(tables: tables).members(of: customer.rawValue) {
            for number in try tables.orderNumbers(ofHandle: handle.canonical) {
                if let view = try order(number) { views.append(view) }
            }
        }
        return views.sorted { ($0.record.placedAt, $0.orderNumber) < ($1.record.placedAt, $1.orderNumber) }
    }

    package func overdueOrders(now: Int64, limit: Int) throws -> [OrderView] {
        try tables.overdueOrderNumbers(now: now, limit: max(0, limit)).compactMap { try order($0) }
    }

    package func trackingEvents(of order: OrderNumber) throws -> [TrackingRecord] {
        let facts = try tables.facts(key: FactKey.order(order))
        if let view = OrderAssembly.view(from: facts) { return view.tracking }
        // Tracking can arrive before the order record: list it by time, then fact id.
        return facts.compactMap { fact -> TrackingRecord? in
            guard case let .tracking(t) = fact.payload else { return nil }
            return TrackingRecord(t, at: fact.observedAt, factID: fact.id)
        }.sorted { ($0.at, $0.factID) < ($1.at, $1.factID) }
    }

    // MARK: Complaints

    package func complaints(_ ids: [String]) throws -> [Complaint] {
        var facts: [Fact] = []
        var seen: Set<FactID> = []
        for id in Set(ids) {
            for fact in try tables.facts(key: FactKey.complaint(id)) where seen.insert(fact.id).inserted { facts.append(fact) }
        }
        let wanted = Set(ids)
        return ComplaintAssembly.complaints(from: facts).filter { wanted.contains($0.id.rawValue) }
    }

    package func complaints(inStates states: Set<ComplaintState>, openedBefore: Int64?, limit: Int) throws -> [Complaint] {
        guard limit > 0 else { return [] }
        var found: [(openedAt: Int64, id: String)] = []
        for state in states {
            found += try tables.complaintQueue(state: state, openedBefore: openedBefore ?? .max, limit: limit)
        }
        found.sort { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }
        let ids = found.prefix(limit).map(\.id)
        let byID = Dictionary(try complaints(ids).map { ($0.id.rawValue, $0) }, uniquingKeysWith: { a, _ in a })
        return ids.compactMap { byID[$0] }
    }

    package func complaints(of customer: CustomerID) throws -> [Complaint] {
        var ids: [String] = []
        for handle in try ProfileLoader(tables: tables).members(of: customer.rawValue) {
            ids += try tables.complaintIDs(ofHandle: handle.canonical)
        }
        return try complaints(ids).sorted { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }
    }

    package func returnInspections(of complaint: ComplaintID) throws -> [Fact] {
        let kind = FactKind.returnInspection.rawValue
        return try tables.facts(key: FactKey.complaint(complaint), kinds: kind...kind).sorted { $0.precedence < $1.precedence }
    }

    // MARK: Ratings and reports

    package func ratings(of customer: CustomerID) throws -> [RatingRecord] {
        var records: [RatingRecord] = []
        for handle in try ProfileLoader(tables: tables).members(of: customer.rawValue) {
            for fact in try tables.facts(key: FactKey.handle(handle), kinds: FactKind.rating.rawValue...FactKind.rating.rawValue) {
                if case let .rating(r) = fact.payload { records.append(RatingRecord(rating: r, at: fact.observedAt, factID: fact.id)) }
            }
        }
        return records.sorted { ($0.at, $0.factID) < ($1.at, $1.factID) }
    }

    package func reportData(for period: TimeRange) throws -> ReportData {
        let complaints = try complaints(tables.complaintIDs(openedOrDecidedIn: period))
        var ratings: [RatingRecord] = []
        for row in try tables.ratingRows(in: period) {
            let fact = try row.decoded()
            if case let .rating(r) = fact.payload { ratings.append(RatingRecord(rating: r, at: fact.observedAt, factID: fact.id)) }
        }
        return ReportData(period: period, complaints: complaints, ratings: ratings)
    }

    package func buyerProfiles(placedIn period: TimeRange?) throws -> [CustomerProfile] {
        let loader = ProfileLoader(tables: tables)
        return try tables.buyers(placedFrom: period?.start ?? .min, to: period?.end ?? .max).compactMap { try loader.profile(of: $0) }
    }
}

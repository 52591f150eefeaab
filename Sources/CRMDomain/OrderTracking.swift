/// The milestones of an imported order, plus cancellation.
public enum TrackingStage: String, Sendable, Hashable, CaseIterable {
    /// The order was placed.
    case ordered
    /// It was paid (or the down payment was).
    case paid
    /// The supplier shipped it from China.
    case shippedFromChina
    /// It is at Indonesian customs.
    case atCustoms
    /// It arrived in the local warehouse.
    case arrivedInWarehouse
    /// The customer received it.
    case delivered
    /// The order was cancelled.
    case cancelled

    /// Position in the normal progression; `nil` for ``cancelled``, which is not a step forward.
    public var progress: Int? {
        switch self {
        case .ordered: 0
        case .paid: 1
        case .shippedFromChina: 2
        case .atCustoms: 3
        case .arrivedInWarehouse: 4
        case .delivered: 5
        case .cancelled: nil
        }
    }

    /// Whether nothing more is expected of the order.
    public var isFinal: Bool { self == .delivered || self == .cancelled }
}

/// A tracking event reported for an order; its time is the fact's ``Fact/observedAt``.
public struct TrackingEvent: Sendable, Hashable {
    /// The order.
    public let orderNumber: OrderNumber
    /// The milestone reached.
    public let stage: TrackingStage
    /// Where it happened (a city, a port, a warehouse), trimmed; may be empty.
    public let location: String
    /// A free-text note, such as a carrier's message, trimmed; may be empty.
    public let note: String
    /// A new delivery estimate the event carries, if any; the latest by event time governs the order.
    public let revisedEstimate: Int64?

    /// Creates an event.
    public init(orderNumber: OrderNumber, stage: TrackingStage, location: String = "", note: String = "", revisedEstimate: Int64? = nil) {
        self.orderNumber = orderNumber
        self.stage = stage
        self.location = Text.trimmed(location)
        self.note = Text.trimmed(note)
        self.revisedEstimate = revisedEstimate
    }
}

/// A tracking event as stored in a profile.
public struct TrackingRecord: Sendable, Hashable {
    /// The milestone.
    public let stage: TrackingStage
    /// When it happened.
    public let at: Int64
    /// The fact that reported it.
    public let factID: FactID
    /// Where it happened; may be empty.
    public let location: String
    /// Its note; may be empty.
    public let note: String
    /// The revised delivery estimate it carried, if any.
    public let revisedEstimate: Int64?

    /// A tracking event rebuilt from its fact; with ``OrderView/init(record:recordFactID:tracking:)`` it rebuilds an
    /// order's view outside a ``ProfileProjection``.
    public init(stage: TrackingStage, at: Int64, factID: FactID, location: String = "", note: String = "", revisedEstimate: Int64? = nil) {
        self.stage = stage
        self.at = at
        self.factID = factID
        self.location = location
        self.note = note
        self.revisedEstimate = revisedEstimate
    }

    /// The record of `event`, reported by the fact `factID` at `at`.
    public init(_ event: TrackingEvent, at: Int64, factID: FactID) {
        self.init(
            stage: event.stage, at: at, factID: factID, location: event.location, note: event.note, revisedEstimate: event.revisedEstimate)
    }
}

/// How an order's status follows from its tracking events.
public enum OrderTracking: Sendable {
    /// The status given a set of reached stages, whatever order they were reported in:
    /// ``TrackingStage/delivered`` if delivery was reported (goods in the customer's hands outweigh a late
    /// cancellation), else ``TrackingStage/cancelled`` if cancellation was, else the furthest stage reached, else
    /// ``TrackingStage/ordered`` (an order exists, so it was at least ordered).
    ///
    /// The furthest stage, not the last reported: adapters deliver late, and "at customs" arriving after
    /// "delivered" must not move the order backwards.
    public static func status(of stages: some Sequence<TrackingStage>) -> TrackingStage {
        var furthest = TrackingStage.ordered
        var cancelled = false
        for stage in stages {
            if stage == .delivered { return .delivered }
            if stage == .cancelled { cancelled = true; continue }
            if (stage.progress ?? 0) > (furthest.progress ?? 0) { furthest = stage }
        }
        return cancelled ? .cancelled : furthest
    }

    /// Whether goods with the estimate in force `estimate` and status `status` are overdue at `now`: strictly past
    /// the estimate and neither delivered nor cancelled; never without an estimate.
    public static func isOverdue(estimate: Int64?, status: TrackingStage, now: Int64) -> Bool {
        guard let estimate else { return false }
        return now > estimate && !status.isFinal
    }
}

/// An order with everything the profile knows about it.
public struct OrderView: Sendable, Hashable {
    /// The winning order record.
    public let record: OrderRecord
    /// The fact the record came from.
    public let recordFactID: FactID
    /// Its tracking events, by time, then stage progression, then fact id.
    public let tracking: [TrackingRecord]
    /// Derived from ``tracking`` by ``OrderTracking/status(of:)``.
    public let status: TrackingStage
    /// The earliest reported delivery, if any.
    public let deliveredAt: Int64?
    /// The estimate in force: the revised estimate of the latest tracking event that carries one (by event time,
    /// then the order of ``tracking``), else the record's; `nil` when there is none.
    public let estimatedDeliveryAt: Int64?

    /// Builds the view from a record and its events (any order, duplicates allowed).
    public init(record: OrderRecord, recordFactID: FactID, tracking: [TrackingRecord]) {
        var unique: [FactID: TrackingRecord] = [:]
        for event in tracking { unique[event.factID] = event }
        let sorted = unique.values.sorted { a, b in
            if a.at != b.at { return a.at < b.at }
            let (pa, pb) = (a.stage.progress ?? Int.max, b.stage.progress ?? Int.max)
            if pa != pb { return pa < pb }
            return a.factID < b.factID
        }
        self.record = record
        self.recordFactID = recordFactID
        self.tracking = sorted
        self.status = OrderTracking.status(of: sorted.map(\.stage))
        self.deliveredAt = sorted.first(where: { $0.stage == .delivered })?.at
        self.estimatedDeliveryAt = sorted.last(where: { $0.revisedEstimate != nil })?.revisedEstimate ?? record.estimatedDeliveryAt
    }

    /// The order number.
    public var orderNumber: OrderNumber { record.orderNumber }

    /// Whether the goods are overdue at `now`: strictly past the estimate in force and not delivered or cancelled;
    /// never without an estimate.
    public func isOverdue(now: Int64) -> Bool {
        OrderTracking.isOverdue(estimate: estimatedDeliveryAt, status: status, now: now)
    }
}

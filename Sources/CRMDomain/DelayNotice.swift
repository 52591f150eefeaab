/// The identity of a proactive delay notice: the order and the estimate that was missed.
///
/// Deterministic, so a sweeper that already sent it can tell (it records a ``FactPayload/delayNoticeSent(_:)``
/// fact). If the estimate is revised and missed again, that is a new estimate and so a new notice.
public struct DelayNoticeID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The late order.
    public let orderNumber: OrderNumber
    /// The estimate that passed.
    public let estimatedDeliveryAt: Int64

    /// Creates the id.
    public init(orderNumber: OrderNumber, estimatedDeliveryAt: Int64) {
        self.orderNumber = orderNumber
        self.estimatedDeliveryAt = estimatedDeliveryAt
    }

    /// `delay/<order>/<estimate>`.
    public var description: String { "delay/\(orderNumber.rawValue)/\(estimatedDeliveryAt)" }

    /// By order number, then estimate.
    public static func < (lhs: DelayNoticeID, rhs: DelayNoticeID) -> Bool {
        if lhs.orderNumber != rhs.orderNumber { return lhs.orderNumber < rhs.orderNumber }
        return lhs.estimatedDeliveryAt < rhs.estimatedDeliveryAt
    }
}

/// A message to tell a customer their order is late before they have to ask.
public struct DelayNotice: Sendable, Hashable {
    /// The notice's identity.
    public let id: DelayNoticeID
    /// Who to tell.
    public let customer: Handle
    /// The order's status when the notice was computed.
    public let status: TrackingStage
    /// Whole days past the estimate (0 on the first day).
    public let daysLate: Int64
    /// The text to send, in Indonesian, the customers' language.
    public let message: String

    /// The notice due for `order` at `now`, or `nil` when it is not overdue (or has no estimate).
    public static func due(for order: OrderView, now: Int64) -> DelayNotice? {
        guard order.isOverdue(now: now), let estimate = order.estimatedDeliveryAt else { return nil }
        let id = DelayNoticeID(orderNumber: order.orderNumber, estimatedDeliveryAt: estimate)
        let late = Milliseconds.between(estimate, now) / Milliseconds.day
        return DelayNotice(id: id, customer: order.record.customer, status: order.status, daysLate: late, message: message(order: order.orderNumber, status: order.status))
    }

    /// The notice `id` as it was sent at `sentAt` about `order`: the order's status then (from its tracking events up
    /// to that moment) and the days late then; what a replay of notices shows.
    public static func sent(_ id: DelayNoticeID, about order: OrderView, at sentAt: Int64) -> DelayNotice {
        let status = OrderTracking.status(of: order.tracking.filter { $0.at <= sentAt }.map(\.stage))
        return DelayNotice(id: id, customer: order.record.customer, status: status, daysLate: Milliseconds.between(id.estimatedDeliveryAt, sentAt) / Milliseconds.day,
            message: message(order: id.orderNumber, status: status))
    }

    static func message(order: OrderNumber, status: TrackingStage) -> String {
        "Pesanan \(order.rawValue) terlambat dari estimasi pengiriman (status: \(status.indonesianName)). "
            + "Mohon maaf atas keterlambatannya; kami akan mengabari Anda begitu barang bergerak."
    }

    /// The notices due for `orders` at `now` that are not in `alreadySent`, ascending by id: exactly once per
    /// missed estimate, however often the sweeper runs.
    public static func pending(
        for orders: some Sequence<OrderView>, alreadySent: Set<DelayNoticeID>, now: Int64
    ) -> [DelayNotice] {
        orders.compactMap { due(for: $0, now: now) }.filter { !alreadySent.contains($0.id) }.sorted { $0.id < $1.id }
    }
}

extension TrackingStage {
    /// The stage's name in Indonesian, for customer-facing text.
    public var indonesianName: String {
        switch self {
        case .ordered: "dipesan"
        case .paid: "dibayar"
        case .shippedFromChina: "dikirim dari China"
        case .atCustoms: "di bea cukai"
        case .arrivedInWarehouse: "tiba di gudang"
        case .delivered: "diterima"
        case .cancelled: "dibatalkan"
        }
    }
}

/// A deterministic text encoding: one item per line, fields in a fixed order, strings quoted and escaped.
///
/// Equal values encode to equal bytes and different values to different bytes, so tests (and anything that needs
/// a digest of a profile) can compare encodings instead of trusting `==` alone.
struct CanonicalWriter {
    private(set) var text = ""
    private var depth = 0

    mutating func line(_ parts: String...) {
        text += String(repeating: "  ", count: depth) + parts.joined(separator: " ") + "\n"
    }

    mutating func nested(_ body: (inout CanonicalWriter) -> Void) {
        depth += 1
        body(&self)
        depth -= 1
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.properties.generalCategory == .control {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func optional<T>(_ value: T?, _ render: (T) -> String) -> String { value.map(render) ?? "-" }
}

private typealias W = CanonicalWriter

extension CustomerProfile {
    /// The canonical encoding of the whole profile (see the module's convergence rule).
    public var canonicalDescription: String {
        var w = CanonicalWriter()
        w.line("profile", id.rawValue, "anchor=" + W.quote(anchor.canonical))
        for handle in handles { w.line("handle", W.quote(handle.canonical)) }
        for field in ProfileField.allCases {
            guard let v = fields[field] else { continue }
            w.line("field", field.rawValue, W.quote(v.value), "at=\(v.observedAt)", "source=" + v.source.rawValue, "fact=" + W.quote(v.factID.rawValue))
        }
        w.line("seen", "first=\(firstSeenAt)", "last=\(lastSeenAt)")
        for r in timeline {
            w.line("interaction", "at=\(r.at)", "fact=" + W.quote(r.factID.rawValue), "source=" + r.source.rawValue)
            w.nested { $0.line(r.interaction.canonicalFields) }
        }
        for order in orders { order.encode(into: &w) }
        for complaint in complaints { complaint.encode(into: &w) }
        for r in ratings {
            w.line("rating", "at=\(r.at)", "fact=" + W.quote(r.factID.rawValue), r.rating.canonicalFields)
        }
        for notice in sentDelayNotices { w.line("noticeSent", W.quote(notice.description)) }
        let c = counters
        w.line("counters", "interactions=\(c.interactions)", "complaints=\(c.complaints)", "informationRequests=\(c.informationRequests)",
               "orders=\(c.orders)", "spend=\(c.spend)", "ratings=\(c.ratings)")
        return w.text
    }

    /// ``canonicalDescription`` as UTF-8 bytes.
    public var canonicalBytes: [UInt8] { Array(canonicalDescription.utf8) }
}

extension Fact {
    /// The canonical encoding of the fact; decides, deterministically, between two different facts that
    /// (wrongly) share an id.
    public var canonicalDescription: String {
        var w = CanonicalWriter()
        w.line("fact", W.quote(id.rawValue), "at=\(observedAt)", "source=" + source.rawValue)
        w.nested { w in
            switch payload {
            case let .interaction(i): w.line("interaction", i.canonicalFields)
            case let .identityLink(p): w.line("link", W.quote(p.first.canonical), W.quote(p.second.canonical))
            case let .identityUnlink(p): w.line("unlink", W.quote(p.first.canonical), W.quote(p.second.canonical))
            case let .fieldObservation(o): w.line("field", W.quote(o.handle.canonical), o.field.rawValue, W.quote(o.value))
            case let .order(o): o.encode(into: &w)
            case let .tracking(t):
                w.line("tracking", W.quote(t.orderNumber.rawValue), t.stage.rawValue, "location=" + W.quote(t.location),
                       "note=" + W.quote(t.note), "revised=" + W.optional(t.revisedEstimate) { "\($0)" })
            case let .complaintOpened(c):
                w.line("complaintOpened", W.quote(c.id.rawValue), W.quote(c.customer.canonical), W.quote(c.orderNumber.rawValue),
                       c.category.rawValue, c.openedBy.canonical, W.quote(c.summary))
                w.nested { w in for item in c.items { item.encode(into: &w) } }
            case let .complaintTransition(s):
                w.line("complaintStep", W.quote(s.complaintID.rawValue), s.actor.canonical)
                w.nested { s.action.encode(into: &$0) }
            case let .rating(r): w.line("rating", r.canonicalFields)
            case let .delayNoticeSent(id): w.line("noticeSent", W.quote(id.description))
            case let .returnInspection(i):
                w.line("returnInspection", W.quote(i.complaintID.rawValue), W.quote(i.orderNumber.rawValue), "verdict=" + i.verdict.rawValue,
                       "shipping=\(i.localShippingCost)", "received=" + W.optional(i.receivedAt) { "\($0)" }, "by=" + W.quote(i.inspectedBy),
                       "notes=" + W.quote(i.notes))
                w.nested { w in
                    for item in i.items {
                        w.line("inspected", W.quote(item.sku), "returned=\(item.returned)", "accepted=\(item.accepted)", W.quote(item.finding))
                    }
                }
            }
        }
        return w.text
    }
}

extension Interaction {
    var canonicalFields: String {
        [
            "channel=" + channel.rawValue, "direction=" + direction.rawValue, "handle=" + W.quote(handle.canonical),
            "intent=" + intent.rawValue, "order=" + W.optional(orderNumber) { W.quote($0.rawValue) },
            "complaint=" + W.optional(complaintID) { W.quote($0.rawValue) }, "summary=" + W.quote(summary), "body=" + W.quote(body),
        ].joined(separator: " ")
    }
}

extension Rating {
    var canonicalFields: String {
        ["handle=" + W.optional(handle) { W.quote($0.canonical) }, "stars=\(stars)", "order=" + W.optional(orderNumber) { W.quote($0.rawValue) },
         "comment=" + W.quote(comment), "source=" + W.optional(source) { $0.rawValue }, "channel=" + W.optional(channel) { $0.rawValue },
         "complaint=" + W.optional(complaintID) { W.quote($0.rawValue) }].joined(separator: " ")
    }
}

extension Actor {
    var canonical: String { "actor=" + role.rawValue + ":" + W.quote(id) }
}

extension OrderRecord {
    func encode(into w: inout CanonicalWriter) {
        w.line("orderRecord", W.quote(orderNumber.rawValue), "customer=" + W.quote(customer.canonical), "placed=\(placedAt)",
               "estimate=" + W.optional(estimatedDeliveryAt) { "\($0)" }, "city=" + W.quote(destinationCity), "shipping=\(shippingFee)",
               "fee=\(serviceFee)", "discount=\(discount)", "paid=\(paid)", "subtotal=\(subtotal)", "total=\(total)")
        w.nested { w in
            if delivery != DeliveryDetails() {
                w.line("delivery", "recipient=" + W.quote(delivery.recipient), "phone=" + W.quote(delivery.phone),
                       "address=" + W.quote(delivery.addressLine), "area=" + W.quote(delivery.area), "province=" + W.quote(delivery.province),
                       "postal=" + W.quote(delivery.postalCode))
            }
            for item in items {
                w.line("item", W.quote(item.sku), W.quote(item.name), "qty=\(item.quantity)", "price=\(item.unitPrice)", "line=\(item.lineTotal)")
            }
        }
    }
}

extension OrderView {
    func encode(into w: inout CanonicalWriter) {
        w.line("order", W.quote(orderNumber.rawValue), "fact=" + W.quote(recordFactID.rawValue), "status=" + status.rawValue,
               "delivered=" + W.optional(deliveredAt) { "\($0)" })
        w.nested { w in
            record.encode(into: &w)
            for t in tracking {
                w.line("tracking", t.stage.rawValue, "at=\(t.at)", "fact=" + W.quote(t.factID.rawValue), "location=" + W.quote(t.location),
                       "note=" + W.quote(t.note), "revised=" + W.optional(t.revisedEstimate) { "\($0)" })
            }
        }
    }
}

extension ClaimLine {
    func encode(into w: inout CanonicalWriter) {
        w.line("claim", W.quote(sku), W.quote(name), "ordered=\(orderedQuantity)", "received=\(receivedQuantity)",
               "broken=\(brokenQuantity)", "paid=\(paidUnitPrice)", "correct=\(correctUnitPrice)")
    }
}

extension ComplaintAction {
    func encode(into w: inout CanonicalWriter) {
        switch self {
        case .startReview: w.line("startReview")
        case let .askSupplier(note): w.line("askSupplier", W.quote(note))
        case let .decide(d):
            w.line("decide", "note=" + W.quote(d.note))
            w.nested { d.refund.encode(into: &$0) }
        case let .reject(reason): w.line("reject", W.quote(reason))
        case .informCustomer: w.line("informCustomer")
        case .close: w.line("close")
        case let .reopen(reason): w.line("reopen", W.quote(reason))
        }
    }
}

extension Refund {
    func encode(into w: inout CanonicalWriter) {
        w.line("refund", "total=\(total)")
        w.nested { w in
            for l in lines {
                w.line("line", l.reason.rawValue, "sku=" + W.optional(l.sku, W.quote), "qty=\(l.quantity)", "unit=\(l.unitAmount)",
                       "amount=\(l.amount)", W.quote(l.explanation))
            }
            if let r = returnRecord {
                let qc = r.qualityCheck
                w.line("return", W.quote(r.orderNumber.rawValue), "shipping=\(r.localShippingCost)", "qc=" + qc.outcome.rawValue,
                       "by=" + W.quote(qc.inspectedBy), "at=\(qc.inspectedAt)", "notes=" + W.quote(qc.notes))
                w.nested { w in
                    for item in r.items { w.line("returned", W.quote(item.sku), "qty=\(item.quantity)", "price=\(item.paidUnitPrice)") }
                }
            }
        }
    }
}

extension Complaint {
    func encode(into w: inout CanonicalWriter) {
        w.line("complaint", W.quote(id.rawValue), "customer=" + W.quote(customer.canonical), "order=" + W.quote(orderNumber.rawValue),
               "category=" + category.rawValue, "opened=\(openedAt)", openedBy.canonical, "state=" + state.rawValue,
               "decidedAt=" + W.optional(decidedAt) { "\($0)" }, "firstResponse=" + W.optional(firstResponseAt) { "\($0)" },
               "resolved=" + W.optional(resolvedAt) { "\($0)" }, "rejection=" + W.optional(rejectionReason, W.quote),
               "summary=" + W.quote(summary))
        w.nested { w in
            for item in items { item.encode(into: &w) }
            for t in history {
                w.line("transition", "from=" + t.from.rawValue, "to=" + t.action.target.rawValue, t.actor.canonical, "at=\(t.at)",
                       "fact=" + W.optional(t.factID) { W.quote($0.rawValue) })
                w.nested { t.action.encode(into: &$0) }
            }
            if let d = decision {
                w.line("decision", "note=" + W.quote(d.note))
                w.nested { d.refund.encode(into: &$0) }
            }
            for ignored in ignoredTransitions {
                w.line("ignored", "fact=" + W.quote(ignored.factID.rawValue), "code=" + ignored.error.code, W.quote(ignored.error.description))
            }
        }
    }
}

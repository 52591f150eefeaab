import CRMDomain

/// A domain enum stored as a one-byte code.
///
/// Each table below fixes the code of every case by its position, forever: a new case is appended, never inserted,
/// and a removed case keeps its slot. Codes are not taken from `CaseIterable`, whose order is the domain's to
/// change. A test checks that every case of every enum has a code.
protocol StorageCoded: Hashable, Sendable {
    /// The cases in code order: the code of `codes[i]` is `i`.
    static var codes: [Self] { get }
    /// The type's name, for error messages.
    static var storageName: String { get }
}

extension StorageCoded {
    /// The one-byte code of `self`, or an error naming the case that has none.
    func storageCode() throws(FactEncodingError) -> UInt8 {
        guard let index = Self.codes.firstIndex(of: self) else { throw .uncodedCase("\(Self.storageName).\(self)") }
        return UInt8(index)
    }

    /// The case with code `code`.
    static func fromStorage(_ code: UInt8) throws(FactDecodingError) -> Self {
        guard Int(code) < codes.count else { throw .unknownCode(storageName, code) }
        return codes[Int(code)]
    }
}

extension HandleKind: StorageCoded {
    static let codes: [HandleKind] = [.phone, .email, .instagram, .tiktok, .facebook, .orderSystem, .webChat]
    static let storageName = "HandleKind"
}

extension FactSource: StorageCoded {
    static let codes: [FactSource] = [.agent, .orderSystem, .selfService, .channel, .bulkImport]
    static let storageName = "FactSource"
}

extension Channel: StorageCoded {
    static let codes: [Channel] = [
        .whatsApp, .instagram, .tiktok, .facebookMessenger, .email, .phoneCall, .videoCall, .sms, .webChat, .letter,
        .fax, .inPerson, .internalNote,
    ]
    static let storageName = "Channel"
}

extension RatingSource: StorageCoded {
    static let codes: [RatingSource] = [.googleReview, .selfService, .agentRecorded, .postContactSurvey]
    static let storageName = "RatingSource"
}

extension Direction: StorageCoded {
    static let codes: [Direction] = [.inbound, .outbound]
    static let storageName = "Direction"
}

extension InteractionIntent: StorageCoded {
    static let codes: [InteractionIntent] = [.complaint, .order, .informationRequest, .feedback, .other]
    static let storageName = "InteractionIntent"
}

extension ProfileField: StorageCoded {
    static let codes: [ProfileField] = [.name, .company, .city, .address]
    static let storageName = "ProfileField"
}

extension TrackingStage: StorageCoded {
    static let codes: [TrackingStage] = [.ordered, .paid, .shippedFromChina, .atCustoms, .arrivedInWarehouse, .delivered, .cancelled]
    static let storageName = "TrackingStage"
}

extension ComplaintCategory: StorageCoded {
    static let codes: [ComplaintCategory] = [.outOfStock, .lostAtCustoms, .broken, .customerReturn]
    static let storageName = "ComplaintCategory"
}

extension ComplaintState: StorageCoded {
    static let codes: [ComplaintState] = [.opened, .inReview, .waitingOnSupplier, .decided, .rejected, .customerInformed, .closed, .reopened]
    static let storageName = "ComplaintState"
}

extension ActorRole: StorageCoded {
    static let codes: [ActorRole] = [.sales, .afterSales, .chinaTeam, .supervisor, .customer]
    static let storageName = "ActorRole"
}

extension InspectionVerdict: StorageCoded {
    static let codes: [InspectionVerdict] = [.passed, .partial, .failed]
    static let storageName = "InspectionVerdict"
}

extension QualityOutcome: StorageCoded {
    static let codes: [QualityOutcome] = [.accepted, .refused]
    static let storageName = "QualityOutcome"
}

extension RefundReason: StorageCoded {
    static let codes: [RefundReason] = [.missing, .broken, .priceDifference, .returnedGoods, .returnShipping, .goodwill]
    static let storageName = "RefundReason"
}

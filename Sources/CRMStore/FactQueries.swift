package import CRMDomain
import Foundation

extension StoredFactRow {
    /// The fact, or ``StoreError/corruptFact(id:reason:)``.
    package func decoded(handles: HandleCache = HandleCache()) throws(StoreError) -> Fact {
        do { return try decode(handles: handles) } catch { throw .corruptFact(id: id, reason: error.description) }
    }
}

extension FactKind {
    /// Link and unlink facts.
    static let identity: ClosedRange<RawValue> = FactKind.identityLink.rawValue...FactKind.identityUnlink.rawValue
}

/// The rule the domain applies wherever facts compete (fields, order records, complaint openings, identity pairs):
/// the greatest ``FactPrecedence`` wins.
enum Precedence {
    static func strongest(_ facts: some Sequence<Fact>) -> Fact? {
        facts.max { $0.precedence < $1.precedence }
    }
}

import CRMDomain
import Foundation

/// The check of the read model against the facts, written once for every store: each customer's stored summary is
/// compared with the domain's projection of the customer's facts, read through the same ``StoreTables`` an append
/// keeps them with.
package struct ReadModelCheck<Tables: StoreTables> {
    let tables: Tables

    package init(tables: Tables) {
        self.tables = tables
    }

    /// The customers among `ids` whose stored summary differs from their facts (or is missing, or damaged, or stored
    /// for a customer no fact names), each with a line that says how.
    package func differences(_ ids: [String]) throws -> [(customer: String, problem: String)] {
        let loader = ProfileLoader(tables: tables)
        let rows = SummaryRows(tables: tables)
        var problems: [(String, String)] = []
        for id in ids {
            let expected = try loader.profile(of: id).map { try SummaryCodec.encode($0.summary) }
            let stored = try rows.bytes(of: id)
            guard stored != expected else { continue }
            guard let stored else {
                problems.append((id, "customer \(id): no read model is stored"))
                continue
            }
            guard let expected else {
                problems.append((id, "customer \(id): a read model is stored but no fact names the customer's handles"))
                continue
            }
            let detail: String
            do {
                let storedSummary = try SummaryCodec.decode(Data(stored))
                let expectedSummary = try SummaryCodec.decode(Data(expected))
                detail = ReadModelReport.differingParts(storedSummary, expectedSummary).joined(separator: ", ")
            } catch {
                detail = "damaged (\(error))"
            }
            problems.append((id, "customer \(id): the stored read model differs from its facts in \(detail)"))
        }
        return problems
    }

    /// Rewrites the summaries of `ids` from their facts, and removes those of customers no fact names: the same
    /// computation an append does, so it is safe inside the writer's transaction while the store serves.
    package func repair(_ ids: [String]) throws {
        let loader = ProfileLoader(tables: tables)
        let rows = SummaryRows(tables: tables)
        for id in ids {
            if let profile = try loader.profile(of: id) { try rows.save(profile.summary) } else { try rows.delete(id) }
        }
    }
}

import CRMMessages
import CRMRPC
import CRMServerTesting
import CRMWire
import Testing

@Suite("ProfileService")
struct ProfileServiceTests {
    @Test("a profile is found by any handle and by id; an unknown caller gets only the routing")
    func profileAndSnapshot() async throws {
        try await withTestServer { h in
            let customer = try await h.seedOrder()
            _ = try await h.call(CRMMessages.InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("p-1")), as: TestCaller.adapter)
            let byPhone = try await h.call(CRMMessages.ProfileService.getProfile, GetProfileRequest(customer: byHandle(phone("62812-3456-7890"))))
            #expect(byPhone.profile?.customerID == customer)
            #expect(byPhone.profile?.identities.map { $0.handle?.kind } == [.phone, .orderSystemID])
            #expect(byPhone.profile?.recentOrders.map(\.orderNumber) == ["ORD-1"])
            #expect(byPhone.profile?.counters?.ordersTotal == 1)
            let byID = try await h.call(CRMMessages.ProfileService.getProfile, GetProfileRequest(customer: CustomerSelector(target: .customerID(customer))))
            #expect(byID.profile?.customerID == customer)

            let snapshot = try await h.call(
                CRMMessages.ProfileService.getCallerSnapshot,
                GetCallerSnapshotRequest(customer: byHandle(phone("0812 3456 7890")), channel: .phoneCall, statedIntent: .complaint))
            #expect(snapshot.known)
            #expect(snapshot.snapshot?.routingQueue == .afterSales)
            #expect(snapshot.snapshot?.matchedHandle?.value == "+6281234567890")
            let stranger = try await h.call(
                CRMMessages.ProfileService.getCallerSnapshot, GetCallerSnapshotRequest(customer: byHandle(phone("0813-9999-0000")), statedIntent: .order))
            #expect(!stranger.known)
            #expect(stranger.snapshot?.routingQueue == .sales)
        }
    }

    @Test("observed names are searchable; a too-short query and an unknown id are refused")
    func observeAndSearch() async throws {
        try await withTestServer { h in
            try await h.seedOrder()
            let observed = try await h.call(
                CRMMessages.ProfileService.observeProfileField,
                ObserveProfileFieldRequest(observation: CRMMessages.FieldObservation(
                    key: key("name-1", adapter: "agent-desk"), subject: phone("0812-3456-7890"), field: .fullName, value: "Budi Santoso",
                    source: .agent, observedMs: TestServer.now - 1_000)),
                as: TestCaller.sales)
            #expect(observed.outcome == .accepted)
            #expect(observed.current?.value == "Budi Santoso")
            let found = try await h.call(CRMMessages.ProfileService.searchProfiles, SearchProfilesRequest(nameQuery: "budi"))
            #expect(found.matches.map(\.displayName) == ["Budi Santoso"])
            let short = try await h.expectFailure(.invalidArgument, CRMMessages.ProfileService.searchProfiles, SearchProfilesRequest(nameQuery: "b"))
            #expect(short.hasPrefix("name_query:"))
            let province = try await h.expectFailure(
                .invalidArgument, CRMMessages.ProfileService.observeProfileField,
                ObserveProfileFieldRequest(observation: CRMMessages.FieldObservation(
                    key: key("prov-1"), subject: phone("0812-3456-7890"), field: .province, value: "Jawa Barat", source: .agent, observedMs: 1)))
            #expect(province.hasPrefix("observation.field:"))
            try await h.expectFailure(.notFound, CRMMessages.ProfileService.getProfile, GetProfileRequest(customer: byID("cus_00000000000000000000000000000000")))
        }
    }

    @Test("link joins two handles into one customer and unlink separates them")
    func linkAndUnlink() async throws {
        try await withTestServer { h in
            _ = try await h.call(CRMMessages.InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("l-1")), as: TestCaller.adapter)
            let email = CRMMessages.Handle(kind: .email, value: " Budi@Example.co.id ")
            let linked = try await h.call(
                CRMMessages.ProfileService.linkIdentities,
                LinkIdentitiesRequest(key: key("link-1", adapter: "agent-desk"), firstHandle: phone("0812-3456-7890"), secondHandle: email, evidence: .agentAsserted),
                as: TestCaller.sales)
            #expect(linked.outcome == .accepted)
            #expect(linked.fact?.secondHandle?.value == "budi@example.co.id" || linked.fact?.firstHandle?.value == "budi@example.co.id")
            let profile = try await h.call(CRMMessages.ProfileService.getProfile, GetProfileRequest(customer: byHandle(email)))
            #expect(profile.profile?.customerID == linked.customerID)
            let unlinked = try await h.call(
                CRMMessages.ProfileService.unlinkIdentities,
                UnlinkIdentitiesRequest(key: key("unlink-1", adapter: "agent-desk"), firstHandle: phone("0812-3456-7890"), secondHandle: email, note: "two people", observedMs: TestServer.now + 1),
                as: TestCaller.supervisor)
            #expect(unlinked.outcome == .accepted)
            #expect(unlinked.firstCustomerID != unlinked.secondCustomerID)
            // A retry of the same key (observed_ms 0 = now, so a different fact) changes nothing.
            let retry = try await h.call(
                CRMMessages.ProfileService.unlinkIdentities,
                UnlinkIdentitiesRequest(key: key("unlink-1", adapter: "agent-desk"), firstHandle: phone("0812-3456-7890"), secondHandle: email, note: "two people"),
                as: TestCaller.supervisor)
            #expect(retry.outcome == .duplicate)
            #expect(retry.firstCustomerID == unlinked.firstCustomerID && retry.secondCustomerID == unlinked.secondCustomerID)
            // A customer cannot join someone else's handle to their profile.
            _ = try await h.call(CRMMessages.InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("l-2", handle: phone("0813-1111-2222"))), as: TestCaller.adapter)
            try await h.expectFailure(
                .permissionDenied, CRMMessages.ProfileService.linkIdentities,
                LinkIdentitiesRequest(key: key("link-3"), firstHandle: phone("0812-3456-7890"), secondHandle: phone("0813-1111-2222")),
                as: TestCaller.customer(unlinked.firstCustomerID))
            let same = try await h.expectFailure(
                .invalidArgument, CRMMessages.ProfileService.linkIdentities,
                LinkIdentitiesRequest(key: key("link-2"), firstHandle: phone("0812-3456-7890"), secondHandle: phone("+6281234567890")))
            #expect(same.hasPrefix("second_handle:"))
        }
    }
}

import CRMMessages
import CRMRPC
import CRMServer
import CRMServerTesting
import CRMWire
import Foundation
import Testing

/// The data directory on a small filesystem of its own (a tmpfs the test mounts, so it needs root, as CI has): once the
/// disk is full, writes are refused with a status that names the disk, reads go on, nothing is half-written, and
/// writes succeed again without a restart once space is freed.
@Suite("Disk full")
struct DiskFullTests {
    /// Mounts a tmpfs of `megabytes` at a new folder and returns its path.
    static func mountSmallDisk(megabytes: Int) throws -> String {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("crm-small-disk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let status = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", mountPoint])
        try #require(status == 0, "mounting a \(megabytes) MB tmpfs at \(mountPoint) failed (exit \(status)); this test needs root")
        return mountPoint
    }

    static func unmount(_ mountPoint: String) {
        _ = try? run("/bin/umount", [mountPoint])
        try? FileManager.default.removeItem(atPath: mountPoint)
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test("a full disk refuses writes with RESOURCE_EXHAUSTED naming the disk, serves reads, stores nothing in part, and writes resume once space is freed")
    func fullDisk() async throws {
        let mountPoint = try Self.mountSmallDisk(megabytes: 8)
        defer { Self.unmount(mountPoint) }
        // Ballast to delete later: the space that frees the disk.
        let ballast = mountPoint + "/ballast"
        try Data(count: 2 << 20).write(to: URL(fileURLWithPath: ballast))
        let h = try await TestServer.start(directory: mountPoint + "/data")
        do {
            let body = String(repeating: "Barang saya belum sampai. ", count: 320)  // about 8 KB
            var acknowledged: [String] = []
            var refusal: RPCStatus?
            var refusedKey = ""
            for n in 0..<2_000 {
                let external = "full-\(n)"
                do {
                    _ = try await h.call(InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction(external, body: body)), as: .adapter)
                    acknowledged.append(external)
                } catch let status as RPCStatus {
                    refusal = status
                    refusedKey = external
                    break
                }
            }
            let full = try #require(refusal, "2,000 pushes of 8 KB fit on an 8 MB disk")
            #expect(full.code == .resourceExhausted, "\(full)")
            #expect(full.message.contains("no disk space for the data directory"), "\(full)")
            #expect(full.message.contains("Free space on that disk"), "\(full)")
            #expect(!acknowledged.isEmpty)

            // Reads go on: the profile and the whole timeline of what was acknowledged.
            let snapshot = try await h.call(
                ProfileService.getCallerSnapshot, GetCallerSnapshotRequest(customer: byHandle(phone("0812-3456-7890"))), as: .sales)
            let customer = try #require(snapshot.snapshot?.customerID)
            #expect(!customer.isEmpty)
            #expect(try await timeline(h, customer: customer) == Set(acknowledged))

            // Still full: the same push is refused the same way.
            let again = try await h.status(InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction(refusedKey, body: body)), as: .adapter)
            #expect(again.code == .resourceExhausted, "\(again)")

            // Space freed, no restart: the refused push is stored now, as new (nothing of it was stored before).
            try FileManager.default.removeItem(atPath: ballast)
            let stored = try await h.call(
                InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction(refusedKey, body: body)), as: .adapter)
            #expect(stored.outcome == .accepted, "\(stored)")
            #expect(try await timeline(h, customer: customer) == Set(acknowledged + [refusedKey]))
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    /// The external ids of the customer's whole timeline.
    func timeline(_ h: TestServer, customer: String) async throws -> Set<String> {
        var ids: Set<String> = []
        var page = ""
        repeat {
            var request = GetTimelineRequest()
            request.customer = byID(customer)
            request.page = PageRequest(pageSize: 500, pageToken: page)
            let response = try await h.call(InteractionService.getTimeline, request, as: .sales)
            for item in response.interactions { ids.insert(item.key?.externalID ?? "") }
            page = response.page?.nextPageToken ?? ""
        } while !page.isEmpty
        return ids
    }
}

import CRMWire
import NIOCore
import Testing

@Suite("ProtocolLimits: defaults, SETTINGS announced and applied")
struct ProtocolLimitsTests {
    @Test("the defaults are the documented ones, and valid")
    func defaults() throws {
        let limits = ProtocolLimits.default
        #expect(limits.maxConcurrentStreams == 100)
        #expect(limits.initialStreamWindowSize == 8_388_608)
        #expect(limits.connectionWindowSize == 16_777_216)
        #expect(limits.maxFrameSize == 4_194_304)
        #expect(limits.maxMessageSize == 4_194_304)
        #expect(limits.maxHeaderSize == 16_384)
        #expect(limits.keepaliveInterval == .seconds(60))
        #expect(limits.keepaliveTimeout == .seconds(20))
        #expect(limits.idleTimeout == .minutes(5))
        #expect(limits.handshakeTimeout == .seconds(10))
        #expect(limits.maxConnections == 10_000)
        #expect(limits.shutdownGracePeriod == .seconds(30))
        #expect(limits.maxPayloadSize(of: .message) == 4_194_304)
        for type in FrameType.allCases where type != .message {
            #expect(limits.maxPayloadSize(of: type) == 16_384)
        }
        #expect(limits.wireLimits.maxMessageSize == 4_194_304)
        try limits.validate()
    }

    @Test("announced settings list every kind, and applying them reproduces the announcer's limits")
    func announceAndApply() throws {
        let mine = ProtocolLimits(
            maxConcurrentStreams: 0, initialStreamWindowSize: 1 << 20, connectionWindowSize: 1 << 21,
            maxFrameSize: 1 << 20, maxMessageSize: 1 << 19, maxHeaderSize: 4_096, keepaliveInterval: .zero,
            keepaliveTimeout: .milliseconds(1), idleTimeout: .zero)
        let kinds = mine.settings.entries.map(\.key)
        #expect(kinds == SettingKind.allCases.filter { $0 != .unspecified })
        #expect(try ProtocolLimits.default.applying(mine.settings, isFirst: true) == mine)
        #expect(try ProtocolLimits.default.applying(Settings(), isFirst: true) == .default)
    }

    @Test("durations go in whole milliseconds, rounded up")
    func milliseconds() {
        let limits = ProtocolLimits(keepaliveInterval: .nanoseconds(1), keepaliveTimeout: .microseconds(1_500))
        let values = Dictionary(uniqueKeysWithValues: limits.settings.entries.map { ($0.key, $0.value) })
        #expect(values[.keepaliveIntervalMs] == 1)
        #expect(values[.keepaliveTimeoutMs] == 2)
        #expect(values[.idleTimeoutMs] == 300_000)
    }

    @Test("unknown and UNSPECIFIED kinds are ignored; a kind listed twice takes its last value")
    func ignoredAndRepeated() throws {
        let settings = Settings(entries: [
            SettingEntry(key: .unrecognized(99), value: .max),
            SettingEntry(key: .unspecified, value: 5),
            SettingEntry(key: .maxConcurrentStreams, value: 1),
            SettingEntry(key: .maxConcurrentStreams, value: 2),
        ])
        let applied = try ProtocolLimits.default.applying(settings, isFirst: true)
        #expect(applied.maxConcurrentStreams == 2)
        #expect(try ProtocolLimits.default.applying(Settings(entries: [settings.entries[0]]), isFirst: false) == .default)
    }

    @Test("later SETTINGS frames may change only streams, keepalive and idle timeout")
    func laterSettings() throws {
        for kind in [SettingKind.maxConcurrentStreams, .keepaliveIntervalMs, .keepaliveTimeoutMs, .idleTimeoutMs] {
            _ = try ProtocolLimits.default.applying(Settings(entries: [SettingEntry(key: kind, value: 10)]), isFirst: false)
        }
        for kind in [SettingKind.initialWindowSize, .connectionWindowSize, .maxFrameSize, .maxMessageSize, .maxHeaderSize] {
            let settings = Settings(entries: [SettingEntry(key: kind, value: 1 << 23)])
            #expect(throws: FrameError.invalidSettings(
                "\(kind.protoName) may only be set in the first SETTINGS frame; send it once, right after the handshake")
            ) {
                try ProtocolLimits.default.applying(settings, isFirst: false)
            }
        }
    }

    @Test("values out of range are SETTINGS errors")
    func outOfRange() {
        func rejects(_ kind: SettingKind, _ value: UInt64) -> Bool {
            do {
                _ = try ProtocolLimits.default.applying(Settings(entries: [SettingEntry(key: kind, value: value)]), isFirst: true)
                return false
            } catch {
                return error.kind == .settingsError && error.status.code == .internal
            }
        }
        #expect(rejects(.maxConcurrentStreams, 1 << 31))
        #expect(rejects(.maxFrameSize, 16_383))
        #expect(!rejects(.maxFrameSize, 1 << 22))
        #expect(rejects(.maxMessageSize, 1_023))
        #expect(rejects(.maxHeaderSize, 1_000))
        #expect(rejects(.keepaliveTimeoutMs, 0))
        #expect(rejects(.idleTimeoutMs, UInt64(Int32.max) + 1))
        #expect(rejects(.initialWindowSize, UInt64.max))
    }

    @Test("a window smaller than the largest message is a SETTINGS error, since that message could never be sent")
    func windowBelowMessage() throws {
        let small = Settings(entries: [SettingEntry(key: .initialWindowSize, value: 1 << 20)])
        #expect {
            try ProtocolLimits.default.applying(small, isFirst: true)
        } throws: { error in
            (error as? FrameError)?.status.message.hasPrefix("SETTINGS_ERROR: INITIAL_WINDOW_SIZE 1048576 is below") == true
        }
        // Fine once the largest message is below the window too.
        let both = Settings(entries: small.entries + [SettingEntry(key: .maxMessageSize, value: 1 << 20)])
        #expect(try ProtocolLimits.default.applying(both, isFirst: true).initialStreamWindowSize == 1 << 20)

        let connection = Settings(entries: [SettingEntry(key: .connectionWindowSize, value: 4_000_000)])
        #expect(throws: FrameError.self) { try ProtocolLimits.default.applying(connection, isFirst: true) }
    }
}

import Testing

@testable import CRMTLS

@Suite("ALPN lists and IP address text")
struct WireFormatTests {
    @Test("ALPN names are length-prefixed")
    func alpnEncoding() {
        #expect(["crm/1", "h2"].alpnWireFormat == [5] + Array("crm/1".utf8) + [2] + Array("h2".utf8))
    }

    @Test("the server's preference wins; a malformed offer is read up to the fault")
    func alpnMatching() {
        let ours = ["crm/1", "h2"].alpnWireFormat
        let theirs = ["h2", "crm/1"].alpnWireFormat
        let match = ours.withUnsafeBufferPointer { o in
            theirs.withUnsafeBufferPointer { t in ALPNWireFormat.firstMatch(preferred: o, offered: t) }
        }
        #expect(match?.offset == 4)
        #expect(match?.length == 5)

        let malformed: [UInt8] = [2] + Array("h2".utf8) + [40, 1, 2]
        #expect(malformed.withUnsafeBufferPointer(ALPNWireFormat.entries) == [1..<3])
    }

    @Test(
        "IP addresses print like OpenSSL's and RFC 5952's",
        arguments: [
            ([127, 0, 0, 1], "127.0.0.1"),
            ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], "::1"),
            ([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1], "2001:db8::1:0:0:1"),
            ([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], "2001:db8:0:1:1:1:1:1"),
            ([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "fe80::"),
        ] as [([UInt8], String)]
    )
    func ipAddressText(bytes: [UInt8], text: String) {
        #expect(bytes.withUnsafeBufferPointer(IPAddressText.format) == text)
    }

    @Test("OpenSSL 3 is what we link")
    func openSSLVersion() {
        #expect(OpenSSLLibrary.version.hasPrefix("OpenSSL 3."))
    }
}

/// ALPN protocol lists as TLS carries them (RFC 7301): each name preceded by a one-byte length.
enum ALPNWireFormat {
    /// Encodes `names`; each must be 1 to 255 bytes (``TLSConfiguration`` checks that first).
    static func encode(_ names: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for name in names {
            let utf8 = Array(name.utf8)
            bytes.append(UInt8(truncatingIfNeeded: utf8.count))
            bytes.append(contentsOf: utf8)
        }
        return bytes
    }

    /// Our most preferred name that the peer also offered: where its bytes start in `offered`, and how
    /// many there are. A malformed `offered` list (a length running past the end) is read up to the fault.
    static func firstMatch(
        preferred: UnsafeBufferPointer<UInt8>,
        offered: UnsafeBufferPointer<UInt8>
    ) -> (offset: Int, length: Int)? {
        for ours in entries(preferred) {
            for theirs in entries(offered) where theirs.count == ours.count {
                if preferred[ours].elementsEqual(offered[theirs]) {
                    return (theirs.lowerBound, theirs.count)
                }
            }
        }
        return nil
    }

    /// The index ranges of the names in a wire-format list.
    static func entries(_ list: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        while index < list.count {
            let length = Int(list[index])
            let start = index + 1
            guard length > 0, start + length <= list.count else { break }
            ranges.append(start..<(start + length))
            index = start + length
        }
        return ranges
    }
}

extension Array where Element == String {
    /// These names in ALPN's wire format.
    var alpnWireFormat: [UInt8] { ALPNWireFormat.encode(self) }
}

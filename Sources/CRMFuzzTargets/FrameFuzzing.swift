import CRMWire
import NIOCore

/// Frames as either side reads them: the parser must end every input with frames, a wait for more bytes, or a
/// `FrameError`, and a control frame's payload must decode or be refused with one.
enum FrameFuzzing {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        let options = input.choice()
        let role: ConnectionRole = options & 1 == 0 ? .server : .client
        // 1 to 64 bytes at a time: frames split anywhere, as TCP delivers them.
        let chunk = Int(input.choice() % 64) + 1
        var parser = FrameParser(role: role)
        var stream = ByteBuffer()
        if role == .server { stream.writeBytes(ConnectionPreface.bytes) }
        stream.writeBytes(input.rest)
        let decoder = WireDecoder()
        var buffer = ByteBuffer()
        while stream.readableBytes > 0 {
            let take = min(chunk, stream.readableBytes)
            var piece = stream.readSlice(length: take)!
            buffer.writeBuffer(&piece)
            do {
                while let frame = try parser.nextFrame(from: &buffer) {
                    decodePayload(of: frame, using: decoder)
                }
            } catch {
                // A refused stream: once failed, the parser must keep refusing.
                do {
                    _ = try parser.nextFrame(from: &buffer)
                    preconditionFailure("the frame parser went on after \(error)")
                } catch {}
                return
            }
        }
    }

    private static func decodePayload(of frame: Frame, using decoder: WireDecoder) {
        switch frame.type {
        case .settings: _ = try? frame.decodeSettings(using: decoder)
        case .ping: _ = try? frame.decodePing(using: decoder)
        case .windowUpdate: _ = try? frame.decodeWindowUpdate(using: decoder)
        case .rstStream: _ = try? frame.decodeControlPayload(as: StreamReset.self, using: decoder)
        case .goAway: _ = try? frame.decodeControlPayload(as: GoAway.self, using: decoder)
        default: break
        }
    }
}

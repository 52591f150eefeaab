import CRMServer
import CRMTLS
import Foundation
import NIOCore
import NIOEmbedded

/// A TLS server (the handler crmd uses, with development certificates) fed arbitrary bytes as the client's records,
/// in chunks: it answers, fails the handshake with a `TLSError`, or waits, and never traps.
enum TLSHandshakeFuzzing {
    /// Where the certificates are made, once per process; removed at exit.
    static let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-fuzz-\(getpid())").path

    static let context: TLSContext = {
        do {
            let (certificates, _) = try DevelopmentCertificates.ensure(in: directory)
            atexit { try? FileManager.default.removeItem(atPath: TLSHandshakeFuzzing.directory) }
            return try TLSContext(
                configuration: .server(
                    certificateChainFile: certificates.serverCertificateFile, privateKeyFile: certificates.serverKeyFile,
                    clientCertificateMode: .optional, trustRootsFile: certificates.caFile, applicationProtocols: ["crm/1"]))
        } catch {
            preconditionFailure("the fuzzing server's TLS context could not be made: \(error)")
        }
    }()

    static func run(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        let chunk = Int(input.choice() % 255) + 1
        let channel = EmbeddedChannel()
        do {
            try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        } catch {
            preconditionFailure("an embedded TLS server could not be set up: \(error)")
        }
        var stream = ByteBuffer(bytes: input.rest)
        while stream.readableBytes > 0, channel.isActive {
            let piece = stream.readSlice(length: min(chunk, stream.readableBytes))!
            do { try channel.writeInbound(piece) } catch { break }
            while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
            while (try? channel.readInbound(as: ByteBuffer.self)) != nil {}
        }
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }
}

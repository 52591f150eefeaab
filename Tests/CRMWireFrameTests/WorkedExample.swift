import CRMWire
import NIOCore

/// The unary Health/Check call of docs/PROTOCOL.md, "Worked example", built with the real
/// encoder. The doc's hex must equal these frames byte for byte.
enum WorkedExample {
    static let requestHeaders = RequestHeaders(
        method: "/crm.v1.Health/Check",
        authority: "localhost:7443",
        timeoutMs: 5000,
        idempotent: true,
        metadata: [MetadataEntry(key: "trace-id", value: .text("7f3a"))]
    )
    static let request = HealthCheckRequest(service: "crm.v1.Health")
    static let response = HealthCheckResponse(servingStatus: .serving)

    /// What the client sends, in order.
    static func clientFrames(_ encoder: WireEncoder) throws -> [Frame] {
        var requestPayload = ByteBuffer()
        try requestPayload.writeWireMessage(request, using: encoder)
        return [
            try Frame.settings(Settings(), using: encoder),
            try Frame.settingsAck(using: encoder),
            try Frame.requestHeaders(requestHeaders, streamID: 1, using: encoder),
            Frame.message(requestPayload, streamID: 1, endStream: true),
        ]
    }

    /// What the server sends, in order.
    static func serverFrames(_ encoder: WireEncoder) throws -> [Frame] {
        var responsePayload = ByteBuffer()
        try responsePayload.writeWireMessage(response, using: encoder)
        return [
            try Frame.settings(ProtocolLimits.default, using: encoder),
            try Frame.settingsAck(using: encoder),
            try Frame.responseHeaders(ResponseHeaders(), streamID: 1, using: encoder),
            Frame.message(responsePayload, streamID: 1),
            try Frame.trailers(RPCStatus.ok.trailers(), streamID: 1, using: encoder),
        ]
    }
}

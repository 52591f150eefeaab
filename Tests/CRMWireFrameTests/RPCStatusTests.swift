import CRMWire
import Testing

@Suite("RPCStatus: gRPC's codes and names, and the control messages that carry them")
struct RPCStatusTests {
    @Test("17 codes, numbered and named like gRPC and like the StatusCode enum of rpc.proto")
    func codes() {
        #expect(RPCStatus.Code.allCases.count == 17)
        #expect(StatusCode.allCases.count == 17)
        for (code, wire) in zip(RPCStatus.Code.allCases, StatusCode.allCases) {
            #expect(code.rawValue == wire.rawValue)
            #expect(code.wireValue == wire)
            #expect(RPCStatus.Code(wire) == code)
            #expect("STATUS_CODE_" + code.name == wire.protoName)
            #expect(RPCStatus.Code(name: code.name) == code)
        }
        #expect(RPCStatus.Code.deadlineExceeded.name == "DEADLINE_EXCEEDED")
        #expect(RPCStatus.Code(name: "NOPE") == nil)
    }

    @Test("a code this build does not know becomes UNKNOWN, its number kept in the message")
    func unrecognized() {
        let trailers = Trailers(statusCode: .unrecognized(42), message: "from the future")
        #expect(RPCStatus(trailers) == RPCStatus(code: .unknown, message: "unknown status code 42: from the future"))
        #expect(RPCStatus(StreamReset(statusCode: .unrecognized(-1))) == RPCStatus(code: .unknown, message: "unknown status code -1"))
        #expect(RPCStatus(Trailers(statusCode: .unknown, message: "m")) == RPCStatus(code: .unknown, message: "m"))
    }

    @Test("trailers, resets and go-aways carry code and message both ways")
    func controlMessages() {
        let status = RPCStatus(code: .permissionDenied, message: "agent 7 may not close complaints")
        let metadata = [MetadataEntry(key: "policy", value: .text("close-complaint"))]
        let trailers = status.trailers(metadata: metadata)
        #expect(trailers.statusCode == .permissionDenied)
        #expect(trailers.metadata == metadata)
        #expect(RPCStatus(trailers) == status)
        #expect(RPCStatus(status.streamReset) == status)
        let goAway = status.goAway(lastStreamID: 9)
        #expect(goAway.lastStreamID == 9)
        #expect(RPCStatus(goAway) == status)
    }

    @Test("an error that reads NAME: message")
    func description() {
        #expect(RPCStatus.ok.description == "OK")
        #expect(RPCStatus.ok.isOK)
        let error: any Error = RPCStatus(code: .unavailable, message: "server shutting down")
        #expect("\(error)" == "UNAVAILABLE: server shutting down")
        #expect(!(error as? RPCStatus)!.isOK)
    }
}

@Suite("StreamID")
struct StreamIDTests {
    @Test("31 bits; 0 is the connection; clients count 1, 3, 5, ... up to 2^31 - 1")
    func ids() {
        #expect(StreamID(rawValue: 0x8000_0000) == nil)
        #expect(StreamID(rawValue: StreamID.maxRawValue) != nil)
        #expect(StreamID.connection.isConnection)
        #expect(StreamID.connection.nextClientStream == .firstClientStream)
        #expect(StreamID(integerLiteral: 1).nextClientStream == 3)
        #expect(StreamID(integerLiteral: 2_147_483_645).nextClientStream == 2_147_483_647)
        #expect(StreamID(integerLiteral: 2_147_483_647).nextClientStream == nil)
        #expect(StreamID(integerLiteral: 7).isClientInitiated)
        #expect(!StreamID(integerLiteral: 8).isClientInitiated)
        #expect(StreamID(integerLiteral: 3) < 5)
    }
}

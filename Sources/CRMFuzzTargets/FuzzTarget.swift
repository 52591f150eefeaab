/// The inputs `tools/fuzz` feeds to libFuzzer, one per parser or state machine that reads bytes from outside: each
/// takes any bytes, and traps (which the fuzzer records as a crash) only when a property that must hold is broken.
/// A malformed input is answered with an error by the code under test and is not a failure here.
///
/// The same entry points run every committed seed and crash input in the test suite (`FuzzRegressionTests`), so a crash
/// the fuzzer once found stays fixed.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Frame parsing, both roles, with the input cut into chunks of a size the input chooses.
    case frames
    /// The server's connection handler fed arbitrary frames after a valid preface.
    case connection
    /// `WireDecoder` over every message type; what decodes must encode and decode to the same value.
    case messages
    /// Handle normalisation (phones, e-mails, social handles, order-system ids); a normalised handle normalises to
    /// itself and survives its canonical form.
    case handles
    /// The stored-fact codec; a payload that decodes and encodes decodes again to the same payload.
    case storedFacts = "stored-facts"
    /// The configuration file of `crmd`, parsed and resolved into a configuration.
    case configuration
    /// The TLS server handshake (OpenSSL through memory BIOs) fed arbitrary bytes as the client's records.
    case tlsHandshake = "tls-handshake"
    /// The order CSV of `crm order import`; every order it gives adds up, encodes, and keeps its key.
    case orderCSV = "order-csv"

    /// Runs the target on one input.
    public func run(_ input: UnsafeRawBufferPointer) {
        switch self {
        case .frames: FrameFuzzing.run(input)
        case .connection: ConnectionFuzzing.run(input)
        case .messages: MessageFuzzing.run(input)
        case .handles: HandleFuzzing.run(input)
        case .storedFacts: StoredFactFuzzing.run(input)
        case .configuration: ConfigurationFuzzing.run(input)
        case .tlsHandshake: TLSHandshakeFuzzing.run(input)
        case .orderCSV: OrderCSVFuzzing.run(input)
        }
    }

    /// Runs the target on `bytes`.
    public func run(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { run($0) }
    }
}

/// Reads the leading bytes an input spends on choices (a role, a chunk size, a message type) and leaves the rest.
struct FuzzInput {
    private var bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The next byte, or 0 when the input is used up.
    mutating func choice() -> UInt8 {
        guard let first = bytes.first else { return 0 }
        bytes = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
        return first
    }

    /// What is left after the choices.
    var rest: UnsafeRawBufferPointer { bytes }

    /// What is left, as text (invalid UTF-8 repaired as any reader of the file would).
    var restAsText: String { String(decoding: bytes, as: UTF8.self) }
}

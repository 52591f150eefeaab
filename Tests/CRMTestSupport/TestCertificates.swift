import Foundation
import Synchronization

/// The certificate set `tools/gen-certs` makes, generated once per test process in a temporary
/// folder and removed at exit; shared by the TLS and RPC tests.
public struct TestCertificates: Sendable {
    /// The folder holding the certificate set.
    public let directory: String

    /// The file `name` in the set.
    public func path(_ name: String) -> String { "\(directory)/\(name)" }

    public var caFile: String { path("ca.pem") }
    public var serverCertificate: String { path("server.pem") }
    public var serverKey: String { path("server.key") }
    /// A CA no test trusts, for refusal tests.
    public var untrustedCAFile: String { path("untrusted-ca.pem") }

    /// The certificate and key of a client identity: `client-adapter`, `client-agent`, `untrusted-client`.
    public func identity(_ name: String) -> (certificate: String, key: String) {
        (path("\(name).pem"), path("\(name).key"))
    }

    /// The shared set; the first caller runs the script.
    public static func shared() throws -> TestCertificates {
        try generated.get()
    }

    private static let generated: Result<TestCertificates, any Error> = Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("crm-tests-\(UUID().uuidString)").path
        try runTool(script: genCertsPath, arguments: [directory])
        removeAtExit.withLock { $0 = directory }
        atexit {
            if let directory = TestCertificates.removeAtExit.withLock({ $0 }) {
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        return TestCertificates(directory: directory)
    }

    private static let removeAtExit = Mutex<String?>(nil)

    /// tools/gen-certs, found from this file's place in the repository (through the symlinks of a scratch package).
    public static var genCertsPath: String {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent()  // CRMTestSupport
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // repository
            .appendingPathComponent("tools/gen-certs").path
    }

    /// Runs an executable and fails with its output if it does not exit with 0.
    public static func runTool(script: String, arguments: [String]) throws {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ToolFailed(command: ([script] + arguments).joined(separator: " "), output: text)
        }
    }

    public struct ToolFailed: Error, CustomStringConvertible {
        var command: String
        var output: String
        public var description: String { "\(command) failed:\n\(output)" }
    }
}

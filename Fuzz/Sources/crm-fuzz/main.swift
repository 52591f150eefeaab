// libFuzzer's entry points. libFuzzer brings its own `main`, so this file declares functions only; the target is
// chosen by the environment variable CRM_FUZZ_TARGET (tools/fuzz sets it).
import CRMFuzzTargets

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `text` to standard error (unbuffered, and safe from any thread).
func complain(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

enum Driver {
    static let target: FuzzTarget = {
        let name = getenv("CRM_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            complain("crm-fuzz: set CRM_FUZZ_TARGET to one of \(names) (got \"\(name)\"); tools/fuzz does it")
            exit(2)
        }
        return target
    }()
}

/// Before the first input: with CRM_FUZZ_WRITE_SEEDS=DIR, writes the target's seeds into DIR and exits.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let target = Driver.target
    if let directory = getenv("CRM_FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) {
        for (index, seed) in target.seeds.enumerated() {
            let path = "\(directory)/seed-\(index)"
            guard let file = fopen(path, "wb") else {
                complain("crm-fuzz: cannot write \(path)")
                exit(1)
            }
            _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
        exit(0)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Driver.target.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

import CRMFuzzTargets
import Foundation
import Testing

/// Every committed input of every fuzz target, run through the target as `tools/fuzz` runs it: the seed corpus
/// (`Fuzz/Corpus/TARGET`) and every input that once crashed it (`Fuzz/Crashes/TARGET`). A target traps on a broken
/// property, so a crash that comes back fails the suite by stopping it, naming the target and the property.
@Suite("Fuzz inputs")
struct FuzzRegressionTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(_ folder: String, of target: FuzzTarget) -> [URL] {
        let directory = fuzzDirectory.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test("every target has a committed corpus, and its seeds, corpus and past crash inputs run through it", arguments: FuzzTarget.allCases)
    func committedInputs(target: FuzzTarget) throws {
        #expect(!target.seeds.isEmpty)
        for seed in target.seeds { target.run(seed) }
        let corpus = Self.inputs("Corpus", of: target)
        #expect(!corpus.isEmpty, "Fuzz/Corpus/\(target.rawValue) holds nothing; tools/fuzz --seed writes the seeds there")
        for file in corpus + Self.inputs("Crashes", of: target) {
            target.run([UInt8](try Data(contentsOf: file)))
        }
    }
}

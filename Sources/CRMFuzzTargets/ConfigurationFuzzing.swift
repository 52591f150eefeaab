import CRMServer

/// `crmd`'s configuration file: any text is parsed and resolved into a configuration, or refused with a
/// `ConfigurationError` that names the file and line.
enum ConfigurationFuzzing {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        let text = FuzzInput(bytes).restAsText
        do {
            _ = try ServerConfiguration.resolve(
                flags: [:], configFile: "fuzz.conf", environment: [:], readFile: { _ in text })
        } catch is ConfigurationError {
        } catch {
            preconditionFailure("a configuration file was refused without a ConfigurationError: \(error)")
        }
    }
}

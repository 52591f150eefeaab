// crm-protogen --descriptor-set FILE --out DIR [--import MODULE]... [--registry NAME] [--clients] PROTO...
//
// Writes DIR/<name>.pb.swift for each PROTO (as named in the descriptor set, such as
// crm/v1/rpc.proto), and DIR/<NAME>.pb.swift listing every generated type when --registry
// is given. With --clients it writes instead DIR/<name>.client.swift, the typed client stubs
// of each PROTO that declares a service, and with --registry DIR/<NAME>.client.swift, every
// method of those services callable by name with JSON. tools/gen-protos runs it; see there.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func readFile(_ path: String) throws -> [UInt8] {
    guard let f = fopen(path, "rb") else { throw GeneratorError.usage("cannot open \(path)") }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n <= 0 { break }
        out += buffer[0..<n]
    }
    return out
}

func writeFile(_ path: String, _ text: String) throws {
    guard let f = fopen(path, "wb") else { throw GeneratorError.usage("cannot write \(path)") }
    defer { fclose(f) }
    let bytes = Array(text.utf8)
    guard fwrite(bytes, 1, bytes.count, f) == bytes.count else { throw GeneratorError.usage("short write to \(path)") }
}

func run() throws {
    var args = Array(CommandLine.arguments.dropFirst())
    var descriptorSet = ""
    var out = ""
    // Whole import lines: `--import M` is internal, `--public-import M` is for modules the generated public API names.
    var imports: [String] = []
    var registryOnly = false
    var registry = ""
    var protos: [String] = []
    var clients = false
    while !args.isEmpty {
        let a = args.removeFirst()
        func value() throws -> String {
            guard !args.isEmpty else { throw GeneratorError.usage("\(a) needs a value") }
            return args.removeFirst()
        }
        switch a {
        case "--descriptor-set": descriptorSet = try value()
        case "--out": out = try value()
        case "--import": imports.append("import \(try value())")
        case "--public-import": imports.append("public import \(try value())")
        case "--registry-only": registryOnly = true
        case "--registry": registry = try value()
        case "--clients": clients = true
        default:
            if a.hasPrefix("-") { throw GeneratorError.usage("unknown option \(a)") }
            protos.append(a)
        }
    }
    guard !descriptorSet.isEmpty, !out.isEmpty, !protos.isEmpty else {
        throw GeneratorError.usage("usage: crm-protogen --descriptor-set FILE --out DIR [--import MODULE]... [--public-import MODULE]... [--registry NAME [--registry-only]] [--clients] PROTO...")
    }
    let files = try DescriptorSetDecoder.decode(try readFile(descriptorSet))
    let table = try TypeTable(files: files)
    try table.checkAcyclic()
    if clients {
        let emitter = ClientEmitter(table: table, importLines: imports)
        for proto in protos where !registryOnly {
            guard let file = files.first(where: { $0.name == proto }) else {
                throw GeneratorError.usage("\(proto) is not in \(descriptorSet)")
            }
            let base = proto.split(separator: "/").last.map(String.init) ?? proto
            let name = base.hasSuffix(".proto") ? String(base.dropLast(6)) : base
            if let text = try emitter.emit(file: file) { try writeFile("\(out)/\(name).client.swift", text) }
        }
        if !registry.isEmpty {
            let selected = protos.compactMap { proto in files.first(where: { $0.name == proto }) }
            try writeFile("\(out)/\(registry).client.swift", try emitter.emitRegistry(name: registry, files: selected))
        }
        return
    }
    let emitter = SwiftEmitter(table: table, importLines: imports)
    var selected: [FileDescriptor] = []
    for proto in protos {
        guard let file = files.first(where: { $0.name == proto }) else {
            throw GeneratorError.usage("\(proto) is not in \(descriptorSet)")
        }
        selected.append(file)
        let base = proto.split(separator: "/").last.map(String.init) ?? proto
        let name = base.hasSuffix(".proto") ? String(base.dropLast(6)) : base
        try writeFile("\(out)/\(name).pb.swift", try emitter.emit(file: file))
    }
    if !registry.isEmpty {
        try writeFile("\(out)/\(registry).pb.swift", try emitter.emitRegistry(name: registry, files: selected))
    }
}

do {
    try run()
} catch {
    let message = "\(error)\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    exit(1)
}

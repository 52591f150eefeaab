/// Writes the Swift value types of one `.proto` file, and their bridge to protoc-c's C.

/// What the generator knows of every message and enum in the descriptor set.
struct TypeTable {
    struct Entry {
        var swiftPath: String
        var cType: String
        var cPrefix: String
        var isEnum: Bool
        var zeroCase: String
    }

    private(set) var entries: [String: Entry] = [:]
    private(set) var messages: [String: MessageDescriptor] = [:]

    init(files: [FileDescriptor]) throws {
        for file in files {
            let package = file.package
            for e in file.enums { try add(e, package: package) }
            for m in file.messages { try add(m, package: package) }
        }
    }

    private mutating func add(_ e: EnumDescriptor, package: String) throws {
        guard let zero = e.values.first(where: { $0.number == 0 }) else {
            throw GeneratorError.schema("enum \(e.fullName) needs a value numbered 0")
        }
        entries["." + e.fullName] = Entry(
            swiftPath: Self.swiftPath(e.fullName, package: package), cType: CNaming.typeName(e.fullName),
            cPrefix: CNaming.functionPrefix(e.fullName), isEnum: true,
            zeroCase: try SwiftNaming.enumCase(zero.name, enumName: e.name))
    }

    private mutating func add(_ m: MessageDescriptor, package: String) throws {
        if m.isMapEntry {
            throw GeneratorError.schema("\(m.fullName): map fields are not supported (protoc-c has none); use a repeated entry message")
        }
        entries["." + m.fullName] = Entry(
            swiftPath: Self.swiftPath(m.fullName, package: package), cType: CNaming.typeName(m.fullName),
            cPrefix: CNaming.functionPrefix(m.fullName), isEnum: false, zeroCase: "")
        messages["." + m.fullName] = m
        for e in m.enums { try add(e, package: package) }
        for n in m.messages { try add(n, package: package) }
    }

    private static func swiftPath(_ fullName: String, package: String) -> String {
        package.isEmpty ? fullName : String(fullName.dropFirst(package.count + 1))
    }

    func entry(_ typeName: String, from context: String) throws -> Entry {
        guard let e = entries[typeName] else {
            throw GeneratorError.schema("\(context) refers to \(typeName), which is not in the descriptor set")
        }
        return e
    }

    /// Fails on a message that contains itself through any chain of singular or repeated
    /// message fields: the Swift types are value structs, which cannot be recursive.
    func checkAcyclic() throws {
        var state: [String: Bool] = [:]  // false: on the current path, true: done
        func visit(_ name: String, path: [String]) throws {
            if let done = state[name] {
                if !done {
                    let cycle = (path + [name]).map { $0.dropFirst() }.joined(separator: " → ")
                    throw GeneratorError.schema("recursive message types are not supported: \(cycle)")
                }
                return
            }
            state[name] = false
            for f in messages[name]?.fields ?? [] where f.type == .message {
                try visit(f.typeName, path: path + [name])
            }
            state[name] = true
        }
        for name in messages.keys.sorted() { try visit(name, path: []) }
    }
}

/// Builds Swift source text with indentation.
struct SourceWriter {
    private(set) var text = ""
    private var level = 0

    mutating func line(_ s: String = "") {
        text += s.isEmpty ? "\n" : String(repeating: "    ", count: level) + s + "\n"
    }

    mutating func doc(_ comment: String, fallback: String = "") {
        let lines = comment.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(" ") ? String($0.dropFirst()) : String($0) }
        var trimmed = lines
        while let last = trimmed.last, last.trimmingSpaces.isEmpty { trimmed.removeLast() }
        while let first = trimmed.first, first.trimmingSpaces.isEmpty { trimmed.removeFirst() }
        if trimmed.isEmpty {
            if !fallback.isEmpty { line("/// \(fallback)") }
            return
        }
        for l in trimmed { line(l.isEmpty ? "///" : "/// \(l)") }
    }

    mutating func indent(_ body: (inout SourceWriter) throws -> Void) rethrows {
        level += 1
        try body(&self)
        level -= 1
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = self[...]
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}

/// How one field maps to Swift and to its C struct member.
struct FieldPlan {
    enum Shape {
        case scalar(swift: String, isBool: Bool)
        case string
        case bytes
        case enumeration(swift: String)
        case message(swift: String)
    }

    var field: FieldDescriptor
    var swiftName: String
    var shape: Shape
    var cMember: String

    var swiftElementType: String {
        switch shape {
        case .scalar(let swift, _): swift
        case .string: "String"
        case .bytes: "[UInt8]"
        case .enumeration(let swift), .message(let swift): swift
        }
    }

    var swiftType: String {
        if field.isRepeated { return "[\(swiftElementType)]" }
        if case .message = shape { return "\(swiftElementType)?" }
        return swiftElementType
    }

    func defaultValue(_ table: TypeTable) throws -> String {
        if field.isRepeated { return "[]" }
        switch shape {
        case .scalar(_, let isBool): return isBool ? "false" : "0"
        case .string: return "\"\""
        case .bytes: return "[]"
        case .enumeration: return "." + (try table.entry(field.typeName, from: field.name).zeroCase)
        case .message: return "nil"
        }
    }
}

struct SwiftEmitter {
    let table: TypeTable
    /// `import M` or `public import M`, one per module the generated code uses.
    let importLines: [String]

    func emit(file: FileDescriptor) throws -> String {
        guard file.syntax == "proto3" else {
            throw GeneratorError.schema("\(file.name): only proto3 is supported")
        }
        var w = SourceWriter()
        w.line("// Generated by crm-protogen from \(file.name). Do not edit:")
        w.line("// change the .proto file and run tools/gen-protos.")
        w.line()
        // The decoding initialisers are public and take protobuf-c's generated structs: CRMProtoC is public API.
        for line in ["import CProtobufC", "public import CRMProtoC"] + importLines { w.line(line) }
        for e in file.enums {
            w.line()
            try emitEnum(e, into: &w)
        }
        for m in file.messages {
            w.line()
            try emitMessage(m, into: &w)
        }
        var all: [MessageDescriptor] = []
        func collect(_ m: MessageDescriptor) {
            all.append(m)
            m.messages.forEach(collect)
        }
        file.messages.forEach(collect)
        for m in all {
            w.line()
            try emitBridge(m, into: &w)
        }
        for m in all {
            w.line()
            try emitJSON(m, into: &w)
        }
        for s in file.services {
            w.line()
            try emitService(s, into: &w)
        }
        return w.text
    }

    // MARK: enums

    private func emitEnum(_ e: EnumDescriptor, into w: inout SourceWriter) throws {
        var cases: [(name: String, value: EnumValueDescriptor)] = []
        var seen: Set<Int> = []
        for v in e.values {
            guard seen.insert(v.number).inserted else {
                throw GeneratorError.schema("\(e.fullName): enum aliases are not supported (\(v.name))")
            }
            cases.append((try SwiftNaming.enumCase(v.name, enumName: e.name), v))
        }
        w.doc(e.comment, fallback: "The protobuf enum `\(e.fullName)`.")
        w.line("public enum \(e.name): WireEnum {")
        w.indent { w in
            for c in cases {
                w.doc(c.value.comment)
                w.line("case \(SwiftNaming.escaped(c.name))")
            }
            w.line("/// A value this build does not know; kept so that it survives a round trip.")
            w.line("case unrecognized(Int32)")
            w.line()
            w.line("/// The fully qualified protobuf name of the enum.")
            w.line("public static let protoName = \"\(e.fullName)\"")
            w.line()
            w.line("/// Every value this build knows, in declaration order.")
            w.line("public static let allCases: [\(e.name)] = [\(cases.map { "." + SwiftNaming.escaped($0.name) }.joined(separator: ", "))]")
            w.line()
            w.line("/// The value numbered `rawValue` on the wire; unknown numbers become `.unrecognized`.")
            w.line("public init(rawValue: Int32) {")
            w.indent { w in
                w.line("switch rawValue {")
                for c in cases { w.line("case \(c.value.number): self = .\(SwiftNaming.escaped(c.name))") }
                w.line("default: self = .unrecognized(rawValue)")
                w.line("}")
            }
            w.line("}")
            w.line()
            w.line("/// The number this value has on the wire.")
            w.line("public var rawValue: Int32 {")
            w.indent { w in
                w.line("switch self {")
                for c in cases { w.line("case .\(SwiftNaming.escaped(c.name)): \(c.value.number)") }
                w.line("case .unrecognized(let number): number")
                w.line("}")
            }
            w.line("}")
            w.line()
            w.line("/// The name of the value in the .proto file, such as `\(cases[0].value.name)`.")
            w.line("public var protoName: String {")
            w.indent { w in
                w.line("switch self {")
                for c in cases { w.line("case .\(SwiftNaming.escaped(c.name)): \"\(c.value.name)\"") }
                w.line("case .unrecognized(let number): String(number)")
                w.line("}")
            }
            w.line("}")
            w.line()
            w.line("/// The value named `protoName` in the .proto file, or nil when no value has that name.")
            w.line("public init?(protoName: String) {")
            w.indent { w in
                w.line("switch protoName {")
                for c in cases { w.line("case \"\(c.value.name)\": self = .\(SwiftNaming.escaped(c.name))") }
                w.line("default: return nil")
                w.line("}")
            }
            w.line("}")
        }
        w.line("}")
    }

    // MARK: messages

    func plans(_ m: MessageDescriptor) throws -> [FieldPlan] {
        var names: Set<String> = []
        return try m.fields.map { f in
            if f.isProto3Optional {
                throw GeneratorError.schema("\(m.fullName).\(f.name): proto3 `optional` is not supported by protoc-c 1.4.1; use a wrapper message or a oneof")
            }
            let swiftName = SwiftNaming.lowerCamel(f.name)
            guard !SwiftNaming.reservedMembers.contains(swiftName), names.insert(swiftName).inserted else {
                throw GeneratorError.schema("\(m.fullName).\(f.name): its Swift name \(swiftName) is taken; rename the field")
            }
            let shape: FieldPlan.Shape
            switch f.type {
            case .double: shape = .scalar(swift: "Double", isBool: false)
            case .float: shape = .scalar(swift: "Float", isBool: false)
            case .int64, .sint64, .sfixed64: shape = .scalar(swift: "Int64", isBool: false)
            case .uint64, .fixed64: shape = .scalar(swift: "UInt64", isBool: false)
            case .int32, .sint32, .sfixed32: shape = .scalar(swift: "Int32", isBool: false)
            case .uint32, .fixed32: shape = .scalar(swift: "UInt32", isBool: false)
            case .bool: shape = .scalar(swift: "Bool", isBool: true)
            case .string: shape = .string
            case .bytes: shape = .bytes
            case .enumeration:
                shape = .enumeration(swift: try table.entry(f.typeName, from: "\(m.fullName).\(f.name)").swiftPath)
            case .message:
                shape = .message(swift: try table.entry(f.typeName, from: "\(m.fullName).\(f.name)").swiftPath)
            case .group:
                throw GeneratorError.schema("\(m.fullName).\(f.name): groups are not supported")
            }
            return FieldPlan(field: f, swiftName: swiftName, shape: shape, cMember: CNaming.member(f.name))
        }
    }

    private func emitMessage(_ m: MessageDescriptor, into w: inout SourceWriter) throws {
        let fields = try plans(m)
        let plain = fields.filter { $0.field.oneofIndex == nil }
        let nestedNames = Set(m.messages.map(\.name) + m.enums.map(\.name))
        w.doc(m.comment, fallback: "The protobuf message `\(m.fullName)`.")
        w.line("public struct \(m.name): WireMessage {")
        try w.indent { w in
            w.line("/// The fully qualified protobuf name of the message.")
            w.line("public static let protoName = \"\(m.fullName)\"")
            // Stored properties, in field-number order for plain fields, then one per oneof.
            for p in plain {
                w.line()
                w.doc(p.field.comment)
                w.line("public var \(SwiftNaming.escaped(p.swiftName)): \(p.swiftType) = \(try p.defaultValue(table))")
            }
            for (i, o) in m.oneofs.enumerated() {
                let typeName = SwiftNaming.upperCamel(o.name)
                if nestedNames.contains(typeName) {
                    throw GeneratorError.schema("\(m.fullName): oneof \(o.name) would be Swift type \(typeName), which a nested type already names")
                }
                w.line()
                w.doc(o.comment, fallback: "At most one of these is set; nil when none is.")
                w.line("public var \(SwiftNaming.escaped(SwiftNaming.lowerCamel(o.name))): \(typeName)? = nil")
                w.line()
                w.line("/// The choices of the oneof `\(o.name)`.")
                w.line("public enum \(typeName): Sendable, Hashable {")
                w.indent { w in
                    for p in fields where p.field.oneofIndex == i {
                        w.doc(p.field.comment)
                        w.line("case \(SwiftNaming.escaped(p.swiftName))(\(p.swiftElementType))")
                    }
                }
                w.line("}")
            }
            w.line()
            w.line("/// Creates a message with every field at its default.")
            w.line("public init() {}")
            let params = try plain.map { "\(SwiftNaming.escaped($0.swiftName)): \($0.swiftType) = \(try $0.defaultValue(table))" }
                + m.oneofs.map { "\(SwiftNaming.escaped(SwiftNaming.lowerCamel($0.name))): \(SwiftNaming.upperCamel($0.name))? = nil" }
            if !params.isEmpty {
                w.line()
                w.line("/// Creates a message from the fields given; the others keep their defaults.")
                w.line("public init(")
                w.indent { w in
                    for (i, p) in params.enumerated() { w.line(p + (i == params.count - 1 ? "" : ",")) }
                }
                w.line(") {")
                w.indent { w in
                    let names = plain.map(\.swiftName) + m.oneofs.map { SwiftNaming.lowerCamel($0.name) }
                    for n in names { w.line("self.\(n) = \(SwiftNaming.escaped(n))") }
                }
                w.line("}")
            }
            for e in m.enums {
                w.line()
                try emitEnum(e, into: &w)
            }
            for n in m.messages {
                w.line()
                try emitMessage(n, into: &w)
            }
        }
        w.line("}")
    }

    // MARK: the C bridge

    private func emitBridge(_ m: MessageDescriptor, into w: inout SourceWriter) throws {
        let entry = try table.entry("." + m.fullName, from: m.fullName)
        let fields = try plans(m)
        w.line("extension \(entry.swiftPath) {")
        try w.indent { w in
            w.line("/// The C struct protoc-c generates for this message.")
            w.line("public typealias CMessage = \(entry.cType)")
            w.line()
            w.line("/// The protobuf-c descriptor of the message.")
            w.line("public static let wireDescriptor = WireDescriptor(\(entry.cType).self, initializer: \(entry.cPrefix)__init)")
            w.line()
            w.line("/// Fills the C struct at `c` from this value; memory comes from the encoder's arena.")
            w.line("public func encodeC(into c: UnsafeMutablePointer<\(entry.cType)>, encoder e: inout WireCEncoder) throws(WireEncodingError) {")
            try w.indent { w in
                w.line("\(entry.cPrefix)__init(c)")
                for p in fields where p.field.oneofIndex == nil {
                    try encodePlain(p, into: &w)
                }
                for (i, o) in m.oneofs.enumerated() {
                    let prop = SwiftNaming.escaped(SwiftNaming.lowerCamel(o.name))
                    w.line("switch \(prop) {")
                    w.line("case nil: break")
                    for p in fields where p.field.oneofIndex == i {
                        w.line("case .\(SwiftNaming.escaped(p.swiftName))(let value)?:")
                        w.indent { w in
                            w.line("c.pointee.\(o.name.lowercased())_case = .init(rawValue: \(p.field.number))")
                            // protobuf-c skips a chosen string that points at the shared
                            // empty default, so a chosen empty string gets its own copy.
                            let value = if case .string = p.shape {
                                "try e.chosenString(value, field: \(fieldLiteral(p)))"
                            } else {
                                encodeValue(p, "value")
                            }
                            w.line("c.pointee.\(p.cMember) = \(value)")
                        }
                    }
                    w.line("}")
                }
            }
            w.line("}")
            w.line()
            w.line("/// Reads a value from the C struct protobuf-c unpacked at `c`.")
            w.line("public init(decodingC c: UnsafePointer<\(entry.cType)>, decoder d: inout WireCDecoder) throws(WireDecodingError) {")
            try w.indent { w in
                for p in fields where p.field.oneofIndex == nil {
                    w.line("\(SwiftNaming.escaped(p.swiftName)) = \(try decodePlain(p))")
                }
                for (i, o) in m.oneofs.enumerated() {
                    let prop = SwiftNaming.escaped(SwiftNaming.lowerCamel(o.name))
                    w.line("switch c.pointee.\(o.name.lowercased())_case.rawValue {")
                    for p in fields where p.field.oneofIndex == i {
                        w.line("case \(p.field.number): \(prop) = .\(SwiftNaming.escaped(p.swiftName))(\(decodeValue(p, inOneof: true)))")
                    }
                    w.line("default: \(prop) = nil")
                    w.line("}")
                }
            }
            w.line("}")
        }
        w.line("}")
    }

    private func fieldLiteral(_ p: FieldPlan) -> String { "\"\(p.field.name)\"" }

    /// The expression that turns one Swift value of a singular field into its C form.
    private func encodeValue(_ p: FieldPlan, _ v: String) -> String {
        switch p.shape {
        case .scalar(_, let isBool): isBool ? "\(v) ? 1 : 0" : v
        case .string: "try e.string(\(v), field: \(fieldLiteral(p)))"
        case .bytes: "e.bytes(\(v))"
        case .enumeration: ".init(rawValue: .init(truncatingIfNeeded: \(v).rawValue))"
        case .message: "try e.message(\(v), field: \(fieldLiteral(p)))"
        }
    }

    private func encodePlain(_ p: FieldPlan, into w: inout SourceWriter) throws {
        let v = "self." + p.swiftName
        let member = "c.pointee.\(p.cMember)"
        if p.field.isRepeated {
            w.line("c.pointee.n_\(p.cMember) = \(v).count")
            switch p.shape {
            case .scalar(_, let isBool):
                w.line(isBool ? "\(member) = e.mapped(\(v)) { $0 ? 1 : 0 }" : "\(member) = e.scalars(\(v))")
            case .string: w.line("\(member) = try e.strings(\(v), field: \(fieldLiteral(p)))")
            case .bytes: w.line("\(member) = e.bytesList(\(v))")
            case .enumeration: w.line("\(member) = e.mapped(\(v)) { .init(rawValue: .init(truncatingIfNeeded: $0.rawValue)) }")
            case .message: w.line("\(member) = try e.messages(\(v), field: \(fieldLiteral(p)))")
            }
            return
        }
        switch p.shape {
        case .string, .bytes:
            // The C default is already the empty value; proto3 does not send it.
            w.line("if !\(v).isEmpty { \(member) = \(encodeValue(p, v)) }")
        case .message:
            w.line("if let value = \(v) { \(member) = \(encodeValue(p, "value")) }")
        case .scalar, .enumeration:
            w.line("\(member) = \(encodeValue(p, v))")
        }
    }

    /// The expression that reads one singular value of a field from its C form.
    private func decodeValue(_ p: FieldPlan, inOneof: Bool = false) -> String {
        let member = "c.pointee.\(p.cMember)"
        switch p.shape {
        case .scalar(_, let isBool): return isBool ? "\(member) != 0" : member
        case .string: return "try d.string(\(member), field: \(fieldLiteral(p)))"
        case .bytes: return "d.bytes(\(member))"
        case .enumeration(let swift): return "\(swift)(rawValue: Int32(truncatingIfNeeded: \(member).rawValue))"
        case .message(let swift):
            // A oneof's chosen message is present even when empty.
            let helper = inOneof ? "chosenMessage" : "message"
            return "try d.\(helper)(\(member), as: \(swift).self, field: \(fieldLiteral(p)))"
        }
    }

    private func decodePlain(_ p: FieldPlan) throws -> String {
        guard p.field.isRepeated else { return decodeValue(p) }
        let n = "c.pointee.n_\(p.cMember)"
        let member = "c.pointee.\(p.cMember)"
        let field = fieldLiteral(p)
        switch p.shape {
        case .scalar(_, let isBool):
            return isBool
                ? "try d.mapped(\(n), \(member), field: \(field)) { $0 != 0 }"
                : "try d.scalars(\(n), \(member), field: \(field))"
        case .string: return "try d.strings(\(n), \(member), field: \(field))"
        case .bytes: return "try d.bytesList(\(n), \(member), field: \(field))"
        case .enumeration(let swift):
            return "try d.mapped(\(n), \(member), field: \(field)) { \(swift)(rawValue: Int32(truncatingIfNeeded: $0.rawValue)) }"
        case .message(let swift): return "try d.messages(\(n), \(member), as: \(swift).self, field: \(field))"
        }
    }

    // MARK: services

    private func emitService(_ s: ServiceDescriptor, into w: inout SourceWriter) throws {
        w.doc(s.comment, fallback: "The protobuf service `\(s.fullName)`.")
        w.line("public enum \(s.name) {")
        try w.indent { w in
            w.line("/// The fully qualified service name.")
            w.line("public static let name = \"\(s.fullName)\"")
            for m in s.methods {
                let input = try table.entry(m.inputType, from: "\(s.fullName).\(m.name)").swiftPath
                let output = try table.entry(m.outputType, from: "\(s.fullName).\(m.name)").swiftPath
                let kind = switch (m.clientStreaming, m.serverStreaming) {
                case (false, false): "unary"
                case (false, true): "serverStreaming"
                case (true, false): "clientStreaming"
                case (true, true): "bidirectionalStreaming"
                }
                w.line()
                w.doc(m.comment)
                w.line("public static let \(SwiftNaming.escaped(SwiftNaming.lowerCamel(CNaming.camelToLower(m.name)))) = WireMethod<\(input), \(output)>(")
                w.indent { w in w.line("service: name, method: \"\(m.name)\", kind: .\(kind))") }
            }
            w.line()
            w.line("/// Every method of the service, in declaration order.")
            let list = s.methods.map { SwiftNaming.escaped(SwiftNaming.lowerCamel(CNaming.camelToLower($0.name))) + ".info" }
            w.line("public static let methods: [WireMethodInfo] = [\(list.joined(separator: ", "))]")
        }
        w.line("}")
    }

    /// The registry of every message, enum and service of a module, for reflection and tests.
    func emitRegistry(name: String, files: [FileDescriptor]) throws -> String {
        var w = SourceWriter()
        w.line("// Generated by crm-protogen. Do not edit: run tools/gen-protos.")
        w.line()
        for line in importLines { w.line(line) }
        if !importLines.isEmpty { w.line() }
        w.line("/// Every generated type of this module, for reflection and exhaustive tests.")
        w.line("public enum \(name) {")
        try w.indent { w in
            var messages: [String] = []
            var enums: [String] = []
            func collect(_ m: MessageDescriptor) throws {
                messages.append(try table.entry("." + m.fullName, from: m.fullName).swiftPath)
                for e in m.enums { enums.append(try table.entry("." + e.fullName, from: e.fullName).swiftPath) }
                try m.messages.forEach(collect)
            }
            for f in files {
                try f.messages.forEach(collect)
                for e in f.enums { enums.append(try table.entry("." + e.fullName, from: e.fullName).swiftPath) }
            }
            w.line("/// Every message type.")
            w.line("public static let messageTypes: [any WireMessage.Type] = [")
            w.indent { w in for m in messages { w.line("\(m).self,") } }
            w.line("]")
            w.line()
            w.line("/// Every enum type.")
            w.line("public static let enumTypes: [any WireEnum.Type] = [")
            w.indent { w in for e in enums { w.line("\(e).self,") } }
            w.line("]")
            w.line()
            w.line("/// Every method of every service.")
            w.line("public static let methods: [WireMethodInfo] =")
            let services = files.flatMap(\.services).map { "\($0.name).methods" }
            w.indent { w in w.line(services.isEmpty ? "[]" : services.joined(separator: " + ")) }
        }
        w.line("}")
        return w.text
    }
}

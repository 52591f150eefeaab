/// Writes each message's proto3 JSON mapping (`WireJSONMessage`): `init(json:path:)` and `json`, field by field,
/// so no message's JSON is written by hand.
extension SwiftEmitter {
    /// protoc's JSON name of a field: `customer_id` → `customerId`.
    static func jsonName(_ fieldName: String) -> String {
        var out = ""
        var upper = false
        for ch in fieldName {
            if ch == "_" {
                upper = true
            } else if upper {
                out += ch.uppercased()
                upper = false
            } else {
                out.append(ch)
            }
        }
        return out
    }

    func emitJSON(_ m: MessageDescriptor, into w: inout SourceWriter) throws {
        let entry = try table.entry("." + m.fullName, from: m.fullName)
        let fields = try plans(m)
        let jsonNames = fields.map { Self.jsonName($0.field.name) }
        w.line("extension \(entry.swiftPath): WireJSONMessage {")
        try w.indent { w in
            w.line("/// The message `json` holds (proto3 JSON mapping); `path` names it in errors.")
            w.line("public init(json: JSONValue, path: String) throws(WireJSONError) {")
            try w.indent { w in
                w.line("self.init()")
                w.line("for (jsonKey, jsonValue) in try WireJSON.fields(json, path, message: Self.protoName) {")
                try w.indent { w in
                    w.line("if case .null = jsonValue { continue }")
                    w.line("switch jsonKey {")
                    for (p, json) in zip(fields, jsonNames) {
                        let names = json == p.field.name ? "\"\(json)\"" : "\"\(json)\", \"\(p.field.name)\""
                        w.line("case \(names):")
                        try w.indent { w in
                            let decode = try decoder(p, path: "path + \".\(json)\"")
                            if let index = p.field.oneofIndex {
                                let oneof = m.oneofs[index]
                                let property = "self." + SwiftNaming.escaped(SwiftNaming.lowerCamel(oneof.name))
                                let members = fields.filter { $0.field.oneofIndex == index }.map { "\"\(Self.jsonName($0.field.name))\"" }
                                w.line("guard \(property) == nil else {")
                                w.indent { w in
                                    w.line("throw WireJSON.secondOneofMember(\"\(json)\", path, oneof: \"\(oneof.name)\", members: [\(members.joined(separator: ", "))])")
                                }
                                w.line("}")
                                w.line("\(property) = .\(SwiftNaming.escaped(p.swiftName))(\(decode))")
                            } else {
                                w.line("self.\(SwiftNaming.escaped(p.swiftName)) = \(decode)")
                            }
                        }
                    }
                    w.line("default:")
                    w.indent { w in
                        w.line("throw WireJSON.unknownField(jsonKey, path, message: Self.protoName, fields: [\(jsonNames.map { "\"\($0)\"" }.joined(separator: ", "))])")
                    }
                    w.line("}")
                }
                w.line("}")
            }
            w.line("}")
            w.line()
            w.line("/// The message as JSON (proto3 JSON mapping), default values left out.")
            w.line("public var json: JSONValue {")
            try w.indent { w in
                w.line(fields.isEmpty ? "let fields: [String: JSONValue] = [:]" : "var fields: [String: JSONValue] = [:]")
                for (p, json) in zip(fields, jsonNames) where p.field.oneofIndex == nil {
                    let name = "self." + SwiftNaming.escaped(p.swiftName)
                    if p.field.isRepeated {
                        w.line("if !\(name).isEmpty { fields[\"\(json)\"] = .array(\(name).map { WireJSON.value($0) }) }")
                        continue
                    }
                    switch p.shape {
                    case .message: w.line("if let v = \(name) { fields[\"\(json)\"] = v.json }")
                    case .scalar(_, let isBool): w.line("if \(name) != \(isBool ? "false" : "0") { fields[\"\(json)\"] = WireJSON.value(\(name)) }")
                    case .string, .bytes: w.line("if !\(name).isEmpty { fields[\"\(json)\"] = WireJSON.value(\(name)) }")
                    case .enumeration: w.line("if \(name).rawValue != 0 { fields[\"\(json)\"] = WireJSON.value(\(name)) }")
                    }
                }
                for (index, oneof) in m.oneofs.enumerated() {
                    let property = "self." + SwiftNaming.escaped(SwiftNaming.lowerCamel(oneof.name))
                    w.line("switch \(property) {")
                    for (p, json) in zip(fields, jsonNames) where p.field.oneofIndex == index {
                        w.line("case .\(SwiftNaming.escaped(p.swiftName))(let v)?: fields[\"\(json)\"] = WireJSON.value(v)")
                    }
                    w.line("case nil: break")
                    w.line("}")
                }
                w.line("return .object(fields)")
            }
            w.line("}")
        }
        w.line("}")
    }

    /// The expression that reads field `p` from `jsonValue`.
    private func decoder(_ p: FieldPlan, path: String) throws -> String {
        let helpers = ["Double": "double", "Float": "float", "Int64": "int64", "UInt64": "uint64", "Int32": "int32", "UInt32": "uint32", "Bool": "bool"]
        func one(_ value: String, _ path: String) throws -> String {
            switch p.shape {
            case .scalar(let swift, _):
                guard let helper = helpers[swift] else { throw GeneratorError.schema("\(p.field.name): no JSON mapping for \(swift)") }
                return "try WireJSON.\(helper)(\(value), \(path))"
            case .string: return "try WireJSON.string(\(value), \(path))"
            case .bytes: return "try WireJSON.bytes(\(value), \(path))"
            case .enumeration(let swift): return "try WireJSON.enumeration(\(value), \(path)) as \(swift)"
            case .message(let swift): return "try \(swift)(json: \(value), path: \(path))"
            }
        }
        guard p.field.isRepeated else { return try one("jsonValue", path) }
        return "try WireJSON.repeated(jsonValue, \(path)) { v, p throws(WireJSONError) in \(try one("v", "p")) }"
    }
}

/// The parts of `google/protobuf/descriptor.proto` the generator reads, decoded from a
/// `FileDescriptorSet` (with source info, so that comments become Swift documentation).

/// A protobuf field type, numbered as in `FieldDescriptorProto.Type`.
enum FieldType: Int {
    case double = 1, float, int64, uint64, int32, fixed64, fixed32, bool, string, group, message, bytes,
        uint32, enumeration, sfixed32, sfixed64, sint32, sint64
}

struct FieldDescriptor {
    var name = ""
    var number = 0
    var isRepeated = false
    var type: FieldType = .int32
    /// Fully qualified, with a leading dot, for message and enum fields.
    var typeName = ""
    var oneofIndex: Int?
    var isProto3Optional = false
    var comment = ""
}

struct OneofDescriptor {
    var name = ""
    var comment = ""
}

struct EnumValueDescriptor {
    var name = ""
    var number = 0
    var comment = ""
}

struct EnumDescriptor {
    var name = ""
    var fullName = ""
    var values: [EnumValueDescriptor] = []
    var comment = ""
}

struct MessageDescriptor {
    var name = ""
    var fullName = ""
    var fields: [FieldDescriptor] = []
    var oneofs: [OneofDescriptor] = []
    var messages: [MessageDescriptor] = []
    var enums: [EnumDescriptor] = []
    var isMapEntry = false
    var comment = ""
}

struct MethodDescriptor {
    var name = ""
    var inputType = ""
    var outputType = ""
    var clientStreaming = false
    var serverStreaming = false
    var comment = ""
}

struct ServiceDescriptor {
    var name = ""
    var fullName = ""
    var methods: [MethodDescriptor] = []
    var comment = ""
}

struct FileDescriptor {
    var name = ""
    var package = ""
    var syntax = ""
    var messages: [MessageDescriptor] = []
    var enums: [EnumDescriptor] = []
    var services: [ServiceDescriptor] = []
}

/// Decodes a serialized `FileDescriptorSet`.
enum DescriptorSetDecoder {
    static func decode(_ bytes: [UInt8]) throws -> [FileDescriptor] {
        var files: [FileDescriptor] = []
        try ProtobufReader.forEachField(in: bytes[...]) { number, value in
            if number == 1 { files.append(try file(value.slice)) }
        }
        return files
    }

    private static func file(_ bytes: ArraySlice<UInt8>) throws -> FileDescriptor {
        var file = FileDescriptor()
        var comments: [[Int]: String] = [:]
        var messageBytes: [ArraySlice<UInt8>] = []
        var enumBytes: [ArraySlice<UInt8>] = []
        var serviceBytes: [ArraySlice<UInt8>] = []
        try ProtobufReader.forEachField(in: bytes) { number, value in
            switch number {
            case 1: file.name = value.string
            case 2: file.package = value.string
            case 4: messageBytes.append(value.slice)
            case 5: enumBytes.append(value.slice)
            case 6: serviceBytes.append(value.slice)
            case 9: comments = try sourceComments(value.slice)
            case 12: file.syntax = value.string
            default: break
            }
        }
        let prefix = file.package.isEmpty ? "" : file.package + "."
        for (i, b) in messageBytes.enumerated() {
            file.messages.append(try message(b, scope: prefix, path: [4, i], comments: comments))
        }
        for (i, b) in enumBytes.enumerated() {
            file.enums.append(try enumeration(b, scope: prefix, path: [5, i], comments: comments))
        }
        for (i, b) in serviceBytes.enumerated() {
            file.services.append(try service(b, scope: prefix, path: [6, i], comments: comments))
        }
        return file
    }

    private static func message(
        _ bytes: ArraySlice<UInt8>, scope: String, path: [Int], comments: [[Int]: String]
    ) throws -> MessageDescriptor {
        var m = MessageDescriptor()
        var fieldBytes: [ArraySlice<UInt8>] = []
        var nestedBytes: [ArraySlice<UInt8>] = []
        var enumBytes: [ArraySlice<UInt8>] = []
        var oneofBytes: [ArraySlice<UInt8>] = []
        try ProtobufReader.forEachField(in: bytes) { number, value in
            switch number {
            case 1: m.name = value.string
            case 2: fieldBytes.append(value.slice)
            case 3: nestedBytes.append(value.slice)
            case 4: enumBytes.append(value.slice)
            case 7:
                // MessageOptions.map_entry = 7
                try ProtobufReader.forEachField(in: value.slice) { n, v in
                    if n == 7 && v.uint64 != 0 { m.isMapEntry = true }
                }
            case 8: oneofBytes.append(value.slice)
            default: break
            }
        }
        m.fullName = scope + m.name
        m.comment = comments[path] ?? ""
        for (i, b) in fieldBytes.enumerated() {
            var f = FieldDescriptor()
            try ProtobufReader.forEachField(in: b) { number, value in
                switch number {
                case 1: f.name = value.string
                case 3: f.number = Int(value.uint64)
                case 4: f.isRepeated = value.uint64 == 3
                case 5: f.type = FieldType(rawValue: Int(value.uint64)) ?? .int32
                case 6: f.typeName = value.string
                case 9: f.oneofIndex = Int(value.uint64)
                case 17: f.isProto3Optional = value.uint64 != 0
                default: break
                }
            }
            f.comment = comments[path + [2, i]] ?? ""
            m.fields.append(f)
        }
        for (i, b) in oneofBytes.enumerated() {
            var o = OneofDescriptor()
            try ProtobufReader.forEachField(in: b) { number, value in
                if number == 1 { o.name = value.string }
            }
            o.comment = comments[path + [8, i]] ?? ""
            m.oneofs.append(o)
        }
        for (i, b) in nestedBytes.enumerated() {
            m.messages.append(try message(b, scope: m.fullName + ".", path: path + [3, i], comments: comments))
        }
        for (i, b) in enumBytes.enumerated() {
            m.enums.append(try enumeration(b, scope: m.fullName + ".", path: path + [4, i], comments: comments))
        }
        return m
    }

    private static func enumeration(
        _ bytes: ArraySlice<UInt8>, scope: String, path: [Int], comments: [[Int]: String]
    ) throws -> EnumDescriptor {
        var e = EnumDescriptor()
        var valueBytes: [ArraySlice<UInt8>] = []
        try ProtobufReader.forEachField(in: bytes) { number, value in
            switch number {
            case 1: e.name = value.string
            case 2: valueBytes.append(value.slice)
            default: break
            }
        }
        e.fullName = scope + e.name
        e.comment = comments[path] ?? ""
        for (i, b) in valueBytes.enumerated() {
            var v = EnumValueDescriptor()
            try ProtobufReader.forEachField(in: b) { number, value in
                switch number {
                case 1: v.name = value.string
                case 2: v.number = Int(Int32(truncatingIfNeeded: value.uint64))
                default: break
                }
            }
            v.comment = comments[path + [2, i]] ?? ""
            e.values.append(v)
        }
        return e
    }

    private static func service(
        _ bytes: ArraySlice<UInt8>, scope: String, path: [Int], comments: [[Int]: String]
    ) throws -> ServiceDescriptor {
        var s = ServiceDescriptor()
        var methodBytes: [ArraySlice<UInt8>] = []
        try ProtobufReader.forEachField(in: bytes) { number, value in
            switch number {
            case 1: s.name = value.string
            case 2: methodBytes.append(value.slice)
            default: break
            }
        }
        s.fullName = scope + s.name
        s.comment = comments[path] ?? ""
        for (i, b) in methodBytes.enumerated() {
            var m = MethodDescriptor()
            try ProtobufReader.forEachField(in: b) { number, value in
                switch number {
                case 1: m.name = value.string
                case 2: m.inputType = value.string
                case 3: m.outputType = value.string
                case 5: m.clientStreaming = value.uint64 != 0
                case 6: m.serverStreaming = value.uint64 != 0
                default: break
                }
            }
            m.comment = comments[path + [2, i]] ?? ""
            s.methods.append(m)
        }
        return s
    }

    /// Maps each descriptor path (as in `SourceCodeInfo.Location.path`) to its leading comment.
    private static func sourceComments(_ bytes: ArraySlice<UInt8>) throws -> [[Int]: String] {
        var out: [[Int]: String] = [:]
        try ProtobufReader.forEachField(in: bytes) { number, value in
            guard number == 1 else { return }
            var path: [Int] = []
            var leading = ""
            var trailing = ""
            try ProtobufReader.forEachField(in: value.slice) { n, v in
                switch n {
                case 1: path += try ProtobufReader.varints(v).map { Int(Int32(truncatingIfNeeded: $0)) }
                case 3: leading = v.string
                case 4: trailing = v.string
                default: break
                }
            }
            let text = leading.isEmpty ? trailing : leading
            if !text.isEmpty { out[path] = text }
        }
        return out
    }
}

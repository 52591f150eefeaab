public import CProtobufC

/// protobuf-c's descriptor of one message, with what the decoder derives from it once.
public final class WireDescriptor: @unchecked Sendable {
    // @unchecked: the pointer is to a `const` descriptor in the generated C, never written.

    /// The descriptor protoc-c generated.
    public let pointer: UnsafePointer<ProtobufCMessageDescriptor>
    /// The fully qualified protobuf name.
    public let fullName: String
    /// The deepest nesting any value of this message can have, counting itself as 1;
    /// `Int.max` when the message can contain itself.
    public let maxNestingDepth: Int

    /// Reads the descriptor from a C struct initialized by protoc-c's `…__init` function,
    /// which points it at the real descriptor.
    public init<C>(_ type: C.Type, initializer: (UnsafeMutablePointer<C>?) -> Void) {
        let message = UnsafeMutablePointer<C>.allocate(capacity: 1)
        defer { message.deallocate() }
        initializer(message)
        let base = UnsafeRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self)
        pointer = base.pointee.descriptor
        fullName = String(cString: pointer.pointee.name)
        maxNestingDepth = Self.depth(of: pointer)
    }

    private static func depth(of root: UnsafePointer<ProtobufCMessageDescriptor>) -> Int {
        var onPath: Set<UnsafeRawPointer> = []
        var memo: [UnsafeRawPointer: Int] = [:]
        func visit(_ d: UnsafePointer<ProtobufCMessageDescriptor>) -> Int {
            let key = UnsafeRawPointer(d)
            if let known = memo[key] { return known }
            if onPath.contains(key) { return .max }
            onPath.insert(key)
            defer { onPath.remove(key) }
            var deepest = 0
            for i in 0..<Int(d.pointee.n_fields) {
                let field = d.pointee.fields[i]
                guard field.type == PROTOBUF_C_TYPE_MESSAGE, let sub = field.descriptor else { continue }
                deepest = max(deepest, visit(sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)))
            }
            let result = deepest == .max ? .max : deepest + 1
            memo[key] = result
            return result
        }
        return visit(root)
    }
}

import CRMWire

/// The built-in `crm.v1.Reflection` service: `ListMethods` names every method the server serves,
/// with its call kind, idempotency and message types, sorted by path.
struct ReflectionService: RPCService {
    let methods: [RegisteredMethod]

    /// The reflection service's own method, so that it lists itself.
    static let ownMethods = [
        RegisteredMethod(
            info: Reflection.listMethods.info, isIdempotent: true, requestMessage: ListMethodsRequest.protoName,
            responseMessage: ListMethodsResponse.protoName)
    ]

    func registerMethods(with router: inout MethodRouter) {
        let listed = methods.sorted { $0.info.path < $1.info.path }.map { method in
            MethodInfo(
                name: method.info.path, callKind: Self.callKind(method.info.kind), idempotent: method.isIdempotent,
                requestMessage: method.requestMessage, responseMessage: method.responseMessage)
        }
        router.register(Reflection.listMethods, idempotent: true) { request, _ in
            ListMethodsResponse(methods: listed.filter { $0.name.hasPrefix(request.prefix) })
        }
    }

    static func callKind(_ kind: WireCallKind) -> CallKind {
        switch kind {
        case .unary: .unary
        case .serverStreaming: .serverStreaming
        case .clientStreaming: .clientStreaming
        case .bidirectionalStreaming: .bidirectionalStreaming
        }
    }
}

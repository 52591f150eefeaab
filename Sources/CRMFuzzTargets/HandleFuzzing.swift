import CRMDomain

/// Handle normalisation: the first byte chooses the kind, the rest is what a channel or an agent typed. A handle that
/// is accepted is already normal (normalising its value again changes nothing) and reads back from its canonical form.
enum HandleFuzzing {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        let kinds = CRMDomain.HandleKind.allCases
        let kind = kinds[Int(input.choice()) % kinds.count]
        guard let handle = try? Handle(kind: kind, raw: input.restAsText) else { return }
        do {
            let again = try Handle(kind: kind, raw: handle.value)
            precondition(again == handle, "normalising \(handle) again gave \(again)")
            let read = try Handle(canonical: handle.canonical)
            precondition(read == handle, "\(handle.canonical) read back as \(read)")
        } catch {
            preconditionFailure("the normalised \(handle) is refused: \(error)")
        }
    }
}

import COpenSSL

/// One entry of OpenSSL's per-thread error queue.
public struct OpenSSLError: Sendable, Hashable, CustomStringConvertible {
    /// The packed error code, as `ERR_get_error` returns it.
    public var code: UInt
    /// The library that raised it (`ERR_LIB_SSL`, `ERR_LIB_X509`, …).
    public var library: Int32
    /// The library's reason code (`SSL_R_…`, `X509_R_…`).
    public var reason: Int32
    /// OpenSSL's own text for the error, such as `error:0A00010B:SSL routines::wrong version number`.
    public var text: String
    /// Just the reason, such as `wrong version number`.
    public var reasonText: String
    /// Extra detail attached by the code that raised the error, such as the file name a `fopen` failed on.
    public var detail: String?

    /// The text, followed by the detail in parentheses when there is one.
    public var description: String {
        guard let detail, !detail.isEmpty else { return text }
        return "\(text) (\(detail))"
    }
}

/// Reads OpenSSL's per-thread error queue.
///
/// The queue is thread-local and accumulates: every call into OpenSSL that can fail is preceded by
/// `clear()` and followed, on failure, by `drain()` on the same thread, so that the errors reported
/// belong to that call and nothing stale leaks into the next one.
enum OpenSSLErrorQueue {
    /// Discards whatever is queued on this thread.
    static func clear() {
        ERR_clear_error()
    }

    /// Removes and returns every queued error on this thread, oldest first.
    static func drain() -> [OpenSSLError] {
        var errors: [OpenSSLError] = []
        while true {
            var data: UnsafePointer<CChar>? = nil
            var flags: Int32 = 0
            let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if code == 0 { break }
            errors.append(
                OpenSSLError(
                    code: code,
                    library: ERR_GET_LIB(code),
                    reason: ERR_GET_REASON(code),
                    text: errorString(code),
                    reasonText: ERR_reason_error_string(code).map { String(cString: $0) }
                        ?? "reason \(ERR_GET_REASON(code))",
                    detail: (flags & ERR_TXT_STRING) != 0 ? data.map { String(cString: $0) } : nil
                )
            )
        }
        return errors
    }

    /// The reasons of `errors` with their details, joined for a message: `no such file (calling fopen(x, r))`.
    static func summary(_ errors: [OpenSSLError]) -> String {
        guard !errors.isEmpty else { return "no reason given by OpenSSL" }
        return errors.map { error in
            guard let detail = error.detail, !detail.isEmpty else { return error.reasonText }
            return "\(error.reasonText) (\(detail))"
        }.joined(separator: "; ")
    }

    /// OpenSSL's text for one packed error code.
    static func errorString(_ code: UInt) -> String {
        // ERR_error_string_n always NUL-terminates within the given length.
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
            guard let base = buffer.baseAddress else { return "OpenSSL error \(code)" }
            ERR_error_string_n(code, base, buffer.count)
            return String(cString: base)
        }
    }
}

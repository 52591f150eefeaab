/// The common shape of every error this module throws.
///
/// Each concept has its own error enum (``HandleError``, ``OrderError``, ``ComplaintTransitionError`` …) so a
/// caller can switch over exactly what can go wrong in the call it made. They all share this protocol so that the
/// layers above (RPC status mapping, the CLI, audit logs) can treat any of them uniformly.
public protocol DomainError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A short, stable, machine-readable identifier such as `handle.phone.too_short`.
    ///
    /// Match and log on this; `description` is for people and its wording may improve over time.
    var code: String { get }
}

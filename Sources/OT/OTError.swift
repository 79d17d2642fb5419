import Foundation

/// Errors of the oblivious-transfer module. Messages name what went wrong and where (which
/// message, which instance); they never contain keys, seeds, choices or OT messages.
///
/// Transport failures (the peer closed the channel, a timeout) are not wrapped: they propagate as
/// the channel's own `TransportError`.
public enum OTError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// The peer sent an elliptic-curve point that does not decode, is not on P-256, or is the
    /// point at infinity. `message` names the protocol message, `index` the instance (0 when the
    /// message carries one point).
    case invalidPoint(message: String, index: Int)
    /// A call's arguments are inconsistent (array lengths, message widths, N). Both parties must
    /// make matching calls; a party that throws this sends nothing, so its peer's matching call
    /// fails with the channel's timeout.
    case invalidArgument(String)
    /// An OpenSSL call failed (out of memory or an unusable library build).
    case openSSL(operation: String)

    public var description: String {
        switch self {
        case let .invalidPoint(message, index):
            "the peer's \(message) (instance \(index)) is not a valid P-256 point (malformed, off the curve, or the point at infinity): the peer is broken or hostile"
        case let .invalidArgument(reason):
            "invalid oblivious-transfer call: \(reason)"
        case let .openSSL(operation):
            "OpenSSL \(operation) failed"
        }
    }

    public var errorDescription: String? { description }
}

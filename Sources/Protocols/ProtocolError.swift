/// Errors of the two-party protocols. Messages name the operation and the mismatching sizes or
/// parameters; they never contain a share, a weight, an input or a label.
public enum ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Two tensors (or a tensor and a table) that must agree in length do not.
    case countMismatch(operation: String, expected: Int, actual: Int)
    /// Shares of different ring widths were combined, or a width is outside 1...64.
    case ringMismatch(operation: String, expected: Int, actual: Int)
    /// A public parameter is outside what the protocol supports.
    case invalidParameter(operation: String, reason: String)

    public var description: String {
        switch self {
        case let .countMismatch(operation, expected, actual):
            "\(operation): expected \(expected) elements, got \(actual); both parties must pass tensors of the agreed shape"
        case let .ringMismatch(operation, expected, actual):
            "\(operation): expected shares over Z_2^\(expected), got Z_2^\(actual); convert or re-share before combining"
        case let .invalidParameter(operation, reason):
            "\(operation): \(reason)"
        }
    }
}

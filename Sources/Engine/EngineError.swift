import Foundation

/// Errors of the two-party engines. Messages name the step; never a share, weight or label.
public enum EngineError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// The program is inconsistent, or does not match the vendor's weight store.
    case programMismatch(String)
    /// The vendor's engine was given no weights, or the hospital's one weights.
    case wrongGraph(String)
    /// Inputs of the wrong size.
    case inputMismatch(String)

    public var description: String {
        switch self {
        case let .programMismatch(reason): "the secure program cannot run: \(reason)"
        case let .wrongGraph(reason): reason
        case let .inputMismatch(reason): reason
        }
    }

    public var errorDescription: String? { description }
}

import Foundation

/// Errors of the two-party engines. Messages name the step; never a share, weight or label.
public enum EngineError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// The graph does not match the program (a node the program names is missing or of another op).
    case programMismatch(String)
    /// The vendor's engine was given a weight-stripped graph, or the hospital's one weights.
    case wrongGraph(String)
    /// Inputs of the wrong size.
    case inputMismatch(String)

    public var description: String {
        switch self {
        case let .programMismatch(reason): "the program does not match the model: \(reason)"
        case let .wrongGraph(reason): reason
        case let .inputMismatch(reason): reason
        }
    }

    public var errorDescription: String? { description }
}

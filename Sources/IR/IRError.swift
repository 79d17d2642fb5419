import Foundation

/// Errors of the `IR` module: shape inference and graph checks. Messages name the node and its op.
public enum IRError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// The inputs of a node cannot be combined by its op.
    case shapeMismatch(node: String, op: String, reason: String)
    /// A node reads a value that is not defined before it.
    case undefinedValue(node: String, value: String)
    /// The graph's output is not produced by any node.
    case missingOutput(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(node, op, reason): "node '\(node)' (\(op)): \(reason)"
        case let .undefinedValue(node, value): "node '\(node)' reads '\(value)', which is not defined before it"
        case let .missingOutput(name): "the graph output '\(name)' is not produced by any node"
        }
    }

    public var errorDescription: String? { description }
}

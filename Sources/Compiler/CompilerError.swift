import Foundation

/// Errors of the compiler: a graph the secure engines cannot run, or unsuitable parameters.
public enum CompilerError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// An op has no secure protocol (e.g. a final Softmax over part of the output).
    case unsupported(node: String, op: String, reason: String)
    /// No candidate fixed-point format fits the calibration data.
    case noSuitableFormat(String)
    /// The metric cannot be computed on this model (top-k with more than its classes).
    case unsupportedMetric(String)

    public var description: String {
        switch self {
        case let .unsupported(node, op, reason): "node '\(node)' (\(op)) cannot run in the secure engine: \(reason)"
        case let .noSuitableFormat(reason): "no fixed-point format fits: \(reason)"
        case let .unsupportedMetric(reason): "metric \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

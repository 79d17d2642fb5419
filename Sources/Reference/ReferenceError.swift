import Foundation
import RingArithmetic

/// Errors of the plaintext reference executors and the evaluation.
public enum ReferenceError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// A fixed-point value left the ring's signed range: the result would silently wrap.
    case fixedPointOverflow(node: String, op: String, format: FixedPointFormat, magnitudeBits: Int)
    /// An input value cannot be encoded (not finite, or too large for the ring).
    case unencodableInput(format: FixedPointFormat, example: Int)
    /// A weight cannot be encoded at scale s (or a bias at scale 2s).
    case unencodableWeight(node: String, op: String, format: FixedPointFormat)
    /// The input buffer does not hold whole examples of the model's input shape.
    case inputSizeMismatch(expected: [Int], valueCount: Int)
    /// The dataset does not fit the model.
    case datasetMismatch(String)
    /// The node has no fixed-point (secure) computation: a final Softmax/LogSoftmax that normalises
    /// along part of the output changes the argmax, so the secure program cannot drop it.
    case unsupportedInFixedPoint(node: String, op: String, reason: String)

    public var description: String {
        switch self {
        case let .fixedPointOverflow(node, op, format, bits):
            return "fixed-point overflow at node '\(node)' (\(op)): a value needs \(bits) bits but the ring has ℓ = \(format.ringBits) "
                + "with scale s = \(format.scale); it would wrap around silently. Use a smaller --scale or larger --ring-bits."
        case let .unencodableInput(format, example):
            return "input example \(example) has a value that is not finite or too large for \(format)"
        case let .unencodableWeight(node, op, format):
            return "node '\(node)' (\(op)) has a weight too large for \(format); use a smaller --scale or larger --ring-bits"
        case let .inputSizeMismatch(expected, count):
            return "the input has \(count) values, which is not a whole number of examples of shape \(expected)"
        case let .datasetMismatch(reason):
            return reason
        case let .unsupportedInFixedPoint(node, op, reason):
            return "node '\(node)' (\(op)) cannot run in fixed point: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

import Foundation

/// One node the importer cannot lower, as listed by `ONNXError.unsupportedNodes`.
public struct UnsupportedNode: Sendable, Equatable, CustomStringConvertible {
    public var node: String
    public var opType: String
    public var reason: String

    public init(node: String, opType: String, reason: String) {
        self.node = node
        self.opType = opType
        self.reason = reason
    }

    public var description: String { "node '\(node)' (\(opType)): \(reason)" }
}

/// Every error of the `ONNX` module: reading protobuf bytes and importing them into the IR.
///
/// Messages name the file, and where one is at fault the node, its op type and the opset, and say
/// what to do. They never contain weight values.
public enum ONNXError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// The file could not be read at all.
    case unreadableFile(path: String, reason: String)
    /// The bytes are not a valid `ModelProto` (truncated, corrupted, or not ONNX).
    case malformedProtobuf(source: String, byteCount: Int)
    /// The model has no graph.
    case missingGraph(source: String)
    /// A tensor (initializer or attribute) whose stored data cannot be decoded.
    case invalidTensor(source: String, tensor: String, reason: String)
    /// One or more nodes use ops, attributes or values the importer does not support; all listed at once.
    case unsupportedNodes(source: String, opset: Int, nodes: [UnsupportedNode])
    /// A node reads a value that no graph input, initializer or earlier node defines.
    case missingValue(source: String, node: String, opType: String, opset: Int, value: String)
    /// An attribute is missing, of the wrong type, or out of range.
    case invalidAttribute(source: String, node: String, opType: String, opset: Int, attribute: String, reason: String)
    /// Input shapes that the op cannot combine (after shape inference).
    case shapeMismatch(source: String, node: String, opType: String, opset: Int, reason: String)
    /// A whole-graph property the IR needs is not met (one input, one output, static shapes, …).
    case unsupportedGraph(source: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "\(path): cannot read the model file: \(reason)"
        case let .malformedProtobuf(source, byteCount):
            return "\(source): not a valid ONNX model (\(byteCount) bytes could not be parsed as a ModelProto; "
                + "the file may be truncated or not an ONNX file)"
        case let .missingGraph(source):
            return "\(source): the ONNX model has no graph"
        case let .invalidTensor(source, tensor, reason):
            return "\(source): tensor '\(tensor)': \(reason)"
        case let .unsupportedNodes(source, opset, nodes):
            let list = nodes.map { "  - \($0)" }.joined(separator: "\n")
            return "\(source): \(nodes.count) node(s) cannot be imported (opset \(opset)):\n\(list)"
        case let .missingValue(source, node, opType, opset, value):
            return "\(source): node '\(node)' (\(opType), opset \(opset)) reads '\(value)', which no graph input, "
                + "initializer or earlier node defines (a missing initializer?)"
        case let .invalidAttribute(source, node, opType, opset, attribute, reason):
            return "\(source): node '\(node)' (\(opType), opset \(opset)): attribute '\(attribute)': \(reason)"
        case let .shapeMismatch(source, node, opType, opset, reason):
            return "\(source): node '\(node)' (\(opType), opset \(opset)): \(reason)"
        case let .unsupportedGraph(source, reason):
            return "\(source): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

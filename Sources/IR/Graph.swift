import Preprocessing
/// One operation applied to named values, producing one named value.
public struct Node: Sendable, Equatable, Codable {
    /// The ONNX node name it came from (or a generated one); used in messages and plans.
    public var name: String
    public var operation: Operation
    public var inputs: [String]
    public var output: String
    /// Per-example shape of `output`, set by shape inference.
    public var outputShape: [Int]

    public init(name: String, operation: Operation, inputs: [String], output: String, outputShape: [Int] = []) {
        self.name = name
        self.operation = operation
        self.inputs = inputs
        self.output = output
        self.outputShape = outputShape
    }
}

/// The batch dimension of the model's input as the ONNX file declares it.
public enum BatchDimension: Sendable, Equatable, Codable, CustomStringConvertible {
    case symbolic(String)
    case fixed(Int)

    public var description: String {
        switch self {
        case .symbolic(let name): name.isEmpty ? "N" : name
        case .fixed(let n): String(n)
        }
    }
}

/// A typed dataflow graph with static per-example shapes: one input (the test example), one output
/// (the logits or scores), nodes in topological order.
///
/// Contract: the vendor builds it from its ONNX file; its architecture (ops, shapes, public
/// attributes) is public, its tensors are the vendor's secret.
public struct Graph: Sendable, Equatable, Codable {
    public var inputName: String
    /// Per-example input shape (without the batch dimension).
    public var inputShape: [Int]
    public var batch: BatchDimension
    public var nodes: [Node]
    public var outputName: String
    /// The vendor's declarations about the outputs (finding names, thresholds); nil when none.
    public var declarations: OutputDeclarations?
    /// The vendor's declared input preprocessing (how image files become inputs); nil when none.
    public var preprocessing: Preprocessing?

    public init(inputName: String, inputShape: [Int], batch: BatchDimension, nodes: [Node], outputName: String) {
        self.inputName = inputName
        self.inputShape = inputShape
        self.batch = batch
        self.nodes = nodes
        self.outputName = outputName
    }

    /// Per-example shape of the output.
    public var outputShape: [Int] {
        if outputName == inputName { return inputShape }
        return nodes.last(where: { $0.output == outputName })?.outputShape ?? []
    }

    /// Number of classes: the element count of the per-example output.
    public var classCount: Int { Shape.elementCount(outputShape) }

    /// Per-example shapes of every value (input and node outputs).
    public func valueShapes() -> [String: [Int]] {
        var shapes = [inputName: inputShape]
        for node in nodes { shapes[node.output] = node.outputShape }
        return shapes
    }

    /// For every value, the indices of the nodes that read it.
    public func consumers() -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for input in node.inputs { result[input, default: []].append(index) }
        }
        return result
    }

    /// The nodes of the secure program: the graph without a trailing chain of argmax-invariant ops
    /// (Softmax, LogSoftmax) that end at the output. Returns the kept node count and the output name
    /// of the kept part.
    public func argmaxEquivalentPrefix() -> (nodeCount: Int, outputName: String) {
        var count = nodes.count
        var output = outputName
        while count > 0, nodes[count - 1].output == output, normalisesWholeOutput(nodes[count - 1]) {
            output = nodes[count - 1].inputs[0]
            count -= 1
        }
        return (count, output)
    }

    /// True for a Softmax/LogSoftmax that normalises over every element of an example: then it is
    /// monotone on the whole output and the argmax does not change.
    private func normalisesWholeOutput(_ node: Node) -> Bool {
        switch node.operation {
        case .softmax(let axis, let coerced), .logSoftmax(let axis, let coerced):
            let shape = node.outputShape
            if coerced { return Shape.elementCount(Array(shape[..<axis])) == 1 }
            return shape.indices.allSatisfy { $0 == axis || shape[$0] == 1 }
        case .sigmoid:
            return true
        default:
            return false
        }
    }

    /// True when the model ends in a Sigmoid (after the secure program's output): a multi-label
    /// model, one independent score per finding.
    public var endsInSigmoid: Bool {
        let kept = argmaxEquivalentPrefix().nodeCount
        return nodes[kept...].contains { $0.operation == .sigmoid }
    }
}

extension Graph {
    /// The graph the other party may see: the same architecture, shapes and public attributes, with
    /// the values of every weight tensor removed (shapes kept). Its executors cannot run it; the
    /// compiler can.
    public func strippingWeights() -> Graph {
        func strip(_ t: Tensor) -> Tensor {
            var stripped = t
            stripped.values = []
            return stripped
        }
        var copy = self
        for index in copy.nodes.indices {
            switch copy.nodes[index].operation {
            case .convolution(var c):
                c.weight = strip(c.weight)
                c.bias = c.bias.map(strip)
                copy.nodes[index].operation = .convolution(c)
            case .fullyConnected(var f):
                f.weight = strip(f.weight)
                f.bias = f.bias.map(strip)
                copy.nodes[index].operation = .fullyConnected(f)
            case .affine(var a):
                a.scale = a.scale.map(strip)
                a.shift = a.shift.map(strip)
                copy.nodes[index].operation = .affine(a)
            case .signedShift(var signed):
                signed.negate = strip(signed.negate)
                signed.shift = strip(signed.shift)
                copy.nodes[index].operation = .signedShift(signed)
            default:
                break
            }
        }
        return copy
    }

    /// True when no weight values are present (a graph from `strippingWeights()`).
    public var isStripped: Bool {
        nodes.allSatisfy { node in
            switch node.operation {
            case .convolution(let c): c.weight.values.isEmpty
            case .fullyConnected(let f): f.weight.values.isEmpty
            case .affine(let a): (a.scale?.values.isEmpty ?? true) && (a.shift?.values.isEmpty ?? true)
            case .signedShift(let s): s.negate.values.isEmpty && s.shift.values.isEmpty
            default: true
            }
        }
    }
}

import IR

/// A value known at import time: a constant (initializer, Constant node, or folded), or an activation
/// that depends on the model input.
enum ImportedValue {
    case constant(Constant)
    /// `shape` is the full ONNX shape, batch first (the batch is `ImportState.batch` for folding).
    case activation(irName: String, shape: [Int])
}

/// A constant tensor during import. Values are `Double`, which holds every float32 and every int64
/// that a shape computation meets exactly; `isInteger` remembers the ONNX element type family.
struct Constant {
    var shape: [Int]
    var values: [Double]
    var isInteger: Bool

    init(shape: [Int], values: [Double], isInteger: Bool) {
        self.shape = shape
        self.values = values
        self.isInteger = isInteger
    }

    init(_ tensor: ONNXTensor) {
        shape = tensor.dims
        switch tensor.values {
        case .floats(let f): values = f.map(Double.init); isInteger = false
        case .integers(let i): values = i.map(Double.init); isInteger = true
        }
    }

    var elementCount: Int { values.count }
    var rank: Int { shape.count }

    /// The values as integers (shapes, axes, indices).
    var integers: [Int] {
        values.map { v in
            if v.isNaN { return 0 }
            if v >= 9.2e18 { return Int.max }
            if v <= -9.2e18 { return Int.min }
            return Int(v.rounded(.towardZero))
        }
    }

    /// A float32 IR tensor with the given shape (same element count).
    func tensor(shape newShape: [Int]? = nil) -> Tensor {
        Tensor(shape: newShape ?? shape, values: values.map { Float($0) })
    }
}

/// Why a node cannot be lowered, for the list reported all at once.
struct Unsupported: Error {
    var reason: String
}

/// Mutable state of one import: the values defined so far, the IR nodes emitted, the problems found.
struct ImportState {
    let source: String
    let opset: Int
    /// The batch size used where a shape must be concrete (Shape folding): the model's fixed batch,
    /// or 1 when it is symbolic.
    let batch: Int
    var values: [String: ImportedValue] = [:]
    var nodes: [IR.Node] = []
    var unsupported: [UnsupportedNode] = []
    /// Outputs of nodes that could not be lowered; their consumers are only checked for support.
    var poisoned: Set<String> = []
    /// For every value that the imported nodes (or the model's output) read: who reads it, for
    /// messages ("node 'Relu → y'", "the model's output"). A node output missing here is read by
    /// nothing that matters, and need not be produced.
    var readers: [String: [String]] = [:]

    init(source: String, opset: Int, batch: Int) {
        self.source = source
        self.opset = opset
        self.batch = batch
    }

    /// Adds an IR node producing `output` with the given full ONNX shape.
    mutating func emit(_ name: String, _ operation: Operation, inputs: [String], output: String, fullShape: [Int]) {
        nodes.append(IR.Node(name: name, operation: operation, inputs: inputs, output: output,
                             outputShape: Array(fullShape.dropFirst())))
        values[output] = .activation(irName: output, shape: fullShape)
    }
}

/// One ONNX node being lowered, with typed access to its inputs and attributes.
struct NodeContext {
    let node: ONNXNode
    let inputs: [ImportedValue?]
    let opset: Int
    let source: String
    let batch: Int

    var name: String { node.displayName }
    var output: String { node.outputs.first ?? node.displayName }

    // MARK: Errors

    func invalidAttribute(_ attribute: String, _ reason: String) -> ONNXError {
        .invalidAttribute(source: source, node: name, opType: node.opType, opset: opset, attribute: attribute, reason: reason)
    }

    func shapeMismatch(_ reason: String) -> ONNXError {
        .shapeMismatch(source: source, node: name, opType: node.opType, opset: opset, reason: reason)
    }

    // MARK: Inputs

    var inputCount: Int { inputs.count }

    func has(_ index: Int) -> Bool { index < inputs.count && inputs[index] != nil }

    /// Input `index` as an activation; a constant there means the op cannot be lowered.
    func activation(_ index: Int) throws -> (name: String, shape: [Int]) {
        guard index < inputs.count, let value = inputs[index] else {
            throw shapeMismatch("input \(index) is required")
        }
        switch value {
        case .activation(let name, let shape): return (name, shape)
        case .constant: throw Unsupported(reason: "input \(index) ('\(node.inputs[index])') must depend on the model input, but it is a constant")
        }
    }

    /// Input `index` as a constant; an activation there is unsupported (the vendor's weights must be
    /// constants, e.g. a Conv kernel computed from the input is not supported).
    func constant(_ index: Int) throws -> Constant {
        guard index < inputs.count, let value = inputs[index] else {
            throw shapeMismatch("input \(index) is required")
        }
        switch value {
        case .constant(let c): return c
        case .activation: throw Unsupported(reason: "input \(index) ('\(node.inputs[index])') must be a constant (initializer), but it depends on the model input")
        }
    }

    func optionalConstant(_ index: Int) throws -> Constant? {
        guard has(index) else { return nil }
        return try constant(index)
    }

    // MARK: Attributes

    func int(_ name: String, default value: Int? = nil) throws -> Int {
        switch node.attributes[name] {
        case .int(let v)?: return Int(clamping: v)
        case nil:
            if let value { return value }
            throw invalidAttribute(name, "is required")
        default: throw invalidAttribute(name, "must be an integer")
        }
    }

    func float(_ name: String, default value: Float) throws -> Float {
        switch node.attributes[name] {
        case .float(let v)?: return v
        case .int(let v)?: return Float(v)
        case nil: return value
        default: throw invalidAttribute(name, "must be a float")
        }
    }

    func ints(_ name: String) throws -> [Int]? {
        switch node.attributes[name] {
        case .ints(let v)?: return v.map { Int(clamping: $0) }
        case .int(let v)?: return [Int(clamping: v)]
        case nil: return nil
        default: throw invalidAttribute(name, "must be a list of integers")
        }
    }

    func string(_ name: String, default value: String) throws -> String {
        switch node.attributes[name] {
        case .string(let v)?: return v
        case nil: return value
        default: throw invalidAttribute(name, "must be a string")
        }
    }

    /// Normalises a possibly negative axis against `rank`.
    func axis(_ axis: Int, rank: Int, attribute: String = "axis") throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else { throw invalidAttribute(attribute, "\(axis) is out of range for rank \(rank)") }
        return a
    }
}

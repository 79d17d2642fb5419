import IR

/// Add, Sum, Sub, Mul, Div (with constants or, for Add/Sum, between activations), Relu, Clip and
/// BatchNormalization.
let elementwiseLowerings: [String: OpLowering] = [
    "Add": OpLowering(attributes: ["broadcast", "axis"], lower: lowerSum),
    "Sum": OpLowering(attributes: [], lower: lowerSum),
    "Sub": OpLowering(attributes: ["broadcast", "axis"]) { state, node in
        try checkLegacyBroadcast(node)
        switch (node.inputs[0], node.inputs[1]) {
        case (.activation(let x, let shape)?, .constant(let c)?):
            let t = try node.perExampleConstant(c, against: shape)
            state.emit(node.name, .affine(Affine(scale: nil, shift: negated(t))), inputs: [x], output: node.output, fullShape: shape)
        case (.constant(let c)?, .activation(let x, let shape)?):
            let t = try node.perExampleConstant(c, against: shape)
            state.emit(node.name, .affine(Affine(scale: Tensor(scalar: -1), shift: t)), inputs: [x], output: node.output, fullShape: shape)
        default:
            throw Unsupported(reason: "Sub is supported between an activation and a constant; the difference of two activations is not")
        }
    },
    "Mul": OpLowering(attributes: ["broadcast", "axis"]) { state, node in
        try checkLegacyBroadcast(node)
        let (x, shape, c) = try activationAndConstant(node, op: "Mul", hint: "the product of two activations needs a secure multiplication, which is not supported")
        let t = try node.perExampleConstant(c, against: shape)
        state.emit(node.name, .affine(Affine(scale: t, shift: nil)), inputs: [x], output: node.output, fullShape: shape)
    },
    "Div": OpLowering(attributes: ["broadcast", "axis"]) { state, node in
        try checkLegacyBroadcast(node)
        guard case .activation(let x, let shape)? = node.inputs[0], case .constant(let c)? = node.inputs[1] else {
            throw Unsupported(reason: "Div is supported only as an activation divided by a constant")
        }
        guard !c.values.contains(0) else { throw Unsupported(reason: "division by a constant that contains zero") }
        let t = try node.perExampleConstant(c, against: shape)
        let reciprocal = Tensor(shape: t.shape, values: t.values.map { 1 / $0 })
        state.emit(node.name, .affine(Affine(scale: reciprocal, shift: nil)), inputs: [x], output: node.output, fullShape: shape)
    },
    "Relu": OpLowering(attributes: []) { state, node in
        let x = try node.activation(0)
        state.emit(node.name, .relu, inputs: [x.name], output: node.output, fullShape: x.shape)
    },
    "Clip": OpLowering(attributes: ["min", "max"]) { state, node in
        let x = try node.activation(0)
        // A side without a bound is nil in the IR (never ±∞): absent, or given as the infinity or
        // the float32 extreme of its own side (Clip-6's defaults), which bound no finite value.
        func bound(_ value: Float, _ what: String, side: FloatingPointSign) throws -> Float? {
            if value.sign == side && !value.isNaN && value.magnitude >= .greatestFiniteMagnitude { return nil }
            guard value.isFinite else {
                throw Unsupported(reason: "\(what) = \(value) is not supported: a bound must be a finite number, "
                    + (side == .minus ? "-inf" : "inf") + " or absent")
            }
            return value
        }
        var lower: Float?, upper: Float?
        if node.opset < 11 {
            lower = try bound(node.float("min", default: -.infinity), "min", side: .minus)
            upper = try bound(node.float("max", default: .infinity), "max", side: .plus)
        } else {
            if let c = try node.optionalConstant(1) {
                guard c.elementCount == 1 else { throw node.shapeMismatch("min must be a scalar") }
                lower = try bound(Float(c.values[0]), "min", side: .minus)
            }
            if let c = try node.optionalConstant(2) {
                guard c.elementCount == 1 else { throw node.shapeMismatch("max must be a scalar") }
                upper = try bound(Float(c.values[0]), "max", side: .plus)
            }
        }
        if let lower, let upper, lower > upper { throw node.shapeMismatch("min \(lower) exceeds max \(upper)") }
        switch (lower, upper) {
        case (nil, nil):
            // Bounds nothing: the identity.
            state.values[node.output] = .activation(irName: x.name, shape: x.shape)
        case (0?, nil):
            state.emit(node.name, .relu, inputs: [x.name], output: node.output, fullShape: x.shape)
        default:
            state.emit(node.name, .clip(lower: lower, upper: upper), inputs: [x.name], output: node.output, fullShape: x.shape)
        }
    },
    "BatchNormalization": OpLowering(attributes: ["epsilon", "momentum", "spatial", "is_test", "training_mode", "consumed_inputs"]) { state, node in
        let x = try node.activation(0)
        guard x.shape.count >= 2 else { throw node.shapeMismatch("input must be [N, C, ...]") }
        if try node.int("training_mode", default: 0) != 0 { throw Unsupported(reason: "training_mode=1 is not supported; export the model in eval mode") }
        if node.opset < 9, try node.int("spatial", default: 1) != 1 { throw Unsupported(reason: "spatial=0 (per-element statistics) is not supported") }
        let channels = x.shape[1]
        let epsilon = Double(try node.float("epsilon", default: 1e-5))
        var parameters: [[Double]] = []
        for (index, what) in [(1, "scale"), (2, "B"), (3, "mean"), (4, "var")] {
            let c = try node.constant(index)
            guard c.elementCount == channels else {
                throw node.shapeMismatch("\(what) has \(c.elementCount) values for \(channels) channels")
            }
            parameters.append(c.values)
        }
        let (gamma, beta, mean, variance) = (parameters[0], parameters[1], parameters[2], parameters[3])
        var scale = [Float](), shift = [Float]()
        for c in 0..<channels {
            let s = gamma[c] / (variance[c] + epsilon).squareRoot()
            scale.append(Float(s))
            shift.append(Float(beta[c] - mean[c] * s))
        }
        let constantShape = [channels] + [Int](repeating: 1, count: x.shape.count - 2)
        let affine = Affine(scale: Tensor(shape: constantShape, values: scale), shift: Tensor(shape: constantShape, values: shift))
        state.emit(node.name, .affine(affine), inputs: [x.name], output: node.output, fullShape: x.shape)
    },
]

/// Opset < 7 style explicit broadcasting (`broadcast`/`axis` attributes) is only accepted in the
/// form that matches numpy broadcasting.
private func checkLegacyBroadcast(_ node: NodeContext) throws {
    if node.node.attributes["axis"] != nil {
        throw Unsupported(reason: "the legacy 'axis' broadcasting attribute is not supported; convert the model to opset 7 or later")
    }
}

private func negated(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, values: t.values.map { -$0 }) }

private func activationAndConstant(_ node: NodeContext, op: String, hint: String) throws -> (String, [Int], Constant) {
    guard node.inputs.count == 2 else { throw node.shapeMismatch("\(op) expects 2 inputs") }
    switch (node.inputs[0], node.inputs[1]) {
    case (.activation(let x, let shape)?, .constant(let c)?), (.constant(let c)?, .activation(let x, let shape)?):
        return (x, shape, c)
    default:
        throw Unsupported(reason: hint)
    }
}

/// Add and Sum: activations are added pairwise (IR `add`, broadcasting), constants are summed and
/// applied as one affine shift.
private func lowerSum(_ state: inout ImportState, _ node: NodeContext) throws {
    try checkLegacyBroadcast(node)
    var activations: [(name: String, shape: [Int])] = []
    var constant: Constant?
    for value in node.inputs {
        switch value {
        case .activation(let name, let shape)?: activations.append((name, shape))
        case .constant(let c)?:
            constant = try constant.map { try ConstantFolding.broadcastBinary($0, c, node: node) { $0 + $1 } } ?? c
        case nil:
            throw node.shapeMismatch("an input is missing")
        }
    }
    guard var current = activations.first else { throw Unsupported(reason: "internal: constant sum reached the lowering") }
    let finalStep = activations.count - 1 + (constant == nil ? 0 : 1)
    var step = 0
    func nextName() -> String { step == finalStep ? node.output : "\(node.output)#\(step)" }
    for other in activations.dropFirst() {
        step += 1
        guard other.shape.count == current.shape.count,
              let full = Shape.broadcast(current.shape, other.shape), full[0] == current.shape[0] else {
            throw node.shapeMismatch("cannot add \(Shape.describe(current.shape)) and \(Shape.describe(other.shape)) example by example")
        }
        let name = nextName()
        state.emit(step == finalStep ? node.name : "\(node.name)#\(step)", .add, inputs: [current.name, other.name], output: name, fullShape: full)
        current = (name, full)
    }
    if let constant {
        step += 1
        let t = try node.perExampleConstant(constant, against: current.shape)
        state.emit(node.name, .affine(Affine(scale: nil, shift: t)), inputs: [current.name], output: node.output, fullShape: current.shape)
    }
    if step == 0 { state.values[node.output] = .activation(irName: current.name, shape: current.shape) }
}

import IR

/// Data movement: Concat, Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Pad, and the no-ops
/// Identity and Dropout (inference).
let layoutLowerings: [String: OpLowering] = [
    "Identity": OpLowering(attributes: [], lower: alias),
    "Dropout": OpLowering(attributes: ["ratio", "is_test", "seed", "consumed_inputs"]) { state, node in
        if node.opset >= 12, let training = try node.optionalConstant(2), training.values.first ?? 0 != 0 {
            throw Unsupported(reason: "Dropout with training_mode=true is not supported; export the model in eval mode")
        }
        try alias(&state, node)
    },
    "Concat": OpLowering(attributes: ["axis"]) { state, node in
        var parts: [(name: String, shape: [Int])] = []
        for index in 0..<node.inputCount { parts.append(try node.activation(index)) }
        guard let first = parts.first else { throw node.shapeMismatch("Concat needs at least one input") }
        let axis = try node.axis(try node.int("axis", default: node.opset < 4 ? 1 : nil), rank: first.shape.count)
        guard axis > 0 else { throw Unsupported(reason: "concatenation along the batch axis is not supported") }
        var full = first.shape
        full[axis] = 0
        for part in parts {
            guard part.shape.count == full.count, part.shape.indices.allSatisfy({ $0 == axis || part.shape[$0] == first.shape[$0] }) else {
                throw node.shapeMismatch("inputs \(parts.map { Shape.describe($0.shape) }.joined(separator: ", ")) differ outside axis \(axis)")
            }
            full[axis] += part.shape[axis]
        }
        state.emit(node.name, .concat(axis: axis - 1), inputs: parts.map(\.name), output: node.output, fullShape: full)
    },
    "Flatten": OpLowering(attributes: ["axis"]) { state, node in
        let x = try node.activation(0)
        let axis = try node.axis(try node.int("axis", default: 1), rank: x.shape.count + 1)
        guard axis >= 1 else { throw Unsupported(reason: "Flatten with axis=0 merges the batch into the features, which is not supported") }
        let inner = Shape.elementCount(Array(x.shape[axis...]))
        // Keep the batch first: [N, d1·…·d(axis−1), rest]; for axis = 1 that is [N, rest].
        let outer = Array(x.shape[1..<axis])
        let full = [x.shape[0]] + (outer.isEmpty ? [] : [Shape.elementCount(outer)]) + [inner]
        try emitReshape(&state, node, x, full)
    },
    "Reshape": OpLowering(attributes: ["shape", "allowzero"]) { state, node in
        let x = try node.activation(0)
        let requested: [Int]
        if node.opset < 5 {
            guard let s = try node.ints("shape") else { throw node.invalidAttribute("shape", "is required") }
            requested = s
        } else {
            requested = try node.constant(1).integers
        }
        let allowZero = try node.int("allowzero", default: 0) != 0
        let full = try resolveReshape(requested, input: x.shape, allowZero: allowZero, node: node)
        try emitReshape(&state, node, x, full)
    },
    "Squeeze": OpLowering(attributes: ["axes"]) { state, node in
        let x = try node.activation(0)
        let axesList = node.opset < 13 ? try node.ints("axes") : try node.optionalConstant(1)?.integers
        var axes = Set<Int>()
        if let axesList {
            for a in axesList { axes.insert(try node.axis(a, rank: x.shape.count, attribute: "axes")) }
        } else {
            axes = Set(x.shape.indices.filter { x.shape[$0] == 1 && $0 > 0 })
        }
        guard !axes.contains(0) else { throw Unsupported(reason: "squeezing the batch axis is not supported") }
        guard axes.allSatisfy({ x.shape[$0] == 1 }) else { throw node.shapeMismatch("cannot squeeze an axis whose size is not 1") }
        try emitReshape(&state, node, x, x.shape.indices.filter { !axes.contains($0) }.map { x.shape[$0] })
    },
    "Unsqueeze": OpLowering(attributes: ["axes"]) { state, node in
        let x = try node.activation(0)
        guard let axesList = node.opset < 13 ? try node.ints("axes") : try node.optionalConstant(1)?.integers else {
            throw node.invalidAttribute("axes", "is required")
        }
        let rank = x.shape.count + axesList.count
        let axes = Set(try axesList.map { try node.axis($0, rank: rank, attribute: "axes") })
        guard axes.count == axesList.count else { throw node.invalidAttribute("axes", "\(axesList) repeats an axis") }
        guard !axes.contains(0) else { throw Unsupported(reason: "inserting an axis before the batch axis is not supported") }
        var full: [Int] = []
        var source = x.shape.makeIterator()
        for axis in 0..<rank { full.append(axes.contains(axis) ? 1 : source.next()!) }
        try emitReshape(&state, node, x, full)
    },
    "Transpose": OpLowering(attributes: ["perm"]) { state, node in
        let x = try node.activation(0)
        let perm = try node.ints("perm") ?? Array((0..<x.shape.count).reversed())
        guard perm.count == x.shape.count, Set(perm) == Set(0..<x.shape.count) else {
            throw node.invalidAttribute("perm", "\(perm) is not a permutation of the \(x.shape.count) axes")
        }
        guard perm[0] == 0 else { throw Unsupported(reason: "a transpose that moves the batch axis is not supported (perm \(perm))") }
        let perExample = perm.dropFirst().map { $0 - 1 }
        if perExample == Array(0..<perExample.count) { try alias(&state, node); return }
        state.emit(node.name, .transpose(permutation: perExample), inputs: [x.name], output: node.output, fullShape: perm.map { x.shape[$0] })
    },
    "Pad": OpLowering(attributes: ["mode", "pads", "paddings", "value"]) { state, node in
        let x = try node.activation(0)
        let mode = try node.string("mode", default: "constant")
        guard mode == "constant" else { throw Unsupported(reason: "Pad mode '\(mode)' is not supported; only 'constant'") }
        let rank = x.shape.count
        var pads: [Int]
        var value: Float = 0
        if node.opset < 11 {
            // Pad-1 names the attribute `paddings`, Pad-2 `pads`.
            let attribute = node.opset < 2 ? "paddings" : "pads"
            guard let p = try node.ints(attribute) else { throw node.invalidAttribute(attribute, "is required") }
            pads = p
            value = try node.float("value", default: 0)
        } else {
            pads = try node.constant(1).integers
            if let v = try node.optionalConstant(2) { value = Float(v.values.first ?? 0) }
            if let axesConstant = try node.optionalConstant(3) {
                let axes = try axesConstant.integers.map { try node.axis($0, rank: rank, attribute: "axes") }
                guard pads.count == 2 * axes.count else { throw node.shapeMismatch("pads \(pads) do not match axes \(axes)") }
                var expanded = [Int](repeating: 0, count: 2 * rank)
                for (i, axis) in axes.enumerated() {
                    expanded[axis] = pads[i]
                    expanded[axis + rank] = pads[i + axes.count]
                }
                pads = expanded
            }
        }
        guard pads.count == 2 * rank else { throw node.shapeMismatch("pads \(pads) must have \(2 * rank) values for a rank-\(rank) input") }
        guard pads[0] == 0, pads[rank] == 0 else { throw Unsupported(reason: "padding the batch axis is not supported") }
        guard pads.allSatisfy({ $0 >= 0 }) else { throw Unsupported(reason: "negative pads (cropping) are not supported") }
        guard pads.allSatisfy({ $0 <= Shape.maximumElementCount }) else {
            throw node.shapeMismatch("pads \(pads) exceed \(Shape.maximumElementCount)")
        }
        let perExample = Array(pads[1..<rank]) + Array(pads[(rank + 1)...])
        let full = x.shape.indices.map { x.shape[$0] + pads[$0] + pads[$0 + rank] }
        state.emit(node.name, .pad(pads: perExample, value: value), inputs: [x.name], output: node.output, fullShape: full)
    },
]

/// The output names the same IR value as the input.
private func alias(_ state: inout ImportState, _ node: NodeContext) throws {
    let x = try node.activation(0)
    state.values[node.output] = .activation(irName: x.name, shape: x.shape)
}

/// Resolves 0 (copy) and −1 (infer) entries of an ONNX Reshape target against the full input shape.
func resolveReshape(_ requested: [Int], input: [Int], allowZero: Bool, node: NodeContext) throws -> [Int] {
    var full = requested
    var inferred: Int?
    for (i, d) in requested.enumerated() {
        if d == 0 && !allowZero {
            guard i < input.count else { throw node.shapeMismatch("target \(requested) copies axis \(i), which the input \(Shape.describe(input)) lacks") }
            full[i] = input[i]
        } else if d == -1 {
            guard inferred == nil else { throw node.shapeMismatch("target \(requested) has more than one -1") }
            inferred = i
        } else if d < 0 {
            throw node.shapeMismatch("target \(requested) has a negative size")
        }
    }
    // The product of the target's non-zero sizes must not overflow (a malformed file may ask for
    // [2^40, 2^40]); the input's cannot (constants and activations are bounded).
    if let i = inferred { full[i] = 1 }
    guard Shape.isWithinLimit(full, limit: .max) else {
        throw node.shapeMismatch("target \(requested) has more than \(Int.max) elements")
    }
    let total = Shape.elementCount(input)
    if let i = inferred {
        let known = Shape.elementCount(full)
        guard known > 0, total % known == 0 else { throw node.shapeMismatch("cannot reshape \(Shape.describe(input)) to \(requested)") }
        full[i] = total / known
    }
    guard Shape.elementCount(full) == total else { throw node.shapeMismatch("cannot reshape \(Shape.describe(input)) (\(total) values) to \(requested)") }
    return full
}

/// Emits a reshape whose full target must keep the batch dimension first.
private func emitReshape(_ state: inout ImportState, _ node: NodeContext, _ x: (name: String, shape: [Int]), _ full: [Int]) throws {
    guard full.first == x.shape[0], Shape.elementCount(Array(full.dropFirst())) == Shape.elementCount(Array(x.shape.dropFirst())) else {
        throw Unsupported(reason: "a reshape from \(Shape.describe(x.shape)) to \(Shape.describe(full)) changes the batch dimension (batch \(x.shape[0])); the batch must stay first")
    }
    if full == x.shape {
        state.values[node.output] = .activation(irName: x.name, shape: x.shape)
        return
    }
    state.emit(node.name, .reshape, inputs: [x.name], output: node.output, fullShape: full)
}

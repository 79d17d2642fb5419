extension Operation {
    /// The per-example output shape for per-example input shapes, or a reason why the inputs do not fit.
    ///
    /// Shapes, attributes and results are bounded by `Shape.maximumElementCount` (a larger one is
    /// an error, not an overflow), so no model, however malformed, can trap here.
    public func outputShape(inputs: [[Int]], node: String) throws(IRError) -> [Int] {
        let limit = Shape.maximumElementCount
        for shape in inputs where !Shape.isWithinLimit(shape) {
            throw IRError.shapeMismatch(node: node, op: name, reason:
                "input shape \(Shape.describe(shape)) is invalid or has more than \(limit) elements")
        }
        let out = try uncheckedOutputShape(inputs: inputs, node: node)
        guard Shape.isWithinLimit(out) else {
            throw IRError.shapeMismatch(node: node, op: name, reason:
                "the output shape \(Shape.describe(out)) is invalid or has more than \(limit) elements")
        }
        return out
    }

    /// Checks a 2-D window: two kernel sizes, strides and dilations in 1...2^31, four pads in
    /// 0...2^31, and a window of at most 2^31 positions; then the output-size arithmetic cannot overflow.
    private func checkWindow(kernel: [Int], strides: [Int], dilations: [Int], pads: [Int],
                             fail: (String) -> IRError) throws(IRError) {
        let limit = Shape.maximumElementCount
        func check(_ values: [Int], _ what: String, count: Int, minimum: Int) throws(IRError) {
            guard values.count == count, values.allSatisfy({ $0 >= minimum && $0 <= limit }) else {
                throw fail("\(what) \(values) must be \(count) integers in \(minimum)...\(limit)")
            }
        }
        try check(kernel, "kernel", count: 2, minimum: 1)
        try check(strides, "strides", count: 2, minimum: 1)
        try check(dilations, "dilations", count: 2, minimum: 1)
        try check(pads, "pads", count: 4, minimum: 0)
        guard Shape.isWithinLimit(kernel) else { throw fail("the window \(kernel) has more than \(limit) positions") }
    }

    private func uncheckedOutputShape(inputs: [[Int]], node: String) throws(IRError) -> [Int] {
        func fail(_ reason: String) -> IRError { .shapeMismatch(node: node, op: name, reason: reason) }
        func expectRank(_ shape: [Int], _ rank: Int, _ what: String) throws(IRError) {
            guard shape.count == rank else {
                throw fail("expects a \(what) input of rank \(rank) per example, got \(Shape.describe(shape))")
            }
        }
        guard let x = inputs.first else { throw fail("has no input") }
        switch self {
        case .convolution(let conv):
            try expectRank(x, 3, "[C, H, W]")
            guard conv.weight.rank == 4 else { throw fail("weight must be [Cout, Cin, kh, kw]") }
            try checkWindow(kernel: conv.kernel, strides: conv.strides, dilations: conv.dilations, pads: conv.pads, fail: fail)
            guard x[0] == conv.inputChannels else {
                throw fail("input has \(x[0]) channels but the kernel expects \(conv.inputChannels)")
            }
            var out = [conv.outputChannels]
            for axis in 0..<2 {
                let span = conv.dilations[axis] * (conv.kernel[axis] - 1) + 1
                let padded = x[axis + 1] + conv.pads[axis] + conv.pads[axis + 2]
                guard padded >= span else {
                    throw fail("kernel span \(span) exceeds the padded input \(padded) on spatial axis \(axis)")
                }
                out.append((padded - span) / conv.strides[axis] + 1)
            }
            return out
        case .fullyConnected(let fc):
            guard fc.weight.rank == 2 else { throw fail("weight must be [N, K]") }
            guard let k = x.last, k == fc.inputFeatures else {
                throw fail("input \(Shape.describe(x)) does not end in the \(fc.inputFeatures) features the weight expects")
            }
            return Array(x.dropLast()) + [fc.outputFeatures]
        case .add:
            guard inputs.count == 2 else { throw fail("expects 2 inputs") }
            guard let out = Shape.broadcast(inputs[0], inputs[1]) else {
                throw fail("cannot broadcast \(Shape.describe(inputs[0])) with \(Shape.describe(inputs[1]))")
            }
            return out
        case .affine(let affine):
            for constant in [affine.scale, affine.shift].compactMap({ $0 }) {
                guard Shape.broadcast(x, constant.shape) == x else {
                    throw fail("constant of shape \(Shape.describe(constant.shape)) does not broadcast to the input \(Shape.describe(x))")
                }
            }
            return x
        case .signedShift(let signed):
            guard let channels = x.first else { throw fail("expects [C, ...] per example, got a scalar") }
            for constant in [signed.negate, signed.shift] {
                guard constant.shape == [channels] else {
                    throw fail("constant of shape \(Shape.describe(constant.shape)) is not one value per channel of \(Shape.describe(x))")
                }
            }
            guard signed.negate.values.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw fail("signs must be 0 (keep) or 1 (negate)") }
            return x
        case .relu:
            return x
        case .clip(let lower, let upper):
            if let bad = [lower, upper].compactMap({ $0 }).first(where: { !$0.isFinite }) {
                throw fail("bound \(bad) is not finite; a side without a bound must be absent (nil)")
            }
            if let lower, let upper, lower > upper { throw fail("min \(lower) exceeds max \(upper)") }
            return x
        case .maxPool(let pool), .averagePool(let pool, _):
            try expectRank(x, 3, "[C, H, W]")
            try checkWindow(kernel: pool.kernel, strides: pool.strides, dilations: pool.dilations, pads: pool.pads, fail: fail)
            let h = pool.outputLength(axis: 0, input: x[1])
            let w = pool.outputLength(axis: 1, input: x[2])
            guard h > 0, w > 0 else { throw fail("window larger than the padded input \(Shape.describe(x))") }
            return [x[0], h, w]
        case .globalAveragePool:
            guard x.count >= 2 else { throw fail("expects [C, spatial...] per example, got \(Shape.describe(x))") }
            return [x[0]] + [Int](repeating: 1, count: x.count - 1)
        case .concat(let axis):
            guard axis >= 0, axis < x.count else { throw fail("axis \(axis) out of range for \(Shape.describe(x))") }
            var out = x
            out[axis] = 0
            for shape in inputs {
                guard shape.count == x.count,
                      shape.indices.allSatisfy({ $0 == axis || shape[$0] == x[$0] }) else {
                    throw fail("inputs \(inputs.map(Shape.describe).joined(separator: ", ")) differ outside axis \(axis)")
                }
                out[axis] += shape[axis]
            }
            return out
        case .reshape:
            throw fail("a reshape's output shape is set at import, not inferred")
        case .transpose(let perm):
            guard perm.count == x.count, Set(perm) == Set(0..<x.count) else {
                throw fail("permutation \(perm) does not fit \(Shape.describe(x))")
            }
            return perm.map { x[$0] }
        case .pad(let pads, _):
            guard pads.count == 2 * x.count else { throw fail("pads \(pads) do not fit \(Shape.describe(x))") }
            guard pads.allSatisfy({ $0.magnitude <= UInt(Shape.maximumElementCount) }) else {
                throw fail("pads \(pads) exceed \(Shape.maximumElementCount)")
            }
            let out = x.indices.map { x[$0] + pads[$0] + pads[$0 + x.count] }
            guard out.allSatisfy({ $0 >= 0 }) else { throw fail("negative size after padding") }
            return out
        case .softmax(let axis, _), .logSoftmax(let axis, _):
            guard axis >= 0, axis < x.count else { throw fail("axis \(axis) out of range for \(Shape.describe(x))") }
            return x
        case .sigmoid:
            return x
        }
    }
}

extension Graph {
    /// Recomputes every node's output shape from the input shape (a reshape keeps its recorded shape
    /// after checking that the element count matches). Throws on the first node that does not fit.
    public mutating func inferShapes() throws(IRError) {
        var shapes = [inputName: inputShape]
        for index in nodes.indices {
            let node = nodes[index]
            var inputShapes: [[Int]] = []
            for input in node.inputs {
                guard let shape = shapes[input] else { throw IRError.undefinedValue(node: node.name, value: input) }
                inputShapes.append(shape)
            }
            let shape: [Int]
            if case .reshape = node.operation {
                guard inputShapes.count == 1,
                      Shape.elementCount(inputShapes[0]) == Shape.elementCount(node.outputShape) else {
                    throw IRError.shapeMismatch(node: node.name, op: "Reshape", reason:
                        "cannot reshape \(Shape.describe(inputShapes.first ?? [])) to \(Shape.describe(node.outputShape))")
                }
                shape = node.outputShape
            } else {
                shape = try node.operation.outputShape(inputs: inputShapes, node: node.name)
            }
            nodes[index].outputShape = shape
            shapes[node.output] = shape
        }
        guard shapes[outputName] != nil else { throw IRError.missingOutput(outputName) }
    }
}

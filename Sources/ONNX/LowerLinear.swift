import IR

/// Conv, Gemm and MatMul: the layers whose weights the vendor holds.
let linearLowerings: [String: OpLowering] = [
    "Conv": OpLowering(attributes: ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"]) { state, node in
        let x = try node.activation(0)
        let w = try node.constant(1)
        guard x.shape.count == 4 else { throw Unsupported(reason: "only 2-D convolutions on [N, C, H, W] inputs are supported, input has shape \(Shape.describe(x.shape))") }
        let group = try node.int("group", default: 1)
        guard group == 1 else { throw Unsupported(reason: "grouped convolution (group=\(group)) is not supported; only group=1") }
        guard w.rank == 4 else { throw node.shapeMismatch("weight must have rank 4 [Cout, Cin, kh, kw], got \(Shape.describe(w.shape))") }
        guard w.elementCount > 0 else { throw node.shapeMismatch("weight \(Shape.describe(w.shape)) has no values") }
        if let kernelShape = try node.ints("kernel_shape"), kernelShape != Array(w.shape[2...]) {
            throw node.invalidAttribute("kernel_shape", "\(kernelShape) does not match the weight's \(Array(w.shape[2...]))")
        }
        guard w.shape[1] == x.shape[1] else {
            throw node.shapeMismatch("input has \(x.shape[1]) channels but the weight expects \(w.shape[1])")
        }
        var bias: Tensor?
        if let b = try node.optionalConstant(2) {
            guard b.elementCount == w.shape[0] else { throw node.shapeMismatch("bias has \(b.elementCount) values for \(w.shape[0]) output channels") }
            bias = b.tensor(shape: [w.shape[0]])
        }
        let geometry = try node.windowGeometry(kernel: Array(w.shape[2...]), inputSize: Array(x.shape[2...]))
        let conv = Convolution(weight: w.tensor(), bias: bias, strides: geometry.strides, dilations: geometry.dilations, pads: geometry.pads)
        let operation = Operation.convolution(conv)
        let out = try operation.outputShape(inputs: [Array(x.shape.dropFirst())], node: node.name)
        state.emit(node.name, operation, inputs: [x.name], output: node.output, fullShape: [x.shape[0]] + out)
    },
    "Gemm": OpLowering(attributes: ["alpha", "beta", "transA", "transB", "broadcast"]) { state, node in
        let a = try node.activation(0)
        let b = try node.constant(1)
        guard a.shape.count == 2 else { throw node.shapeMismatch("Gemm expects a 2-D input [N, K], got \(Shape.describe(a.shape))") }
        guard try node.int("transA", default: 0) == 0 else { throw Unsupported(reason: "transA=1 (transposing the activation across the batch) is not supported") }
        guard b.rank == 2 else { throw node.shapeMismatch("B must be 2-D, got \(Shape.describe(b.shape))") }
        guard b.elementCount > 0 else { throw node.shapeMismatch("B \(Shape.describe(b.shape)) has no values") }
        let transB = try node.int("transB", default: 0) != 0
        let alpha = try node.float("alpha", default: 1)
        let beta = try node.float("beta", default: 1)
        let (k, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard k == a.shape[1] else { throw node.shapeMismatch("input has \(a.shape[1]) features but B expects \(k)") }
        // Store W as [N, K].
        var weight = [Float](repeating: 0, count: n * k)
        for i in 0..<n {
            for j in 0..<k {
                let v = transB ? b.values[i * k + j] : b.values[j * n + i]
                weight[i * k + j] = Float(v) * alpha
            }
        }
        var bias: Tensor?
        if let c = try node.optionalConstant(2) {
            let per: [Float]
            if c.elementCount == 1 {
                per = [Float](repeating: Float(c.values[0]) * beta, count: n)
            } else if c.elementCount == n, c.shape.last == n || c.shape == [n] {
                per = c.values.map { Float($0) * beta }
            } else {
                throw Unsupported(reason: "bias C of shape \(Shape.describe(c.shape)) must be a scalar or have \(n) values (one per output)")
            }
            bias = Tensor(shape: [n], values: per)
        }
        let fc = FullyConnected(weight: Tensor(shape: [n, k], values: weight), bias: bias)
        state.emit(node.name, .fullyConnected(fc), inputs: [a.name], output: node.output, fullShape: [a.shape[0], n])
    },
    "MatMul": OpLowering(attributes: []) { state, node in
        let a = try node.activation(0)
        let b = try node.constant(1)
        guard b.rank == 2 else { throw Unsupported(reason: "MatMul is supported with a 2-D constant right operand, got \(Shape.describe(b.shape))") }
        guard b.elementCount > 0 else { throw node.shapeMismatch("B \(Shape.describe(b.shape)) has no values") }
        guard a.shape.count >= 2 else { throw Unsupported(reason: "MatMul needs an input with a batch dimension and a feature dimension") }
        let (k, n) = (b.shape[0], b.shape[1])
        guard a.shape.last == k else { throw node.shapeMismatch("input \(Shape.describe(a.shape)) does not end in the \(k) features that B expects") }
        var weight = [Float](repeating: 0, count: n * k)
        for i in 0..<n { for j in 0..<k { weight[i * k + j] = Float(b.values[j * n + i]) } }
        let fc = FullyConnected(weight: Tensor(shape: [n, k], values: weight), bias: nil)
        state.emit(node.name, .fullyConnected(fc), inputs: [a.name], output: node.output, fullShape: Array(a.shape.dropLast()) + [n])
    },
]

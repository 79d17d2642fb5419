import IR
import Reference
import Testing

/// The IR passes keep the function a graph computes: float outputs before and after `optimize()`.
@Suite("Passes keep the computed function")
struct PassesNumericTests {
    /// Deterministic values in [−1, 1).
    static func values(_ count: Int, seed: Int) -> [Float] {
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state % 2000) / 1000 - 1
        }
    }

    static func tensor(_ shape: [Int], seed: Int, offset: Float = 0) -> Tensor {
        Tensor(shape: shape, values: values(Shape.elementCount(shape), seed: seed).map { $0 + offset })
    }

    static func check(_ inputShape: [Int], _ nodes: [Node], output: String, expectedOps: [String]) throws {
        var graph = try makeGraph(inputShape, nodes, output: output)
        let input = values(Shape.elementCount(inputShape) * 3, seed: 7)
        let before = try FloatExecutor(graph: graph).run(input, batch: 3)
        try graph.optimize()
        #expect(graph.nodes.map(\.operation.name) == expectedOps)
        let after = try FloatExecutor(graph: graph).run(input, batch: 3)
        expectClose(after, before, relative: 1e-5, "optimized")
        // Fixed point agrees with float on the optimized graph as well.
        let fixed = try FixedPointExecutor(graph: graph, format: .standard).runDecoded(input, batch: 3)
        expectClose(fixed, before, relative: 0.01, "fixed point")
    }

    @Test("conv → per-channel affine → relu: the affine folds into the conv")
    func convAffine() throws {
        let conv = Node(name: "conv", operation: .convolution(Convolution(weight: Self.tensor([4, 3, 3, 3], seed: 1), bias: Self.tensor([4], seed: 2),
                                                                            strides: [2, 1], dilations: [1, 2], pads: [1, 2, 0, 1])),
                        inputs: ["x"], output: "c")
        let bn = Node(name: "bn", operation: .affine(Affine(scale: Self.tensor([4, 1, 1], seed: 3, offset: 1.5), shift: Self.tensor([4, 1, 1], seed: 4))),
                      inputs: ["c"], output: "b")
        let relu = Node(name: "relu", operation: .relu, inputs: ["b"], output: "y")
        try Self.check([3, 7, 6], [conv, bn, relu], output: "y", expectedOps: ["Conv", "Relu"])
    }

    @Test("gemm → scalar scale → per-feature shift → identity: one Gemm remains")
    func gemmChain() throws {
        let fc = Node(name: "fc", operation: .fullyConnected(FullyConnected(weight: Self.tensor([5, 6], seed: 5), bias: nil)), inputs: ["x"], output: "f")
        let mul = Node(name: "mul", operation: .affine(Affine(scale: Tensor(scalar: -0.75), shift: nil)), inputs: ["f"], output: "m")
        let add = Node(name: "add", operation: .affine(Affine(scale: nil, shift: Self.tensor([5], seed: 6))), inputs: ["m"], output: "a")
        let id = Node(name: "id", operation: .affine(Affine(scale: Tensor(shape: [5], repeating: 1), shift: Tensor(scalar: 0))), inputs: ["a"], output: "y")
        try Self.check([6], [fc, mul, add, id], output: "y", expectedOps: ["Gemm"])
    }

    @Test("an affine chain on the input merges into one affine; a conv read twice keeps its BatchNorm")
    func chainsAndShared() throws {
        let a1 = Node(name: "a1", operation: .affine(Affine(scale: Self.tensor([2, 1, 1], seed: 8, offset: 2), shift: Tensor(scalar: 0.5))), inputs: ["x"], output: "a")
        let a2 = Node(name: "a2", operation: .affine(Affine(scale: Self.tensor([1, 4], seed: 9), shift: Self.tensor([2, 1, 1], seed: 10))), inputs: ["a"], output: "y")
        try Self.check([2, 3, 4], [a1, a2], output: "y", expectedOps: ["Affine"])

        let conv = Node(name: "conv", operation: .convolution(Convolution(weight: Self.tensor([2, 2, 1, 1], seed: 11), bias: nil,
                                                                            strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0])),
                        inputs: ["x"], output: "c")
        let bn = Node(name: "bn", operation: .affine(Affine(scale: Self.tensor([2, 1, 1], seed: 12, offset: 1.5), shift: nil)), inputs: ["c"], output: "b")
        let add = Node(name: "add", operation: .add, inputs: ["b", "c"], output: "y")
        try Self.check([2, 3, 4], [conv, bn, add], output: "y", expectedOps: ["Conv", "Affine", "Add"])
    }

    /// DenseNet's pattern: a BatchNorm on a Concat, a ReLU, an unpadded convolution. Scales of both
    /// signs, a zero scale (constant ReLU(b): into the bias) and a scale so small that b/a leaves
    /// the bound (treated as constant) all keep the function; a padded convolution keeps its Affine.
    @Test("concat → per-channel affine → relu → unpadded conv: the scale folds through the ReLU")
    func scaleThroughReLU() throws {
        let stem = Node(name: "stem", operation: .convolution(Convolution(weight: Self.tensor([2, 3, 3, 3], seed: 13), bias: nil,
                                                                            strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1])),
                        inputs: ["x"], output: "c")
        let concat = Node(name: "concat", operation: .concat(axis: 0), inputs: ["x", "c"], output: "cat")
        let scale = Tensor(shape: [5, 1, 1], values: [1.5, -0.7, 0, 1e-9, -2])
        let shift = Tensor(shape: [5, 1, 1], values: [0.3, -0.2, 0.5, 0.4, 0.1])
        let bn = Node(name: "bn", operation: .affine(Affine(scale: scale, shift: shift)), inputs: ["cat"], output: "b")
        let relu = Node(name: "relu", operation: .relu, inputs: ["b"], output: "r")
        func head(pads: [Int], kernel: Int) -> Node {
            Node(name: "head", operation: .convolution(Convolution(weight: Self.tensor([3, 5, kernel, kernel], seed: 14), bias: Self.tensor([3], seed: 15),
                                                                   strides: [2, 1], dilations: [1, 1], pads: pads)),
                 inputs: ["r"], output: "y")
        }
        try Self.check([3, 5, 4], [stem, concat, bn, relu, head(pads: [0, 0, 0, 0], kernel: 2)], output: "y",
                       expectedOps: ["Conv", "Concat", "SignedShift", "Relu", "Conv"])
        try Self.check([3, 5, 4], [stem, concat, bn, relu, head(pads: [1, 1, 1, 1], kernel: 3)], output: "y",
                       expectedOps: ["Conv", "Concat", "Affine", "Relu", "Conv"])

        var graph = try makeGraph([3, 5, 4], [stem, concat, bn, relu, head(pads: [0, 0, 0, 0], kernel: 1)], output: "y")
        guard case .convolution(let original) = graph.nodes[4].operation else { Issue.record("not a conv"); return }
        try graph.optimize()
        guard case .signedShift(let signed) = graph.nodes[2].operation, case .convolution(let folded) = graph.nodes[4].operation else {
            Issue.record("not folded: \(graph.nodes.map(\.operation.name))"); return
        }
        #expect(signed.negate.values == [0, 1, 0, 0, 1])
        expectClose(signed.shift.values, [0.2, -0.2 / 0.7, 0, 0, 0.05], relative: 1e-6, "shifts b/|a|")
        for o in 0..<3 {
            let w = Array(original.weight.values[(o * 5)..<(o * 5 + 5)])
            expectClose(Array(folded.weight.values[(o * 5)..<(o * 5 + 5)]), [w[0] * 1.5, w[1] * 0.7, 0, 0, w[4] * 2], relative: 1e-6, "weights W·|a|")
            // The constant channels: ReLU(0.5) and ReLU(0.4) through their weights into the bias.
            expectClose([folded.bias!.values[o]], [original.bias!.values[o] + w[2] * 0.5 + w[3] * 0.4], relative: 1e-6, "bias")
        }
    }

    /// A classifier head: BatchNorm → ReLU → GlobalAveragePool → Flatten → Gemm. The scale folds
    /// into the Gemm's columns (an average commutes with |a|); the constant channels' ReLU(b)
    /// join its bias. Without the Flatten (the Gemm on [C, 1, 1]'s last axis of 1) nothing folds.
    @Test("per-channel affine → relu → global average → flatten → gemm: the scale folds into the Gemm's columns")
    func scaleThroughAverageIntoGemm() throws {
        let scale = Tensor(shape: [4, 1, 1], values: [0.8, -1.3, 0, 2])
        let shift = Tensor(shape: [4, 1, 1], values: [-0.1, 0.4, 0.6, 0.2])
        let bn = Node(name: "bn", operation: .affine(Affine(scale: scale, shift: shift)), inputs: ["x"], output: "b")
        let relu = Node(name: "relu", operation: .relu, inputs: ["b"], output: "r")
        let gap = Node(name: "gap", operation: .globalAveragePool, inputs: ["r"], output: "g")
        let flat = Node(name: "flat", operation: .reshape, inputs: ["g"], output: "f", outputShape: [4])
        let fc = Node(name: "fc", operation: .fullyConnected(FullyConnected(weight: Self.tensor([3, 4], seed: 16), bias: nil)), inputs: ["f"], output: "y")
        try Self.check([4, 3, 5], [bn, relu, gap, flat, fc], output: "y", expectedOps: ["SignedShift", "Relu", "GlobalAveragePool", "Reshape", "Gemm"])
        let unflattened = Node(name: "fc", operation: .fullyConnected(FullyConnected(weight: Self.tensor([3, 1], seed: 17), bias: nil)), inputs: ["g"], output: "y")
        try Self.check([4, 3, 5], [bn, relu, gap, unflattened], output: "y", expectedOps: ["Affine", "Relu", "GlobalAveragePool", "Gemm"])
    }

    @Test("a graph reduced to no nodes returns its input")
    func emptyGraph() throws {
        let id = Node(name: "id", operation: .affine(Affine(scale: Tensor(scalar: 1), shift: nil)), inputs: ["x"], output: "y")
        var graph = try makeGraph([4], [id], output: "y")
        try graph.optimize()
        #expect(graph.nodes.isEmpty)
        let input: [Float] = [1, -2, 3.5, 0.25]
        #expect(try FloatExecutor(graph: graph).run(input, batch: 1) == input)
        #expect(try FixedPointExecutor(graph: graph, format: .standard).runDecoded(input, batch: 1) == input)
    }
}

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

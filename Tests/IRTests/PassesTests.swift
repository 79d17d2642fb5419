import Foundation
import Testing

@testable import IR

// Graph passes, shape inference, costs and the argmax-equivalent prefix on small graphs built here.
// (Numeric before/after comparisons through the float executor are in ReferenceTests.)

private func conv(_ name: String, _ input: String, _ output: String, weight: Tensor, bias: Tensor? = nil,
                  strides: [Int] = [1, 1], pads: [Int] = [0, 0, 0, 0]) -> Node {
    Node(name: name, operation: .convolution(Convolution(weight: weight, bias: bias, strides: strides, dilations: [1, 1], pads: pads)),
         inputs: [input], output: output)
}

private func affine(_ name: String, _ input: String, _ output: String, scale: Tensor?, shift: Tensor?) -> Node {
    Node(name: name, operation: .affine(Affine(scale: scale, shift: shift)), inputs: [input], output: output)
}

private func graph(_ inputShape: [Int], _ nodes: [Node], output: String) throws -> Graph {
    var g = Graph(inputName: "x", inputShape: inputShape, batch: .symbolic("N"), nodes: nodes, outputName: output)
    try g.inferShapes()
    return g
}

private func pool(_ k: Int, _ s: Int, pads: [Int] = [0, 0, 0, 0], ceil: Bool = false) -> Pooling {
    Pooling(kernel: [k, k], strides: [s, s], dilations: [1, 1], pads: pads, ceilMode: ceil)
}

@Suite("Passes")
struct PassesTests {
    /// Conv [2, 1, 1, 2] (two output channels, a 1×2 kernel) with bias [0.5, −1].
    let convNode = conv("conv", "x", "c", weight: Tensor(shape: [2, 1, 1, 2], values: [1, 2, 3, 4]), bias: Tensor(shape: [2], values: [0.5, -1]))

    @Test("a per-channel affine after a conv folds into its weights and bias")
    func affineFoldsIntoConv() throws {
        var g = try graph([1, 1, 2], [convNode, affine("bn", "c", "y", scale: Tensor(shape: [2, 1, 1], values: [2, -1]),
                                                         shift: Tensor(shape: [2, 1, 1], values: [1, 0.25]))], output: "y")
        try g.optimize()
        #expect(g.nodes.count == 1)
        #expect(g.outputName == "c")
        #expect(g.outputShape == [2, 1, 1])
        guard case .convolution(let folded) = g.nodes[0].operation else { Issue.record("not a conv"); return }
        // W'[o] = W[o]·s[o]; b'[o] = b[o]·s[o] + t[o].
        #expect(folded.weight == Tensor(shape: [2, 1, 1, 2], values: [2, 4, -3, -4]))
        #expect(folded.bias == Tensor(shape: [2], values: [2, 1.25]))
        // By hand for x = [1, 1]: before (1 + 2 + 0.5)·2 + 1 = 8 and (3 + 4 − 1)·−1 + 0.25 = −5.75.
        #expect(2 + 4 + folded.bias!.values[0] == 8)
        #expect(-3 - 4 + folded.bias!.values[1] == -5.75)
    }

    @Test("a scalar affine, and a shift alone, fold into a conv without bias")
    func scalarAffineFolds() throws {
        let noBias = conv("conv", "x", "c", weight: Tensor(shape: [2, 1, 1, 2], values: [1, 2, 3, 4]))
        var g = try graph([1, 1, 2], [noBias, affine("mul", "c", "m", scale: Tensor(scalar: 3), shift: nil),
                                      affine("add", "m", "y", scale: nil, shift: Tensor(shape: [2, 1, 1], values: [1, 2]))], output: "y")
        try g.optimize()
        #expect(g.nodes.count == 1)
        guard case .convolution(let folded) = g.nodes[0].operation else { Issue.record("not a conv"); return }
        #expect(folded.weight.values == [3, 6, 9, 12])
        #expect(folded.bias == Tensor(shape: [2], values: [1, 2]))
    }

    @Test("a per-feature affine after a fully-connected layer folds into it")
    func affineFoldsIntoFullyConnected() throws {
        let fc = Node(name: "fc", operation: .fullyConnected(FullyConnected(weight: Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), bias: nil)),
                      inputs: ["x"], output: "f")
        var g = try graph([3], [fc, affine("bn", "f", "y", scale: Tensor(shape: [2], values: [0.5, 2]), shift: Tensor(shape: [2], values: [1, -1]))], output: "y")
        try g.optimize()
        #expect(g.nodes.count == 1)
        guard case .fullyConnected(let folded) = g.nodes[0].operation else { Issue.record("not fully connected"); return }
        #expect(folded.weight.values == [0.5, 1, 1.5, 8, 10, 12])
        #expect(folded.bias?.values == [1, -1])
    }

    @Test("an affine is not folded when the conv output is read elsewhere, or when it is not per channel")
    func affineKeptWhenFoldingIsWrong() throws {
        // The conv output feeds the affine and an Add: folding would change the Add's input.
        var shared = try graph([1, 1, 2], [convNode, affine("bn", "c", "n", scale: Tensor(shape: [2, 1, 1], values: [2, -1]), shift: nil),
                                           Node(name: "add", operation: .add, inputs: ["n", "c"], output: "y")], output: "y")
        try shared.optimize()
        #expect(shared.nodes.map(\.operation.name) == ["Conv", "Affine", "Add"])
        // A scale that varies along W (per element, not per channel) cannot fold into the kernel.
        let wide = conv("conv", "x", "c", weight: Tensor(shape: [2, 1, 1, 1], values: [1, 2]))
        var perElement = try graph([1, 1, 2], [wide, affine("mul", "c", "y", scale: Tensor(shape: [1, 2], values: [2, 3]), shift: nil)], output: "y")
        try perElement.optimize()
        #expect(perElement.nodes.map(\.operation.name) == ["Conv", "Affine"])
        // The conv output is the graph output: nothing after it to fold.
        var alone = try graph([1, 1, 2], [convNode], output: "c")
        try alone.optimize()
        #expect(alone.nodes.count == 1)
    }

    @Test("consecutive affines merge into one")
    func consecutiveAffinesMerge() throws {
        var g = try graph([2], [affine("a1", "x", "a", scale: Tensor(shape: [2], values: [2, 3]), shift: Tensor(shape: [2], values: [1, 1])),
                                affine("a2", "a", "y", scale: Tensor(shape: [2], values: [0.5, 2]), shift: Tensor(shape: [2], values: [-1, 0]))],
                        output: "y")
        try g.optimize()
        #expect(g.nodes.count == 1)
        #expect(g.nodes[0].inputs == ["x"])
        #expect(g.outputName == "y")
        // (x·s1 + b1)·s2 + b2 = x·(s1·s2) + (b1·s2 + b2).
        #expect(g.nodes[0].operation == .affine(Affine(scale: Tensor(shape: [2], values: [1, 6]), shift: Tensor(shape: [2], values: [-0.5, 2]))))
    }

    @Test("a shift then a scale merge with the shift scaled; a chain of three becomes one")
    func shiftThenScale() throws {
        var g = try graph([2, 1, 1], [affine("add", "x", "a", scale: nil, shift: Tensor(shape: [2, 1, 1], values: [1, 2])),
                                      affine("mul", "a", "m", scale: Tensor(scalar: -2), shift: nil),
                                      affine("sub", "m", "y", scale: nil, shift: Tensor(scalar: 0.5))],
                        output: "y")
        try g.optimize()
        #expect(g.nodes.count == 1)
        #expect(g.nodes[0].operation == .affine(Affine(scale: Tensor(scalar: -2), shift: Tensor(shape: [2, 1, 1], values: [-1.5, -3.5]))))
    }

    @Test("identity affines (scale 1, shift 0) vanish, also at the graph output")
    func identityAffinesVanish() throws {
        var g = try graph([2, 2, 2], [affine("id", "x", "a", scale: Tensor(shape: [2, 1, 1], values: [1, 1]), shift: Tensor(scalar: 0)),
                                      Node(name: "relu", operation: .relu, inputs: ["a"], output: "r"),
                                      affine("id2", "r", "y", scale: nil, shift: Tensor(shape: [2, 2, 2], repeating: 0))],
                        output: "y")
        try g.optimize()
        #expect(g.nodes.map(\.name) == ["relu"])
        #expect(g.nodes[0].inputs == ["x"])
        #expect(g.outputName == "r")
        // A scale of ones with a real shift keeps only the shift.
        var h = try graph([2], [affine("a", "x", "y", scale: Tensor(shape: [2], values: [1, 1]), shift: Tensor(shape: [2], values: [3, 4]))], output: "y")
        try h.optimize()
        #expect(h.nodes.map(\.operation) == [.affine(Affine(scale: nil, shift: Tensor(shape: [2], values: [3, 4])))])
        // A lone identity: the graph's output becomes its input.
        var lone = try graph([3], [affine("id", "x", "y", scale: Tensor(scalar: 1), shift: nil)], output: "y")
        try lone.optimize()
        #expect(lone.nodes.isEmpty)
        #expect(lone.outputName == "x")
        #expect(lone.outputShape == [3])
    }

    @Test("dead nodes are removed")
    func deadNodes() throws {
        var g = try graph([4], [Node(name: "relu", operation: .relu, inputs: ["x"], output: "r"),
                                Node(name: "unused", operation: .clip(lower: 0, upper: 6), inputs: ["r"], output: "u"),
                                Node(name: "unused2", operation: .relu, inputs: ["u"], output: "u2"),
                                Node(name: "out", operation: .relu, inputs: ["r"], output: "y")], output: "y")
        g.eliminateDeadNodes()
        #expect(g.nodes.map(\.name) == ["relu", "out"])
        try g.optimize()
        #expect(g.nodes.map(\.name) == ["relu", "out"])
    }
}

@Suite("Shape inference")
struct ShapeInferenceTests {
    @Test("a conv with the wrong number of input channels names the node")
    func convChannels() {
        let c = conv("conv1", "x", "y", weight: Tensor(shape: [4, 2, 3, 3], repeating: 0.1))
        var g = Graph(inputName: "x", inputShape: [3, 8, 8], batch: .fixed(1), nodes: [c], outputName: "y")
        #expect(throws: IRError.shapeMismatch(node: "conv1", op: "Conv", reason: "input has 3 channels but the kernel expects 2")) { try g.inferShapes() }
        #expect(IRError.shapeMismatch(node: "conv1", op: "Conv", reason: "r").description == "node 'conv1' (Conv): r")
    }

    @Test("concat of shapes that differ outside the axis names the node")
    func concatMismatch() {
        let r = Node(name: "relu", operation: .relu, inputs: ["x"], output: "r")
        let p = Node(name: "pool", operation: .maxPool(pool(2, 2)), inputs: ["x"], output: "p")
        let cat = Node(name: "cat", operation: .concat(axis: 0), inputs: ["r", "p"], output: "y")
        var g = Graph(inputName: "x", inputShape: [3, 8, 8], batch: .fixed(1), nodes: [r, p, cat], outputName: "y")
        do {
            try g.inferShapes()
            Issue.record("expected a shape mismatch")
        } catch {
            guard case .shapeMismatch(let node, let op, let reason) = error else { Issue.record("\(error)"); return }
            #expect(node == "cat" && op == "Concat")
            #expect(reason.contains("[3, 8, 8]") && reason.contains("[3, 4, 4]"))
        }
        // Along axis 0 with equal H, W it works: [3, 4, 4] + [3, 4, 4].
        let cat2 = Node(name: "cat", operation: .concat(axis: 0), inputs: ["p", "p"], output: "y")
        var ok = Graph(inputName: "x", inputShape: [3, 8, 8], batch: .fixed(1), nodes: [p, cat2], outputName: "y")
        #expect(throws: Never.self) { try ok.inferShapes() }
        #expect(ok.outputShape == [6, 4, 4])
    }

    @Test("other mismatches: features, broadcasting, reshape size, pooling window, undefined values, missing output")
    func otherMismatches() {
        func infer(_ inputShape: [Int], _ nodes: [Node], output: String = "y") -> IRError? {
            var g = Graph(inputName: "x", inputShape: inputShape, batch: .fixed(1), nodes: nodes, outputName: output)
            do { try g.inferShapes(); return nil } catch { return error }
        }
        let fc = Node(name: "fc", operation: .fullyConnected(FullyConnected(weight: Tensor(shape: [2, 5], repeating: 1), bias: nil)), inputs: ["x"], output: "y")
        guard case .shapeMismatch("fc", "Gemm", _)? = infer([4], [fc]) else { Issue.record("fc"); return }
        let add = Node(name: "add", operation: .add, inputs: ["x", "r"], output: "y")
        let reshape = Node(name: "flat", operation: .reshape, inputs: ["x"], output: "r", outputShape: [3])
        guard case .shapeMismatch("flat", "Reshape", _)? = infer([4], [reshape, add]) else { Issue.record("reshape"); return }
        let reshape2 = Node(name: "flat", operation: .reshape, inputs: ["x"], output: "r", outputShape: [2, 2])
        guard case .shapeMismatch("add", "Add", let reason)? = infer([4], [reshape2, add]) else { Issue.record("add"); return }
        #expect(reason.contains("broadcast"))
        let big = Node(name: "pool", operation: .maxPool(pool(5, 1)), inputs: ["x"], output: "y")
        guard case .shapeMismatch("pool", "MaxPool", _)? = infer([1, 4, 4], [big]) else { Issue.record("pool"); return }
        let wrongRank = Node(name: "pool", operation: .averagePool(pool(2, 2), countIncludePad: false), inputs: ["x"], output: "y")
        guard case .shapeMismatch("pool", "AveragePool", _)? = infer([16], [wrongRank]) else { Issue.record("rank"); return }
        let affineTooBig = affine("aff", "x", "y", scale: Tensor(shape: [2, 4], repeating: 1), shift: nil)
        guard case .shapeMismatch("aff", "Affine", _)? = infer([4], [affineTooBig]) else { Issue.record("affine"); return }
        #expect(infer([4], [Node(name: "relu", operation: .relu, inputs: ["nope"], output: "y")]) == .undefinedValue(node: "relu", value: "nope"))
        #expect(infer([4], [Node(name: "relu", operation: .relu, inputs: ["x"], output: "r")], output: "y") == .missingOutput("y"))
    }

    @Test("output shapes of pools with padding and ceil mode")
    func poolShapes() throws {
        func out(_ p: Pooling, _ input: [Int]) throws -> [Int] {
            try Operation.maxPool(p).outputShape(inputs: [input], node: "p")
        }
        #expect(try out(pool(3, 2), [1, 8, 8]) == [1, 3, 3])
        #expect(try out(pool(3, 2, ceil: true), [1, 8, 8]) == [1, 4, 4])
        #expect(try out(pool(3, 2, pads: [1, 1, 1, 1]), [1, 8, 8]) == [1, 4, 4])
        // Ceil mode with padding: windows start at −1, 1, 3, 5, 7, all inside the input or the begin padding…
        #expect(try out(pool(2, 2, pads: [1, 1, 1, 1], ceil: true), [1, 8, 8]) == [1, 5, 5])
        // …but a window that would start in the end padding is dropped: 3×3 stride 3 on 6 with end
        // padding 2 gives 2 (ceil((6 + 2 − 3)/3) + 1 = 3 would start a window at 6).
        #expect(try out(pool(3, 3, pads: [0, 0, 2, 2], ceil: true), [1, 6, 6]) == [1, 2, 2])
        #expect(try out(pool(3, 3, pads: [0, 0, 2, 2], ceil: false), [1, 6, 6]) == [1, 2, 2])
        #expect(try out(pool(3, 2, pads: [1, 1, 1, 1], ceil: true), [1, 8, 8]) == [1, 5, 5])
        #expect(try out(pool(3, 2, pads: [1, 1, 1, 1], ceil: true), [1, 7, 7]) == [1, 4, 4])
        #expect(try Operation.globalAveragePool.outputShape(inputs: [[5, 3, 3]], node: "g") == [5, 1, 1])
    }
}

@Suite("Costs and the secure program")
struct CostTests {
    @Test("nodeCosts: MACs of a conv, comparisons of ReLU and max pool, divisions of average pools")
    func costs() throws {
        let c = conv("conv", "x", "c", weight: Tensor(shape: [4, 3, 3, 3], repeating: 0.1), pads: [1, 1, 1, 1])
        let nodes = [
            c,                                                                                            // [4, 8, 8]
            Node(name: "relu", operation: .relu, inputs: ["c"], output: "r"),
            Node(name: "max", operation: .maxPool(pool(2, 2)), inputs: ["r"], output: "m"),                // [4, 4, 4]
            Node(name: "max3", operation: .maxPool(pool(3, 1, pads: [1, 1, 1, 1])), inputs: ["m"], output: "m3"),
            Node(name: "avg", operation: .averagePool(pool(2, 2), countIncludePad: false), inputs: ["m3"], output: "a"),  // [4, 2, 2]
            affine("bn", "a", "b", scale: Tensor(shape: [4, 1, 1], repeating: 2), shift: Tensor(shape: [4, 1, 1], repeating: 1)),
            Node(name: "clip", operation: .clip(lower: 0, upper: 6), inputs: ["b"], output: "k"),
            affine("shift", "k", "t", scale: nil, shift: Tensor(scalar: 1)),
            Node(name: "gap", operation: .globalAveragePool, inputs: ["t"], output: "g"),                   // [4, 1, 1]
            Node(name: "flat", operation: .reshape, inputs: ["g"], output: "f", outputShape: [4]),
            Node(name: "fc", operation: .fullyConnected(FullyConnected(weight: Tensor(shape: [10, 4], repeating: 1), bias: nil)), inputs: ["f"], output: "z"),
            Node(name: "softmax", operation: .softmax(axis: 0, coerced: false), inputs: ["z"], output: "y"),
        ]
        let g = try graph([3, 8, 8], nodes, output: "y")
        let costs = g.nodeCosts()
        #expect(costs.count == nodes.count)
        #expect(costs[0] == NodeCost(protocolClass: .linearHE, macs: 256 * 27, truncations: 256))
        #expect(costs[1] == NodeCost(protocolClass: .comparison, comparisons: 256))
        #expect(costs[2] == NodeCost(protocolClass: .comparison, comparisons: 64 * 3))
        #expect(costs[3] == NodeCost(protocolClass: .comparison, comparisons: 64 * 8))
        #expect(costs[4] == NodeCost(protocolClass: .division, divisions: 16))
        #expect(costs[5] == NodeCost(protocolClass: .linearHE, macs: 16, truncations: 16))
        #expect(costs[6] == NodeCost(protocolClass: .comparison, comparisons: 32))
        #expect(costs[7] == NodeCost(protocolClass: .local))
        #expect(costs[8] == NodeCost(protocolClass: .division, divisions: 4))
        #expect(costs[9] == NodeCost(protocolClass: .local))
        #expect(costs[10] == NodeCost(protocolClass: .linearHE, macs: 40, truncations: 10))
        #expect(costs[11] == NodeCost(protocolClass: .dropped))
    }

    @Test("argmaxEquivalentPrefix drops a final Softmax/LogSoftmax chain over the whole output only")
    func argmaxPrefix() throws {
        let relu = Node(name: "relu", operation: .relu, inputs: ["x"], output: "r")
        func prefix(_ shape: [Int], _ tail: [Node], output: String) throws -> (Int, String) {
            let p = try graph(shape, [relu] + tail, output: output).argmaxEquivalentPrefix()
            return (p.nodeCount, p.outputName)
        }
        let softmax = Node(name: "sm", operation: .softmax(axis: 0, coerced: false), inputs: ["r"], output: "s")
        let logSoftmax = Node(name: "lsm", operation: .logSoftmax(axis: 0, coerced: false), inputs: ["s"], output: "y")
        #expect(try prefix([10], [softmax], output: "s") == (1, "r"))
        #expect(try prefix([10], [softmax, logSoftmax], output: "y") == (1, "r"))
        #expect(try prefix([10], [], output: "r") == (1, "r"))
        // Along one axis of [3, 5]: changes the argmax over all 15 values, so it stays.
        let rows = Node(name: "rows", operation: .softmax(axis: 1, coerced: false), inputs: ["r"], output: "s")
        #expect(try prefix([3, 5], [rows], output: "s") == (2, "s"))
        // Along the only non-1 axis: the whole output.
        let column = Node(name: "col", operation: .softmax(axis: 0, coerced: false), inputs: ["r"], output: "s")
        #expect(try prefix([5, 1], [column], output: "s") == (1, "r"))
        // Coerced (opset < 13) at axis 0: everything after axis 0 is one row.
        let coerced = Node(name: "c", operation: .softmax(axis: 0, coerced: true), inputs: ["r"], output: "s")
        #expect(try prefix([3, 5], [coerced], output: "s") == (1, "r"))
        let coerced1 = Node(name: "c", operation: .softmax(axis: 1, coerced: true), inputs: ["r"], output: "s")
        #expect(try prefix([3, 5], [coerced1], output: "s") == (2, "s"))
        // A Softmax that is not at the output stays.
        let after = Node(name: "after", operation: .relu, inputs: ["s"], output: "y")
        #expect(try prefix([10], [softmax, after], output: "y") == (3, "y"))
    }
}

@Suite("Clip bounds: an unbounded side is absent")
struct ClipBoundsTests {
    static func encoded(_ operation: IR.Operation) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(operation), as: UTF8.self)
    }

    @Test("a one-sided Clip encodes without the missing bound and decodes to itself; a two-sided one is unchanged")
    func json() throws {
        // The two-sided form is byte for byte what Float bounds encoded (model commitments of
        // existing models do not move); the missing side is simply absent.
        #expect(try Self.encoded(.clip(lower: 0, upper: 6)) == #"{"clip":{"lower":0,"upper":6}}"#)
        #expect(try Self.encoded(.clip(lower: -1, upper: nil)) == #"{"clip":{"lower":-1}}"#)
        #expect(try Self.encoded(.clip(lower: nil, upper: 0.5)) == #"{"clip":{"upper":0.5}}"#)
        for operation in [IR.Operation.clip(lower: -1, upper: nil), .clip(lower: nil, upper: 0.5), .clip(lower: -2, upper: 3)] {
            let data = try JSONEncoder().encode(operation)
            #expect(try JSONDecoder().decode(IR.Operation.self, from: data) == operation)
        }
    }

    @Test("shape inference refuses an infinite or NaN bound, and min above max, naming the node",
          arguments: [(Float?.some(-.infinity), Float?.none), (nil, .infinity), (.nan, 1), (2, 1)])
    func refusesBadBounds(lower: Float?, upper: Float?) throws {
        let node = Node(name: "clamp", operation: .clip(lower: lower, upper: upper), inputs: ["x"], output: "y")
        #expect {
            _ = try graph([4], [node], output: "y")
        } throws: { error in
            guard case .shapeMismatch(let name, let op, let reason)? = error as? IRError else { return false }
            return name == "clamp" && op == "Clip" && (reason.contains("not finite") || reason.contains("exceeds"))
        }
    }

    @Test("a one-sided Clip costs one comparison per element, a two-sided one two")
    func costs() throws {
        let nodes = [Node(name: "low", operation: .clip(lower: -1, upper: nil), inputs: ["x"], output: "a"),
                     Node(name: "both", operation: .clip(lower: -1, upper: 1), inputs: ["a"], output: "b"),
                     Node(name: "high", operation: .clip(lower: nil, upper: 1), inputs: ["b"], output: "y")]
        let costs = try graph([5], nodes, output: "y").nodeCosts()
        #expect(costs.map(\.comparisons) == [5, 10, 5])
        #expect(costs.allSatisfy { $0.protocolClass == .comparison })
    }
}

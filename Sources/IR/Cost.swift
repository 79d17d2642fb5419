/// How an op will be computed between the two parties (the plan's protocol class).
public enum ProtocolClass: String, Sendable, Codable, CaseIterable {
    /// Product of the vendor's weights with the shared activation, by lattice homomorphic encryption,
    /// followed by a truncation.
    case linearHE = "linear-HE"
    /// Comparisons (millionaires' protocol on OT): ReLU, Clip, MaxPool.
    case comparison
    /// Local sums followed by a secure division by a public constant: AveragePool, GlobalAveragePool.
    case division
    /// Local on each party's share: additions, constant shifts, data movement.
    case local
    /// Removed from the secure program because it does not change the argmax (a final Softmax).
    case dropped
    /// No secure protocol: a final Softmax/LogSoftmax that normalises along part of the output
    /// (e.g. per row of a [3, 5] output) changes the argmax over the whole output, so it can be
    /// neither dropped nor computed; such a model runs in float only.
    case unsupported
}

/// Work of one node for one example.
public struct NodeCost: Sendable, Equatable, Codable {
    public var protocolClass: ProtocolClass
    /// Multiply-accumulates with vendor weights.
    public var macs: Int
    /// Secure comparisons (one per ReLU input, k−1 per max-pool window of k, 2 per Clip input).
    public var comparisons: Int
    /// Divisions by a public constant (one per average-pool output).
    public var divisions: Int
    /// Truncations after fixed-point products (one per linear-HE output element).
    public var truncations: Int

    public init(protocolClass: ProtocolClass, macs: Int = 0, comparisons: Int = 0, divisions: Int = 0, truncations: Int = 0) {
        self.protocolClass = protocolClass
        self.macs = macs
        self.comparisons = comparisons
        self.divisions = divisions
        self.truncations = truncations
    }
}

extension Graph {
    /// The cost of every node, in node order, for one example. Nodes after the secure program's
    /// output (a final Softmax) are `.dropped`.
    public func nodeCosts() -> [NodeCost] {
        let kept = argmaxEquivalentPrefix().nodeCount
        return nodes.enumerated().map { index, node in
            if index >= kept { return NodeCost(protocolClass: .dropped) }
            let outputs = Shape.elementCount(node.outputShape)
            switch node.operation {
            case .convolution(let conv):
                let perOutput = conv.inputChannels * conv.kernel[0] * conv.kernel[1]
                return NodeCost(protocolClass: .linearHE, macs: outputs * perOutput, truncations: outputs)
            case .fullyConnected(let fc):
                return NodeCost(protocolClass: .linearHE, macs: outputs * fc.inputFeatures, truncations: outputs)
            case .affine(let affine):
                if affine.scale == nil { return NodeCost(protocolClass: .local) }
                return NodeCost(protocolClass: .linearHE, macs: outputs, truncations: outputs)
            case .relu:
                return NodeCost(protocolClass: .comparison, comparisons: outputs)
            case .clip:
                return NodeCost(protocolClass: .comparison, comparisons: 2 * outputs)
            case .maxPool(let pool):
                return NodeCost(protocolClass: .comparison, comparisons: outputs * (pool.kernel[0] * pool.kernel[1] - 1))
            case .averagePool:
                return NodeCost(protocolClass: .division, divisions: outputs)
            case .globalAveragePool:
                return NodeCost(protocolClass: .division, divisions: outputs)
            case .add, .concat, .reshape, .transpose, .pad:
                return NodeCost(protocolClass: .local)
            case .softmax, .logSoftmax:
                // The importer accepts these only at the end; they reach here when they normalise
                // along part of the output and so change the argmax.
                return NodeCost(protocolClass: .unsupported)
            }
        }
    }
}

/// How an op will be computed between the two parties (the plan's protocol class).
public enum ProtocolClass: String, Sendable, Codable, CaseIterable {
    /// Product of the vendor's weights with the shared activation, by lattice homomorphic encryption,
    /// followed by a truncation.
    case linearHE = "linear-HE"
    /// Comparisons (millionaires' protocol on OT): ReLU, Clip, MaxPool.
    case comparison
    /// One correlated OT per element, the vendor choosing each channel's sign: SignedShift.
    case signSelection = "sign-OT"
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
    /// Secure comparisons (one per ReLU input, k−1 per max-pool window of k, one per Clip input
    /// and bound).
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

extension NodeCost {
    /// The largest count a cost reports (2^50): a larger product (possible only for an absurd model,
    /// e.g. a 2^31-element output of a pooling window of 2^31 positions) reads as this, so that
    /// neither the product nor sums over thousands of nodes can overflow `Int`.
    public static let saturation = 1 << 50

    /// The product of non-negative factors, saturated at `saturation`.
    static func product(_ factors: Int...) -> Int { product(factors) }

    static func product(_ factors: [Int]) -> Int {
        var result = 1
        for factor in factors {
            let (next, overflow) = result.multipliedReportingOverflow(by: max(factor, 0))
            if overflow || next > saturation { return saturation }
            result = next
        }
        return result
    }
}

extension Graph {
    /// The cost of every node, in node order, for one example. Nodes after the secure program's
    /// output (a final Softmax) are `.dropped`. Every count is at most `NodeCost.saturation`.
    public func nodeCosts() -> [NodeCost] {
        let kept = argmaxEquivalentPrefix().nodeCount
        return nodes.enumerated().map { index, node in
            if index >= kept { return NodeCost(protocolClass: .dropped) }
            let outputs = NodeCost.product(node.outputShape)
            switch node.operation {
            case .convolution(let conv):
                let perOutput = NodeCost.product(conv.inputChannels, conv.kernel[0], conv.kernel[1])
                return NodeCost(protocolClass: .linearHE, macs: NodeCost.product(outputs, perOutput), truncations: outputs)
            case .fullyConnected(let fc):
                return NodeCost(protocolClass: .linearHE, macs: NodeCost.product(outputs, fc.inputFeatures), truncations: outputs)
            case .affine(let affine):
                if affine.scale == nil { return NodeCost(protocolClass: .local) }
                return NodeCost(protocolClass: .linearHE, macs: outputs, truncations: outputs)
            case .signedShift:
                return NodeCost(protocolClass: .signSelection)
            case .relu:
                return NodeCost(protocolClass: .comparison, comparisons: outputs)
            case .clip(let lower, let upper):
                let sides = (lower == nil ? 0 : 1) + (upper == nil ? 0 : 1)
                return NodeCost(protocolClass: .comparison, comparisons: NodeCost.product(sides, outputs))
            case .maxPool(let pool):
                let window = NodeCost.product(pool.kernel[0], pool.kernel[1])
                return NodeCost(protocolClass: .comparison, comparisons: NodeCost.product(outputs, window - 1))
            case .averagePool:
                return NodeCost(protocolClass: .division, divisions: outputs)
            case .globalAveragePool:
                return NodeCost(protocolClass: .division, divisions: outputs)
            case .add, .concat, .reshape, .transpose, .pad:
                return NodeCost(protocolClass: .local)
            case .softmax, .logSoftmax, .sigmoid:
                // The importer accepts these only at the end; they reach here when they normalise
                // along part of the output and so change the argmax.
                return NodeCost(protocolClass: .unsupported)
            }
        }
    }
}

import IR

/// Per-node data derived once from the public architecture and the weights, shared by both
/// executors (weights are converted per executor).
struct PreparedNode: Sendable {
    enum Layout: Sendable {
        case none
        /// Convolution geometry: input [Cin, H, W], output [Cout, outH, outW], K = Cin·kh·kw.
        case convolution(inputShape: [Int], outputHeight: Int, outputWidth: Int, k: Int)
        /// Fully connected: `rows` = elements before the last axis per example.
        case fullyConnected(rows: Int)
        /// Affine per channel: channel c covers `inner` consecutive values; else full broadcast indices.
        case affinePerChannel(scale: [Float]?, shift: [Float]?, channels: Int, inner: Int)
        case affineGeneral(scale: [Float]?, shift: [Float]?)
        /// Signed shift: channel c covers `inner` consecutive values.
        case signedShift(negate: [Float], shift: [Float], channels: Int, inner: Int)
        /// Add: nil indices mean "same shape as the output"; counts are per example.
        case add(left: [Int]?, right: [Int]?, leftCount: Int, rightCount: Int)
        case pool(PoolingWindows, channels: Int, inputPlane: Int)
        case globalAveragePool(channels: Int, plane: Int)
        case concat(shapes: [[Int]], axis: Int)
        case gather(sources: [Int])
        case padded(sources: [Int])
        case softmax(outer: Int, length: Int, inner: Int)
    }

    var node: Node
    var inputCount: Int
    var outputCount: Int
    var layout: Layout
}

/// The graph with every node's index tables computed, and the bookkeeping to free intermediate
/// values after their last use.
struct PreparedGraph: Sendable {
    var graph: Graph
    var nodes: [PreparedNode]
    /// For node i, the values whose last reader is node i (freed afterwards).
    var releaseAfter: [[String]]

    init(graph: Graph, nodeCount: Int? = nil) {
        self.graph = graph
        let count = nodeCount ?? graph.nodes.count
        let shapes = graph.valueShapes()
        var prepared: [PreparedNode] = []
        for node in graph.nodes[..<count] {
            let inputShapes = node.inputs.map { shapes[$0]! }
            let x = inputShapes[0]
            let layout: PreparedNode.Layout
            switch node.operation {
            case .convolution(let conv):
                layout = .convolution(inputShape: x, outputHeight: node.outputShape[1], outputWidth: node.outputShape[2],
                                      k: conv.inputChannels * conv.kernel[0] * conv.kernel[1])
            case .fullyConnected:
                layout = .fullyConnected(rows: Shape.elementCount(Array(x.dropLast())))
            case .affine(let affine):
                if !x.isEmpty, let (s, t) = affine.perChannel(rank: x.count, channels: x[0]) {
                    layout = .affinePerChannel(scale: affine.scale == nil ? nil : s, shift: affine.shift == nil ? nil : t,
                                               channels: x[0], inner: Shape.elementCount(Array(x.dropFirst())))
                } else {
                    layout = .affineGeneral(scale: affine.scale.map { Shape.broadcast($0, to: x).values },
                                            shift: affine.shift.map { Shape.broadcast($0, to: x).values })
                }
            case .signedShift(let signed):
                layout = .signedShift(negate: signed.negate.values, shift: signed.shift.values,
                                      channels: x[0], inner: Shape.elementCount(Array(x.dropFirst())))
            case .add:
                let out = node.outputShape
                layout = .add(left: inputShapes[0] == out ? nil : Shape.broadcastIndices(from: inputShapes[0], to: out),
                              right: inputShapes[1] == out ? nil : Shape.broadcastIndices(from: inputShapes[1], to: out),
                              leftCount: Shape.elementCount(inputShapes[0]), rightCount: Shape.elementCount(inputShapes[1]))
            case .maxPool(let pool):
                layout = .pool(pool.windows(height: x[1], width: x[2], countIncludePad: false), channels: x[0], inputPlane: x[1] * x[2])
            case .averagePool(let pool, let includePad):
                layout = .pool(pool.windows(height: x[1], width: x[2], countIncludePad: includePad), channels: x[0], inputPlane: x[1] * x[2])
            case .globalAveragePool:
                layout = .globalAveragePool(channels: x[0], plane: Shape.elementCount(Array(x.dropFirst())))
            case .concat(let axis):
                layout = .concat(shapes: inputShapes, axis: axis)
            case .transpose(let permutation):
                layout = .gather(sources: Shape.transposeSources(shape: x, permutation: permutation))
            case .pad(let pads, _):
                layout = .padded(sources: Shape.padSources(shape: x, pads: pads))
            case .softmax(let axis, let coerced), .logSoftmax(let axis, let coerced):
                let outer = Shape.elementCount(Array(x[..<axis]))
                if coerced {
                    layout = .softmax(outer: outer, length: Shape.elementCount(Array(x[axis...])), inner: 1)
                } else {
                    layout = .softmax(outer: outer, length: x[axis], inner: Shape.elementCount(Array(x[(axis + 1)...])))
                }
            case .relu, .clip, .reshape, .sigmoid:
                layout = .none
            }
            prepared.append(PreparedNode(node: node, inputCount: Shape.elementCount(x),
                                         outputCount: Shape.elementCount(node.outputShape), layout: layout))
        }
        nodes = prepared
        let output = count == graph.nodes.count ? graph.outputName : graph.argmaxEquivalentPrefix().outputName
        var lastUse: [String: Int] = [:]
        for (i, node) in prepared.enumerated() { for input in node.node.inputs { lastUse[input] = i } }
        var release = [[String]](repeating: [], count: prepared.count)
        for (value, index) in lastUse where value != output { release[index].append(value) }
        releaseAfter = release
    }
}

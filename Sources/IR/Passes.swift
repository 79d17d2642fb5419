/// Graph simplifications that keep the function computed by the graph (up to float rounding).
extension Graph {
    /// Runs every pass to a fixed point: affine simplification and folding into the preceding
    /// convolution or fully-connected layer; then the per-channel scales left before a ReLU are
    /// folded through it into the linear layer that reads it (`foldScalesThroughReLUs`); then dead-node removal, then
    /// shape inference. `foldScalesThroughReLUs: false` leaves those scales as they are.
    public mutating func optimize(foldScalesThroughReLUs: Bool = true) throws(IRError) {
        var changed = true
        while changed {
            changed = simplifyAffines()
            changed = mergeConsecutiveAffines() || changed
            changed = foldAffinesIntoLinearLayers() || changed
        }
        if foldScalesThroughReLUs { self.foldScalesThroughReLUs() }
        eliminateDeadNodes()
        try inferShapes()
    }

    /// Removes nodes whose output does not reach the graph output.
    public mutating func eliminateDeadNodes() {
        var live: Set<String> = [outputName]
        var keep = [Bool](repeating: false, count: nodes.count)
        for index in nodes.indices.reversed() where live.contains(nodes[index].output) {
            keep[index] = true
            live.formUnion(nodes[index].inputs)
        }
        nodes = nodes.indices.filter { keep[$0] }.map { nodes[$0] }
    }

    /// Replaces every use of `old` by `new` (inputs and the graph output).
    mutating func rename(_ old: String, to new: String) {
        for index in nodes.indices {
            nodes[index].inputs = nodes[index].inputs.map { $0 == old ? new : $0 }
        }
        if outputName == old { outputName = new }
    }

    /// Drops identity scales (all 1) and shifts (all 0); removes affines left with neither.
    mutating func simplifyAffines() -> Bool {
        var changed = false
        var index = 0
        while index < nodes.count {
            guard case .affine(var affine) = nodes[index].operation else { index += 1; continue }
            if let scale = affine.scale, scale.isAll(1), Shape.broadcast(nodes[index].outputShape, scale.shape) == nodes[index].outputShape {
                affine.scale = nil
                changed = true
            }
            if let shift = affine.shift, shift.isAll(0), Shape.broadcast(nodes[index].outputShape, shift.shape) == nodes[index].outputShape {
                affine.shift = nil
                changed = true
            }
            if affine.scale == nil && affine.shift == nil {
                let node = nodes.remove(at: index)
                rename(node.output, to: node.inputs[0])
                changed = true
                continue
            }
            nodes[index].operation = .affine(affine)
            index += 1
        }
        return changed
    }

    /// (x·s1 + b1)·s2 + b2 = x·(s1·s2) + (b1·s2 + b2) when the first affine feeds only the second.
    mutating func mergeConsecutiveAffines() -> Bool {
        let users = consumers()
        for index in nodes.indices {
            guard case .affine(let second) = nodes[index].operation else { continue }
            let input = nodes[index].inputs[0]
            guard let producer = nodes.firstIndex(where: { $0.output == input }),
                  case .affine(let first) = nodes[producer].operation,
                  users[input]?.count == 1, input != outputName else { continue }
            let scale = Self.combine(first.scale, second.scale, identity: 1, *)
            let shiftTimesScale: Tensor? = first.shift.map { b1 in second.scale.map { Self.combine(b1, $0, identity: 1, *)! } ?? b1 }
            let shift = Self.combine(shiftTimesScale, second.shift, identity: 0, +)
            nodes[index].operation = .affine(Affine(scale: scale, shift: shift))
            nodes[index].inputs = nodes[producer].inputs
            nodes.remove(at: producer)
            return true
        }
        return false
    }

    /// Element-wise combination of two broadcastable constants; nil stands for the identity.
    static func combine(_ a: Tensor?, _ b: Tensor?, identity: Float, _ op: (Float, Float) -> Float) -> Tensor? {
        guard let a else { return b }
        guard let b else { return a }
        let shape = Shape.broadcast(a.shape, b.shape)!
        let ia = Shape.broadcastIndices(from: a.shape, to: shape)
        let ib = Shape.broadcastIndices(from: b.shape, to: shape)
        return Tensor(shape: shape, values: (0..<ia.count).map { op(a.values[ia[$0]], b.values[ib[$0]]) })
    }

    /// Folds a per-output-channel affine (e.g. a BatchNormalization) into the convolution or
    /// fully-connected layer that feeds it alone: W'[o] = W[o]·s[o], b'[o] = b[o]·s[o] + t[o].
    mutating func foldAffinesIntoLinearLayers() -> Bool {
        let users = consumers()
        for index in nodes.indices {
            guard case .affine(let affine) = nodes[index].operation else { continue }
            let input = nodes[index].inputs[0]
            guard let producer = nodes.firstIndex(where: { $0.output == input }),
                  users[input]?.count == 1, input != outputName else { continue }
            let shape = nodes[producer].outputShape
            switch nodes[producer].operation {
            case .convolution(var conv):
                guard let (s, t) = affine.perChannel(rank: shape.count, channels: conv.outputChannels) else { continue }
                (conv.weight, conv.bias) = Self.scaleRows(conv.weight, conv.bias, s, t)
                nodes[producer].operation = .convolution(conv)
            case .fullyConnected(var fc):
                guard shape.count == 1,
                      let (s, t) = affine.perChannel(rank: 1, channels: fc.outputFeatures) else { continue }
                (fc.weight, fc.bias) = Self.scaleRows(fc.weight, fc.bias, s, t)
                nodes[producer].operation = .fullyConnected(fc)
            default:
                continue
            }
            let node = nodes.remove(at: index)
            rename(node.output, to: node.inputs[0])
            return true
        }
        return false
    }

    /// Scales row o of `weight` (first axis) by s[o]; bias becomes bias·s + t.
    static func scaleRows(_ weight: Tensor, _ bias: Tensor?, _ s: [Float], _ t: [Float]) -> (Tensor, Tensor) {
        let rows = weight.shape[0]
        let rowLength = weight.elementCount / max(rows, 1)
        var values = weight.values
        for o in 0..<rows {
            for j in 0..<rowLength { values[o * rowLength + j] *= s[o] }
        }
        let oldBias = bias?.values ?? [Float](repeating: 0, count: rows)
        let newBias = (0..<rows).map { oldBias[$0] * s[$0] + t[$0] }
        return (Tensor(shape: weight.shape, values: values), Tensor(shape: [rows], values: newBias))
    }

    /// The largest |b/a| a per-channel affine a·x + b may have for `foldScalesThroughReLUs` to
    /// keep the channel (2^16: the shifted value ±x + b/|a| needs 17 integer bits beside x's, which
    /// ℓ = 37, s = 12 has; a format too narrow for a shift is refused when the vendor's constants
    /// are encoded, with an error naming the node).
    public static let largestFoldedShift: Float = 65_536

    /// Folds the scale of a per-channel affine (a BatchNorm that no convolution before it could
    /// absorb, e.g. DenseNet's after every Concat) through the ReLU after it into the linear layer
    /// that reads the ReLU: a convolution without padding, or a fully-connected layer behind a
    /// GlobalAveragePool (and a Reshape to [C]), as in a classifier head:
    ///
    ///     ReLU(a·x + b) = |a| · ReLU(±x + b/|a|),  ± the sign of a,
    ///
    /// so Affine(a, b) → ReLU → Conv(W, β) becomes SignedShift(a < 0, b/|a|) → ReLU →
    /// Conv(W·|a| per input channel, β) (a per-channel average commutes with |a|, so the Gemm's
    /// column c takes |a_c| the same way). What is left before the ReLU multiplies by ±1 only,
    /// which needs one oblivious transfer per element instead of a homomorphic product.
    ///
    /// A channel with a = 0 or |b/a| > `largestFoldedShift` outputs ReLU(a·x + b) ≈ ReLU(b), a
    /// constant (the term a·x is below 2^−16·|b| per unit of x): its weights become 0 and W·ReLU(b)
    /// joins the bias, exact for a constant because the convolution has no padding (and an average
    /// of a constant is that constant). Whether the fold applies depends on the architecture only
    /// (ops, single consumers, padding), never on the weights, so the weight-stripped graph shows
    /// nothing about them.
    mutating func foldScalesThroughReLUs() {
        let users = consumers()
        /// The only reader of `value`, unless it is the graph's output or read by several nodes.
        func soleReader(of value: String) -> Int? {
            guard value != outputName, let readers = users[value], readers.count == 1 else { return nil }
            return readers[0]
        }
        for index in nodes.indices {
            guard case .affine(let affine) = nodes[index].operation, affine.scale != nil else { continue }
            let shape = nodes[index].outputShape
            guard shape.count == 3, let channels = shape.first,
                  let (a, b) = affine.perChannel(rank: 3, channels: channels),
                  let relu = soleReader(of: nodes[index].output), case .relu = nodes[relu].operation,
                  var reader = soleReader(of: nodes[relu].output) else { continue }
            // The linear layer: its index, and per input channel c the weight positions and how
            // many input positions feed each (for the constant channels' bias).
            let target: Int
            if case .globalAveragePool = nodes[reader].operation {
                guard let next = soleReader(of: nodes[reader].output) else { continue }
                reader = next
                if case .reshape = nodes[reader].operation, nodes[reader].outputShape == [channels] {
                    guard let next = soleReader(of: nodes[reader].output) else { continue }
                    reader = next
                }
                // The Gemm must read exactly the C averages as its features (rank 1).
                guard case .fullyConnected(let fc) = nodes[reader].operation, fc.inputFeatures == channels,
                      nodes[reader].outputShape == [fc.outputFeatures] else { continue }
                target = reader
            } else {
                guard case .convolution(let conv) = nodes[reader].operation,
                      conv.pads.allSatisfy({ $0 == 0 }), conv.inputChannels == channels else { continue }
                target = reader
            }
            var negate = [Float](repeating: 0, count: channels)
            var shift = [Float](repeating: 0, count: channels)
            var magnitude = [Float](repeating: 0, count: channels)
            var constant = [Float](repeating: 0, count: channels)
            for c in 0..<channels {
                if a[c] != 0 && (b[c] / a[c]).magnitude <= Self.largestFoldedShift {
                    negate[c] = a[c] < 0 ? 1 : 0
                    shift[c] = b[c] / a[c].magnitude
                    magnitude[c] = a[c].magnitude
                } else {
                    constant[c] = max(b[c], 0)
                }
            }
            switch nodes[target].operation {
            case .convolution(var conv):
                (conv.weight, conv.bias) = Self.scaleInputChannels(conv.weight, conv.bias, magnitude, constant)
                nodes[target].operation = .convolution(conv)
            case .fullyConnected(var fc):
                (fc.weight, fc.bias) = Self.scaleInputChannels(fc.weight, fc.bias, magnitude, constant)
                nodes[target].operation = .fullyConnected(fc)
            default:
                continue
            }
            nodes[index].operation = .signedShift(SignedShift(negate: Tensor(shape: [channels], values: negate),
                                                              shift: Tensor(shape: [channels], values: shift)))
        }
    }

    /// For a weight [O, C, …] (a convolution's [Cout, Cin, kh, kw], a fully-connected [N, K]):
    /// input channel c's weights times `magnitude[c]`, and `constant[c]` (an input channel that is
    /// that constant everywhere) through the original weights into the bias.
    static func scaleInputChannels(_ weight: Tensor, _ bias: Tensor?, _ magnitude: [Float], _ constant: [Float]) -> (Tensor, Tensor) {
        let outputs = weight.shape[0], channels = weight.shape[1]
        let perChannel = weight.elementCount / max(outputs * channels, 1)
        var values = weight.values
        var newBias = bias?.values ?? [Float](repeating: 0, count: outputs)
        for o in 0..<outputs {
            for c in 0..<channels {
                let base = (o * channels + c) * perChannel
                for k in base..<(base + perChannel) {
                    newBias[o] += values[k] * constant[c]
                    values[k] *= magnitude[c]
                }
            }
        }
        return (Tensor(shape: weight.shape, values: values), Tensor(shape: [outputs], values: newBias))
    }
}

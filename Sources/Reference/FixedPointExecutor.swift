import IR
import RingArithmetic

/// Runs the secure program's arithmetic in the clear over Z_2^ℓ: exactly what the two-party engine
/// computes on shares, so that "secure result = plaintext fixed-point result" can be tested.
///
/// Semantics (per op, values at scale s, signed representatives, see `FixedPointFormat`):
/// - input: round-half-even(x·2^s);
/// - Conv / Gemm / Affine with a scale: accumulate W·x (weights at scale s) plus bias at scale 2s
///   with wrapping arithmetic, reduce mod 2^ℓ, then faithful truncation ⌊v / 2^s⌋;
/// - Add / constant shift: sum mod 2^ℓ; ReLU, Clip, MaxPool: signed comparisons;
/// - AveragePool / GlobalAveragePool: the window sum mod 2^ℓ, then ⌊sum / count⌋ (floor division
///   by a public constant);
/// - a final Softmax/LogSoftmax is not computed (the argmax does not depend on it).
///
/// Every value that would leave the signed ℓ-bit range (and silently wrap in the ring) is reported
/// as `ReferenceError.fixedPointOverflow` naming the node, so unsuitable (ℓ, s) are detected. The
/// executor holds the weights in the clear: a plaintext tool, never part of the secure path.
public struct FixedPointExecutor: Sendable {
    public let graph: Graph
    public let format: FixedPointFormat
    let prepared: PreparedGraph
    let encoded: [EncodedWeights]
    /// The name of the value the secure program outputs (before a final Softmax).
    public let logitsName: String

    struct EncodedWeights: Sendable {
        var packed: PackedRingMatrix?
        /// Fully connected: Wᵀ [K, N] as ring elements.
        var matrix: [UInt64] = []
        /// Bias at scale 2s (conv/fc/affine), or the constant shift at scale s (affine without scale).
        var bias: [Int64] = []
        /// Affine scale at scale s.
        var scale: [Int64] = []
        /// Clip bounds or pad value at scale s.
        var bounds: (Int64, Int64) = (0, 0)
    }

    public init(graph: Graph, format: FixedPointFormat) throws {
        self.graph = graph
        self.format = format
        let prefix = graph.argmaxEquivalentPrefix()
        logitsName = prefix.outputName
        prepared = PreparedGraph(graph: graph, nodeCount: prefix.nodeCount)
        var encoded: [EncodedWeights] = []
        for step in prepared.nodes {
            let node = step.node
            func encode(_ values: [Float], power: Int) throws -> [Int64] {
                try values.map {
                    guard let v = format.encode(Double($0), power: power) else {
                        throw ReferenceError.unencodableWeight(node: node.name, op: node.operation.name, format: format)
                    }
                    return v
                }
            }
            var e = EncodedWeights()
            switch (node.operation, step.layout) {
            case (.convolution(let conv), _):
                let w = try encode(conv.weight.values, power: 1).map { UInt64(bitPattern: $0) }
                e.packed = PackedRingMatrix(rows: conv.outputChannels, columns: conv.weight.elementCount / max(conv.outputChannels, 1), values: w)
                e.bias = try encode(conv.bias?.values ?? [], power: 2)
            case (.fullyConnected(let fc), _):
                let w = try encode(fc.weight.values, power: 1).map { UInt64(bitPattern: $0) }
                e.matrix = transposed(w, rows: fc.outputFeatures, columns: fc.inputFeatures)
                e.bias = try encode(fc.bias?.values ?? [], power: 2)
            case let (.affine, .affinePerChannel(scale, shift, _, _)), let (.affine, .affineGeneral(scale, shift)):
                if let scale {
                    e.scale = try encode(scale, power: 1)
                    e.bias = try encode(shift ?? [], power: 2)
                } else {
                    e.bias = try encode(shift ?? [], power: 1)
                }
            case let (.clip(lower, upper), _):
                e.bounds = (lower == -.infinity ? Int64.min : try encode([lower], power: 1)[0],
                            upper == .infinity ? Int64.max : try encode([upper], power: 1)[0])
            case let (.pad(_, value), _):
                let v = try encode([value], power: 1)[0]
                e.bounds = (v, v)
            default:
                break
            }
            encoded.append(e)
        }
        self.encoded = encoded
    }

    /// Encodes inputs (examples one after another) at scale s.
    public func encode(_ input: [Float]) throws -> [Int64] {
        let perExample = max(Shape.elementCount(graph.inputShape), 1)
        var result = [Int64](repeating: 0, count: input.count)
        for i in input.indices {
            guard let v = format.encode(Double(input[i])) else {
                throw ReferenceError.unencodableInput(format: format, example: i / perExample)
            }
            result[i] = v
        }
        return result
    }

    /// Runs `batch` examples (float inputs, encoded here) and returns the logits of the secure program
    /// at scale s, one example after another.
    public func run(_ input: [Float], batch: Int) throws -> [Int64] {
        let perExample = Shape.elementCount(graph.inputShape)
        guard batch >= 0, input.count == perExample * batch else {
            throw ReferenceError.inputSizeMismatch(expected: graph.inputShape, valueCount: input.count)
        }
        return try run(encoded: encode(input), batch: batch)
    }

    /// Runs already encoded inputs.
    public func run(encoded input: [Int64], batch: Int) throws -> [Int64] {
        var values: [String: [Int64]] = [graph.inputName: input]
        for (index, step) in prepared.nodes.enumerated() {
            let inputs = step.node.inputs.map { values[$0]! }
            values[step.node.output] = try execute(step, index: index, inputs: inputs, batch: batch)
            for name in prepared.releaseAfter[index] { values[name] = nil }
        }
        return values[logitsName]!
    }

    /// The logits decoded to reals and passed through the dropped final ops (a Softmax), so that the
    /// result is comparable with the model's float output.
    public func runDecoded(_ input: [Float], batch: Int) throws -> [Float] {
        let logits = try run(input, batch: batch)
        var output = logits.map { Float(format.decode($0)) }
        let kept = graph.argmaxEquivalentPrefix().nodeCount
        if kept < graph.nodes.count {
            let tail = PreparedGraph(graph: graph)
            let float = FloatExecutor(graph: graph)
            for index in kept..<graph.nodes.count {
                output = float.execute(tail.nodes[index], index: index, inputs: [output], batch: batch)
            }
        }
        return output
    }

    private func overflow(_ step: PreparedNode, _ value: Int64) -> ReferenceError {
        let magnitude = value == .min ? UInt64(1) << 63 : UInt64(abs(value))
        return .fixedPointOverflow(node: step.node.name, op: step.node.operation.name, format: format,
                                   magnitudeBits: 65 - magnitude.leadingZeroBitCount)
    }

    /// Reduces mod 2^ℓ and checks that nothing wrapped.
    @inline(__always)
    private func checked(_ v: Int64, _ step: PreparedNode) throws -> Int64 {
        let w = format.wrap(v)
        if w != v { throw overflow(step, v) }
        return w
    }

    func execute(_ step: PreparedNode, index: Int, inputs: [[Int64]], batch: Int) throws -> [Int64] {
        let x = inputs[0]
        let n = step.outputCount
        let e = encoded[index]
        let s = Int64(format.scale)
        var out = [Int64](repeating: 0, count: n * batch)
        switch (step.node.operation, step.layout) {
        case let (.convolution(conv), .convolution(inputShape, outH, outW, k)):
            try convolution(conv, e, x, inputShape: inputShape, outH: outH, outW: outW, k: k, batch: batch, step: step, into: &out)
        case let (.fullyConnected(fc), .fullyConnected(rows)):
            let m = rows * batch, nOut = fc.outputFeatures
            x.withUnsafeBufferPointer { xp in
                xp.withMemoryRebound(to: UInt64.self) { a in
                    e.matrix.withUnsafeBufferPointer { b in
                        out.withUnsafeMutableBufferPointer { op in
                            op.withMemoryRebound(to: UInt64.self) { c in
                                RingGEMM.multiply(m: m, n: nOut, k: fc.inputFeatures, a: a.baseAddress!, lda: fc.inputFeatures,
                                                  b: b.baseAddress!, ldb: nOut, c: c.baseAddress!, ldc: nOut, accumulate: false)
                            }
                        }
                    }
                }
            }
            for r in 0..<m {
                for j in 0..<nOut {
                    let acc = out[r * nOut + j] &+ (e.bias.isEmpty ? 0 : e.bias[j])
                    out[r * nOut + j] = try checked(acc, step) >> s
                }
            }
        case let (.affine, .affinePerChannel(scale, _, channels, inner)):
            for b in 0..<batch {
                for c in 0..<channels {
                    let base = (b * channels + c) * inner
                    let t = e.bias.isEmpty ? 0 : e.bias[c]
                    if scale != nil {
                        let sc = e.scale[c]
                        for i in base..<(base + inner) { out[i] = try checked(x[i] &* sc &+ t, step) >> s }
                    } else {
                        for i in base..<(base + inner) { out[i] = try checked(x[i] &+ t, step) }
                    }
                }
            }
        case let (.affine, .affineGeneral(scale, _)):
            for b in 0..<batch {
                for i in 0..<n {
                    let t = e.bias.isEmpty ? 0 : e.bias[i]
                    if scale != nil {
                        out[b * n + i] = try checked(x[b * n + i] &* e.scale[i] &+ t, step) >> s
                    } else {
                        out[b * n + i] = try checked(x[b * n + i] &+ t, step)
                    }
                }
            }
        case let (.add, .add(left, right, ln, rn)):
            let y = inputs[1]
            for b in 0..<batch {
                for i in 0..<n {
                    out[b * n + i] = try checked(x[b * ln + (left?[i] ?? i)] &+ y[b * rn + (right?[i] ?? i)], step)
                }
            }
        case (.relu, _):
            for i in out.indices { out[i] = max(x[i], 0) }
        case (.clip, _):
            for i in out.indices { out[i] = min(max(x[i], e.bounds.0), e.bounds.1) }
        case let (.maxPool, .pool(windows, channels, plane)):
            let outPlane = windows.outputHeight * windows.outputWidth
            for bc in 0..<(batch * channels) {
                for o in 0..<outPlane {
                    var best = Int64.min
                    for j in windows.starts[o]..<windows.starts[o + 1] { best = max(best, x[bc * plane + windows.offsets[j]]) }
                    out[bc * outPlane + o] = windows.starts[o] == windows.starts[o + 1] ? 0 : best
                }
            }
        case let (.averagePool, .pool(windows, channels, plane)):
            let outPlane = windows.outputHeight * windows.outputWidth
            for bc in 0..<(batch * channels) {
                for o in 0..<outPlane {
                    var sum: Int64 = 0
                    for j in windows.starts[o]..<windows.starts[o + 1] { sum = sum &+ x[bc * plane + windows.offsets[j]] }
                    out[bc * outPlane + o] = floorDivide(try checked(sum, step), Int64(windows.divisors[o]))
                }
            }
        case let (.globalAveragePool, .globalAveragePool(channels, plane)):
            for bc in 0..<(batch * channels) {
                var sum: Int64 = 0
                for i in 0..<plane { sum = sum &+ x[bc * plane + i] }
                out[bc] = floorDivide(try checked(sum, step), Int64(plane))
            }
        case let (.concat, .concat(shapes, axis)):
            Kernels.concat(inputs, shapes: shapes, axis: axis, batch: batch, into: &out)
        case (.reshape, _):
            return x
        case let (.transpose, .gather(sources)):
            for b in 0..<batch { for i in 0..<n { out[b * n + i] = x[b * step.inputCount + sources[i]] } }
        case let (.pad, .padded(sources)):
            for b in 0..<batch { for i in 0..<n { out[b * n + i] = sources[i] < 0 ? e.bounds.0 : x[b * step.inputCount + sources[i]] } }
        default:
            preconditionFailure("node '\(step.node.name)' (\(step.node.operation.name)) cannot run in fixed point")
        }
        return out
    }

    private func convolution(_ conv: Convolution, _ e: EncodedWeights, _ x: [Int64], inputShape: [Int], outH: Int, outW: Int, k: Int,
                             batch: Int, step: PreparedNode, into out: inout [Int64]) throws {
        let plane = outH * outW
        let cout = conv.outputChannels
        let columns = plane * batch
        let perImage = Shape.elementCount(inputShape)
        let isPointwise = conv.kernel == [1, 1] && conv.strides == [1, 1] && conv.pads == [0, 0, 0, 0]
        var product = [UInt64](repeating: 0, count: cout * columns)
        x.withUnsafeBufferPointer { xp in
            xp.withMemoryRebound(to: UInt64.self) { xu in
                if isPointwise && batch == 1 {
                    // A 1×1 stride-1 convolution of one image is W · X directly.
                    product.withUnsafeMutableBufferPointer { pp in
                        RingGEMM.multiply(packed: e.packed!, n: columns, b: xu.baseAddress!, ldb: columns, c: pp.baseAddress!, ldc: columns, accumulate: false)
                    }
                    return
                }
                var cols = [UInt64](repeating: 0, count: k * columns)
                cols.withUnsafeMutableBufferPointer { cp in
                    for b in 0..<batch {
                        Im2Col.lower(input: xu.baseAddress! + b * perImage, channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                                     kernelH: conv.kernel[0], kernelW: conv.kernel[1], strideH: conv.strides[0], strideW: conv.strides[1],
                                     dilationH: conv.dilations[0], dilationW: conv.dilations[1], padTop: conv.pads[0], padLeft: conv.pads[1],
                                     padBottom: conv.pads[2], padRight: conv.pads[3], output: cp.baseAddress! + b * plane, ldOut: columns)
                    }
                    product.withUnsafeMutableBufferPointer { pp in
                        RingGEMM.multiply(packed: e.packed!, n: columns, b: cp.baseAddress!, ldb: columns, c: pp.baseAddress!, ldc: columns, accumulate: false)
                    }
                }
            }
        }
        let s = Int64(format.scale)
        let hasBias = !e.bias.isEmpty
        try product.withUnsafeBufferPointer { pp in
            try out.withUnsafeMutableBufferPointer { op in
                for b in 0..<batch {
                    for c in 0..<cout {
                        let bias = hasBias ? e.bias[c] : 0
                        let source = c * columns + b * plane
                        let target = (b * cout + c) * plane
                        for p in 0..<plane {
                            let acc = Int64(bitPattern: pp[source + p]) &+ bias
                            let w = format.wrap(acc)
                            if w != acc { throw overflow(step, acc) }
                            op[target + p] = w >> s
                        }
                    }
                }
            }
        }
    }
}

/// ⌊a / b⌋ for b > 0 (Swift's `/` truncates toward zero).
@inline(__always)
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && a < 0) ? q - 1 : q
}

import IR
import RingArithmetic

/// Runs the secure program's arithmetic in the clear over Z_2^ℓ: exactly what the two-party engine
/// computes on shares, so that "secure result = plaintext fixed-point result" can be tested.
///
/// Semantics (per op, values at scale s, signed representatives, see `FixedPointFormat`):
/// - input: round-half-even(x·2^s);
/// - Conv / Gemm / Affine with a scale: accumulate W·x (weights at scale s) plus bias at scale 2s
///   with wrapping arithmetic, reduce mod 2^ℓ, then faithful truncation ⌊v / 2^s⌋;
/// - SignedShift: ±x + shift (shift at scale s), mod 2^ℓ;
/// - Add / constant shift: sum mod 2^ℓ; ReLU, Clip, MaxPool: signed comparisons;
/// - AveragePool / GlobalAveragePool: the window sum mod 2^ℓ, then ⌊sum / count⌋ (floor division
///   by a public constant);
/// - a final Softmax/LogSoftmax is not computed (the argmax does not depend on it).
///
/// Every value that would leave the signed ℓ-bit range (and silently wrap in the ring) is reported
/// as `ReferenceError.fixedPointOverflow` naming the node, so unsuitable (ℓ, s) are detected — also
/// for ℓ = 64 and when a 64-bit intermediate would wrap back into range: element-wise ops use
/// overflow-reporting (or 128-bit) arithmetic, and a linear layer whose a-priori bound
/// max|x|·max‖W_row‖₁ + max|b| reaches 2^62 is re-checked exactly with 128-bit accumulators. The
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
        /// Affine scale at scale s; a signed shift's signs (±1).
        var scale: [Int64] = []
        /// Clip bounds or pad value at scale s.
        var bounds: (Int64, Int64) = (0, 0)
        /// Conv / fully connected: the largest ‖row‖₁ of the encoded weights and the largest |bias|,
        /// for the bound that rules out 64-bit wrap-around (see `cannotWrap64`).
        var rowL1Max: Double = 0
        var biasMax: Double = 0
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
            if node.operation.isArgmaxInvariant {
                throw ReferenceError.unsupportedInFixedPoint(node: node.name, op: node.operation.name, reason:
                    "it normalises along per-example axis \(Self.axis(of: node.operation)) of its output \(Shape.describe(node.outputShape)), "
                    + "not over the whole output, so it changes the argmax and cannot be dropped from the secure program; run this model in float")
            }
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
                let w = try encode(conv.weight.values, power: 1)
                e.packed = PackedRingMatrix(rows: conv.outputChannels, columns: conv.weight.elementCount / max(conv.outputChannels, 1),
                                            values: w.map { UInt64(bitPattern: $0) })
                e.bias = try encode(conv.bias?.values ?? [], power: 2)
                (e.rowL1Max, e.biasMax) = Self.bounds(w, rows: conv.outputChannels, bias: e.bias)
            case (.fullyConnected(let fc), _):
                let w = try encode(fc.weight.values, power: 1)
                e.matrix = transposed(w.map { UInt64(bitPattern: $0) }, rows: fc.outputFeatures, columns: fc.inputFeatures)
                e.bias = try encode(fc.bias?.values ?? [], power: 2)
                (e.rowL1Max, e.biasMax) = Self.bounds(w, rows: fc.outputFeatures, bias: e.bias)
            case let (.affine, .affinePerChannel(scale, shift, _, _)), let (.affine, .affineGeneral(scale, shift)):
                if let scale {
                    e.scale = try encode(scale, power: 1)
                    e.bias = try encode(shift ?? [], power: 2)
                } else {
                    e.bias = try encode(shift ?? [], power: 1)
                }
            case let (.signedShift, .signedShift(negate, shift, _, _)):
                e.scale = negate.map { $0 == 0 ? 1 : -1 }
                e.bias = try encode(shift, power: 1)
            case let (.clip(lower, upper), _):
                e.bounds = (try lower.map { try encode([$0], power: 1)[0] } ?? Int64.min,
                            try upper.map { try encode([$0], power: 1)[0] } ?? Int64.max)
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

    /// The largest ‖row‖₁ of a row-major [rows, ·] weight matrix and the largest |bias|, in Double.
    private static func bounds(_ weights: [Int64], rows: Int, bias: [Int64]) -> (Double, Double) {
        let columns = weights.count / max(rows, 1)
        var rowMax = 0.0
        for r in 0..<rows {
            var sum = 0.0
            for j in 0..<columns { sum += Double(weights[r * columns + j].magnitude) }
            rowMax = max(rowMax, sum)
        }
        return (rowMax, bias.map { Double($0.magnitude) }.max() ?? 0)
    }

    private static func axis(of operation: Operation) -> Int {
        switch operation {
        case .softmax(let axis, _), .logSoftmax(let axis, _): axis
        default: 0
        }
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
        overflow(step, bits: 65 - value.magnitude.leadingZeroBitCount)
    }

    private func overflow(_ step: PreparedNode, bits: Int) -> ReferenceError {
        .fixedPointOverflow(node: step.node.name, op: step.node.operation.name, format: format, magnitudeBits: bits)
    }

    /// Reduces mod 2^ℓ and checks that nothing wrapped.
    @inline(__always)
    private func checked(_ v: Int64, _ step: PreparedNode) throws -> Int64 {
        let w = format.wrap(v)
        if w != v { throw overflow(step, v) }
        return w
    }

    /// a + b, checked against the ring's range (a sum beyond 64 bits is an overflow too).
    @inline(__always)
    private func checkedSum(_ a: Int64, _ b: Int64, _ step: PreparedNode) throws -> Int64 {
        let (v, wrapped) = a.addingReportingOverflow(b)
        if wrapped { throw overflow(step, bits: 65) }
        return try checked(v, step)
    }

    /// A 128-bit sum checked against the ring's range.
    @inline(__always)
    private func checked(_ wide: WideInteger, _ step: PreparedNode) throws -> Int64 {
        guard let v = wide.int64 else { throw overflow(step, bits: wide.signedBits) }
        return try checked(v, step)
    }

    /// x · scale + shift (scale 2s), checked in 128 bits against the ring's range.
    @inline(__always)
    private func checkedProduct(_ x: Int64, _ scale: Int64, plus shift: Int64, _ step: PreparedNode) throws -> Int64 {
        var wide = WideInteger()
        wide.add(product: x, scale)
        wide.add(shift)
        return try checked(wide, step)
    }

    /// The slow exact check of a fully-connected layer (see `cannotWrap64`): every output
    /// Σ x·w + b in 128 bits against the ring's range. Weights are re-encoded from the graph.
    private func exactlyCheckFullyConnected(_ fc: FullyConnected, _ x: [Int64], rows: Int, step: PreparedNode) throws {
        let k = fc.inputFeatures
        let w = fc.weight.values.map { format.encode(Double($0), power: 1)! }
        let bias = (fc.bias?.values ?? []).map { format.encode(Double($0), power: 2)! }
        for r in 0..<rows {
            for j in 0..<fc.outputFeatures {
                var acc = WideInteger()
                if !bias.isEmpty { acc.add(bias[j]) }
                for i in 0..<k { acc.add(product: x[r * k + i], w[j * k + i]) }
                _ = try checked(acc, step)
            }
        }
    }

    /// The slow exact check of a convolution (see `cannotWrap64`), by direct summation in 128 bits.
    private func exactlyCheckConvolution(_ conv: Convolution, _ x: [Int64], inputShape: [Int], outH: Int, outW: Int,
                                         batch: Int, step: PreparedNode) throws {
        let (cin, h, wIn) = (inputShape[0], inputShape[1], inputShape[2])
        let (kh, kw) = (conv.kernel[0], conv.kernel[1])
        let w = conv.weight.values.map { format.encode(Double($0), power: 1)! }
        let bias = (conv.bias?.values ?? []).map { format.encode(Double($0), power: 2)! }
        for b in 0..<batch {
            for co in 0..<conv.outputChannels {
                for oy in 0..<outH {
                    for ox in 0..<outW {
                        var acc = WideInteger()
                        if !bias.isEmpty { acc.add(bias[co]) }
                        for ci in 0..<cin {
                            for ky in 0..<kh {
                                let iy = oy * conv.strides[0] - conv.pads[0] + ky * conv.dilations[0]
                                guard iy >= 0, iy < h else { continue }
                                for kx in 0..<kw {
                                    let ix = ox * conv.strides[1] - conv.pads[1] + kx * conv.dilations[1]
                                    guard ix >= 0, ix < wIn else { continue }
                                    acc.add(product: x[((b * cin + ci) * h + iy) * wIn + ix], w[((co * cin + ci) * kh + ky) * kw + kx])
                                }
                            }
                        }
                        _ = try checked(acc, step)
                    }
                }
            }
        }
    }

    /// For a conv / fully-connected layer: true when the 64-bit GEMM results (plus bias) cannot
    /// have wrapped past 2^64, so that checking them against the ring's range is exact. The bound
    /// max|x|·max‖W_row‖₁ + max|b| < 2^62 leaves a factor 2 for Double rounding.
    private func cannotWrap64(_ x: [Int64], _ e: EncodedWeights) -> Bool {
        var largest: UInt64 = 0
        for v in x { largest = max(largest, v.magnitude) }
        return Double(largest) * e.rowL1Max + e.biasMax < 0x1p62
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
            if !cannotWrap64(x, e) { try exactlyCheckFullyConnected(fc, x, rows: m, step: step) }
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
                        for i in base..<(base + inner) { out[i] = try checkedProduct(x[i], sc, plus: t, step) >> s }
                    } else {
                        for i in base..<(base + inner) { out[i] = try checkedSum(x[i], t, step) }
                    }
                }
            }
        case let (.affine, .affineGeneral(scale, _)):
            for b in 0..<batch {
                for i in 0..<n {
                    let t = e.bias.isEmpty ? 0 : e.bias[i]
                    if scale != nil {
                        out[b * n + i] = try checkedProduct(x[b * n + i], e.scale[i], plus: t, step) >> s
                    } else {
                        out[b * n + i] = try checkedSum(x[b * n + i], t, step)
                    }
                }
            }
        case let (.signedShift, .signedShift(_, _, channels, inner)):
            for b in 0..<batch {
                for c in 0..<channels {
                    let base = (b * channels + c) * inner
                    let sign = e.scale[c], t = e.bias[c]
                    for i in base..<(base + inner) {
                        let (signed, wrapped) = x[i].multipliedReportingOverflow(by: sign)
                        if wrapped { throw overflow(step, bits: 65) }
                        out[i] = try checkedSum(signed, t, step)
                    }
                }
            }
        case let (.add, .add(left, right, ln, rn)):
            let y = inputs[1]
            for b in 0..<batch {
                for i in 0..<n {
                    out[b * n + i] = try checkedSum(x[b * ln + (left?[i] ?? i)], y[b * rn + (right?[i] ?? i)], step)
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
                    var sum = WideInteger()
                    for j in windows.starts[o]..<windows.starts[o + 1] { sum.add(x[bc * plane + windows.offsets[j]]) }
                    out[bc * outPlane + o] = floorDivide(try checked(sum, step), Int64(windows.divisors[o]))
                }
            }
        case let (.globalAveragePool, .globalAveragePool(channels, plane)):
            for bc in 0..<(batch * channels) {
                var sum = WideInteger()
                for i in 0..<plane { sum.add(x[bc * plane + i]) }
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
        if !cannotWrap64(x, e) {
            try exactlyCheckConvolution(conv, x, inputShape: inputShape, outH: outH, outW: outW, batch: batch, step: step)
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

/// A signed 128-bit accumulator (two's complement, `high`:`low`) for exact overflow checks of sums
/// of 64-bit products.
struct WideInteger {
    var high: Int64 = 0
    var low: UInt64 = 0

    @inline(__always)
    mutating func add(_ v: Int64) {
        let (sum, carry) = low.addingReportingOverflow(UInt64(bitPattern: v))
        low = sum
        high = high &+ (v < 0 ? -1 : 0) &+ (carry ? 1 : 0)
    }

    @inline(__always)
    mutating func add(product a: Int64, _ b: Int64) {
        let p = a.multipliedFullWidth(by: b)
        let (sum, carry) = low.addingReportingOverflow(p.low)
        low = sum
        high = high &+ p.high &+ (carry ? 1 : 0)
    }

    /// The value when it fits in an Int64.
    var int64: Int64? {
        let v = Int64(bitPattern: low)
        return high == (v < 0 ? -1 : 0) ? v : nil
    }

    /// Bits of a signed representation (magnitude bits + 1), as `fixedPointOverflow` reports.
    var signedBits: Int {
        if let v = int64 { return 65 - v.magnitude.leadingZeroBitCount }
        let top = high < 0 ? ~high : high
        return 64 + (64 - top.leadingZeroBitCount) + 1
    }
}

/// ⌊a / b⌋ for b > 0 (Swift's `/` truncates toward zero).
@inline(__always)
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && a < 0) ? q - 1 : q
}

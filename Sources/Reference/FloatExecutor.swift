import Foundation
import IR
import RingArithmetic

/// Runs a graph in float32 — the reference a vendor compares with onnxruntime. Holds the weights in
/// the clear: it is a plaintext tool for the vendor (or for tests), never part of the secure path.
public struct FloatExecutor: Sendable {
    public let graph: Graph
    let prepared: PreparedGraph
    /// Per node: convolution/fully-connected weights in GEMM layout (conv [Cout, K]; fc Wᵀ [K, N]).
    let weights: [[Float]]

    public init(graph: Graph) {
        self.graph = graph
        prepared = PreparedGraph(graph: graph)
        weights = graph.nodes.map { node in
            switch node.operation {
            case .convolution(let conv): return conv.weight.values
            case .fullyConnected(let fc): return transposed(fc.weight.values, rows: fc.outputFeatures, columns: fc.inputFeatures)
            default: return []
            }
        }
    }

    /// Runs `batch` examples stored one after another (each of the graph's input shape) and returns
    /// the outputs, one after another (each of the graph's output shape, a final Softmax included).
    public func run(_ input: [Float], batch: Int) throws -> [Float] {
        try run(input, batch: batch, through: prepared.nodes.count, output: graph.outputName)
    }

    /// The scores the secure program computes, in float: the outputs without a final
    /// Softmax/Sigmoid (`Graph.argmaxEquivalentPrefix`), example after example.
    public func scores(_ input: [Float], batch: Int) throws -> [Float] {
        let prefix = graph.argmaxEquivalentPrefix()
        return try run(input, batch: batch, through: prefix.nodeCount, output: prefix.outputName)
    }

    private func run(_ input: [Float], batch: Int, through nodeCount: Int, output: String) throws -> [Float] {
        let perExample = Shape.elementCount(graph.inputShape)
        guard batch >= 0, input.count == perExample * batch else {
            throw ReferenceError.inputSizeMismatch(expected: graph.inputShape, valueCount: input.count)
        }
        var values: [String: [Float]] = [graph.inputName: input]
        for (index, step) in prepared.nodes.enumerated().prefix(nodeCount) {
            let inputs = step.node.inputs.map { values[$0]! }
            values[step.node.output] = execute(step, index: index, inputs: inputs, batch: batch)
            for name in prepared.releaseAfter[index] where name != output { values[name] = nil }
        }
        return values[output]!
    }

    func execute(_ step: PreparedNode, index: Int, inputs: [[Float]], batch: Int) -> [Float] {
        let x = inputs[0]
        let n = step.outputCount
        var out = [Float](repeating: 0, count: n * batch)
        switch (step.node.operation, step.layout) {
        case let (.convolution(conv), .convolution(inputShape, outH, outW, k)):
            convolution(conv, weights: weights[index], x, inputShape: inputShape, outH: outH, outW: outW, k: k, batch: batch, into: &out)
        case let (.fullyConnected(fc), .fullyConnected(rows)):
            let w = weights[index]
            x.withUnsafeBufferPointer { a in
                w.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { c in
                        FloatGEMM.multiply(m: rows * batch, n: fc.outputFeatures, k: fc.inputFeatures, a: a.baseAddress!, lda: fc.inputFeatures,
                                           b: b.baseAddress!, ldb: fc.outputFeatures, c: c.baseAddress!, ldc: fc.outputFeatures, accumulate: false)
                    }
                }
            }
            if let bias = fc.bias?.values {
                for r in 0..<(rows * batch) { for j in 0..<fc.outputFeatures { out[r * fc.outputFeatures + j] += bias[j] } }
            }
        case let (.affine, .affinePerChannel(scale, shift, channels, inner)):
            for b in 0..<batch {
                for c in 0..<channels {
                    let s = scale?[c] ?? 1, t = shift?[c] ?? 0
                    let base = (b * channels + c) * inner
                    for i in base..<(base + inner) { out[i] = scale == nil ? x[i] + t : x[i] * s + t }
                }
            }
        case let (.affine, .affineGeneral(scale, shift)):
            for b in 0..<batch {
                for i in 0..<n {
                    var v = x[b * n + i]
                    if let scale { v *= scale[i] }
                    if let shift { v += shift[i] }
                    out[b * n + i] = v
                }
            }
        case let (.signedShift, .signedShift(negate, shift, channels, inner)):
            for b in 0..<batch {
                for c in 0..<channels {
                    let base = (b * channels + c) * inner
                    for i in base..<(base + inner) { out[i] = (negate[c] == 0 ? x[i] : -x[i]) + shift[c] }
                }
            }
        case let (.add, .add(left, right, ln, rn)):
            let y = inputs[1]
            for b in 0..<batch {
                for i in 0..<n {
                    out[b * n + i] = x[b * ln + (left?[i] ?? i)] + y[b * rn + (right?[i] ?? i)]
                }
            }
        case (.relu, _):
            for i in out.indices { out[i] = max(x[i], 0) }
        case let (.clip(lower, upper), _):
            let lo = lower ?? -.infinity, hi = upper ?? .infinity
            for i in out.indices { out[i] = min(max(x[i], lo), hi) }
        case let (.maxPool, .pool(windows, channels, plane)):
            pool(windows, channels: channels, plane: plane, x, batch: batch, into: &out) { values in values.max() ?? 0 }
        case let (.averagePool, .pool(windows, channels, plane)):
            let outPlane = windows.outputHeight * windows.outputWidth
            for b in 0..<batch {
                for c in 0..<channels {
                    let base = (b * channels + c) * plane
                    for o in 0..<outPlane {
                        var sum: Float = 0
                        for j in windows.starts[o]..<windows.starts[o + 1] { sum += x[base + windows.offsets[j]] }
                        out[(b * channels + c) * outPlane + o] = sum / Float(windows.divisors[o])
                    }
                }
            }
        case let (.globalAveragePool, .globalAveragePool(channels, plane)):
            for bc in 0..<(batch * channels) {
                var sum: Float = 0
                for i in 0..<plane { sum += x[bc * plane + i] }
                out[bc] = sum / Float(plane)
            }
        case let (.concat, .concat(shapes, axis)):
            Kernels.concat(inputs, shapes: shapes, axis: axis, batch: batch, into: &out)
        case (.reshape, _):
            return x
        case let (.transpose, .gather(sources)):
            for b in 0..<batch { for i in 0..<n { out[b * n + i] = x[b * step.inputCount + sources[i]] } }
        case let (.pad(_, value), .padded(sources)):
            for b in 0..<batch { for i in 0..<n { out[b * n + i] = sources[i] < 0 ? value : x[b * step.inputCount + sources[i]] } }
        case let (.softmax, .softmax(outer, length, inner)):
            Self.softmax(x, batch: batch, outer: outer, length: length, inner: inner, log: false, into: &out)
        case let (.logSoftmax, .softmax(outer, length, inner)):
            Self.softmax(x, batch: batch, outer: outer, length: length, inner: inner, log: true, into: &out)
        case (.sigmoid, _):
            for i in 0..<(batch * n) { out[i] = Float(1 / (1 + Foundation.exp(-Double(x[i])))) }
        default:
            preconditionFailure("node '\(step.node.name)': layout does not match its operation")
        }
        return out
    }

    /// Softmax or LogSoftmax over `length` values spaced `inner` apart, computed in Double.
    static func softmax(_ x: [Float], batch: Int, outer: Int, length: Int, inner: Int, log: Bool, into out: inout [Float]) {
        for block in 0..<(batch * outer) {
            for i in 0..<inner {
                let base = block * length * inner + i
                var maximum = -Double.infinity
                for j in 0..<length { maximum = max(maximum, Double(x[base + j * inner])) }
                var sum = 0.0
                for j in 0..<length { sum += Foundation.exp(Double(x[base + j * inner]) - maximum) }
                for j in 0..<length {
                    let shifted = Double(x[base + j * inner]) - maximum
                    out[base + j * inner] = Float(log ? shifted - Foundation.log(sum) : Foundation.exp(shifted) / sum)
                }
            }
        }
    }

    private func pool(_ windows: PoolingWindows, channels: Int, plane: Int, _ x: [Float], batch: Int, into out: inout [Float],
                      reduce: ([Float]) -> Float) {
        let outPlane = windows.outputHeight * windows.outputWidth
        var scratch: [Float] = []
        for b in 0..<batch {
            for c in 0..<channels {
                let base = (b * channels + c) * plane
                for o in 0..<outPlane {
                    scratch.removeAll(keepingCapacity: true)
                    for j in windows.starts[o]..<windows.starts[o + 1] { scratch.append(x[base + windows.offsets[j]]) }
                    out[(b * channels + c) * outPlane + o] = reduce(scratch)
                }
            }
        }
    }

    private func convolution(_ conv: Convolution, weights: [Float], _ x: [Float], inputShape: [Int], outH: Int, outW: Int, k: Int,
                             batch: Int, into out: inout [Float]) {
        let plane = outH * outW
        let cout = conv.outputChannels
        let columns = plane * batch
        let perImage = Shape.elementCount(inputShape)
        var cols = [Float](repeating: 0, count: k * columns)
        var product = batch == 1 ? [] : [Float](repeating: 0, count: cout * columns)
        x.withUnsafeBufferPointer { xp in
            cols.withUnsafeMutableBufferPointer { cp in
                for b in 0..<batch {
                    Im2Col.lower(input: xp.baseAddress! + b * perImage, channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                                 kernelH: conv.kernel[0], kernelW: conv.kernel[1], strideH: conv.strides[0], strideW: conv.strides[1],
                                 dilationH: conv.dilations[0], dilationW: conv.dilations[1], padTop: conv.pads[0], padLeft: conv.pads[1],
                                 padBottom: conv.pads[2], padRight: conv.pads[3], output: cp.baseAddress! + b * plane, ldOut: columns)
                }
            }
        }
        weights.withUnsafeBufferPointer { wp in
            cols.withUnsafeBufferPointer { cp in
                if batch == 1 {
                    out.withUnsafeMutableBufferPointer { op in
                        FloatGEMM.multiply(m: cout, n: columns, k: k, a: wp.baseAddress!, lda: k, b: cp.baseAddress!, ldb: columns,
                                           c: op.baseAddress!, ldc: columns, accumulate: false)
                    }
                } else {
                    product.withUnsafeMutableBufferPointer { pp in
                        FloatGEMM.multiply(m: cout, n: columns, k: k, a: wp.baseAddress!, lda: k, b: cp.baseAddress!, ldb: columns,
                                           c: pp.baseAddress!, ldc: columns, accumulate: false)
                    }
                }
            }
        }
        if batch > 1 {
            for b in 0..<batch {
                for c in 0..<cout {
                    for p in 0..<plane { out[(b * cout + c) * plane + p] = product[c * columns + b * plane + p] }
                }
            }
        }
        if let bias = conv.bias?.values {
            for b in 0..<batch { for c in 0..<cout { for p in 0..<plane { out[(b * cout + c) * plane + p] += bias[c] } } }
        }
    }
}

/// Row-major transpose of a rows × columns matrix.
func transposed<T>(_ values: [T], rows: Int, columns: Int) -> [T] {
    guard rows * columns > 0 else { return values }
    var result = values
    for i in 0..<rows { for j in 0..<columns { result[j * rows + i] = values[i * columns + j] } }
    return result
}

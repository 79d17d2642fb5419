import RingArithmetic

/// The layer's plaintext map y = W·x over Z_2^ℓ, as the fixed-point reference computes it (before
/// bias and truncation): what the vendor applies to its own share, locally.
public struct PlaintextLinear: Sendable {
    public let shape: LinearLayerShape
    public let plaintextBits: Int
    /// Conv: [Cout × Cin·kh·kw]; FC: [N × K] (packed once); scale: nil.
    private let packed: PackedRingMatrix?
    private let scale: [UInt64]

    /// Weights as signed integers in the layouts of `LinearLayerShape`.
    public init(shape: LinearLayerShape, weights: [Int64], plaintextBits: Int) throws(LinearHEError) {
        try shape.validate()
        guard weights.count == shape.weightCount else {
            throw .wrongLength(what: "weights of \(shape)", expected: shape.weightCount, actual: weights.count)
        }
        self.shape = shape
        self.plaintextBits = plaintextBits
        let ring = weights.map { UInt64(bitPattern: $0) }
        if shape.kind == .channelScale {
            packed = nil
            scale = ring
        } else {
            packed = PackedRingMatrix(rows: shape.outputChannels, columns: shape.termsPerOutput, values: ring)
            scale = []
        }
    }

    /// y for `batch` images (input [B, …] → output [B, …]), reduced mod 2^ℓ.
    public func apply(_ input: [UInt64], batch: Int) throws(LinearHEError) -> [UInt64] {
        guard input.count == batch * shape.inputCount else {
            throw .wrongLength(what: "input of \(shape)", expected: batch * shape.inputCount, actual: input.count)
        }
        let mask: UInt64 = plaintextBits == 64 ? .max : (1 << UInt64(plaintextBits)) &- 1
        var out = [UInt64](repeating: 0, count: batch * shape.outputCount)
        switch shape.kind {
        case .channelScale:
            let plane = shape.inputHeight * shape.inputWidth
            for b in 0..<batch {
                for c in 0..<shape.inputChannels {
                    let base = (b * shape.inputChannels + c) * plane
                    let a = scale[c]
                    for i in base..<(base + plane) { out[i] = (a &* input[i]) & mask }
                }
            }
        case .fullyConnected:
            // Yᵀ [N × B] = W [N × K] · Xᵀ [K × B].
            let k = shape.inputChannels, nOut = shape.outputChannels
            var xt = [UInt64](repeating: 0, count: k * batch)
            for b in 0..<batch { for i in 0..<k { xt[i * batch + b] = input[b * k + i] } }
            var yt = [UInt64](repeating: 0, count: nOut * batch)
            xt.withUnsafeBufferPointer { x in
                yt.withUnsafeMutableBufferPointer { y in
                    RingGEMM.multiply(packed: packed!, n: batch, b: x.baseAddress!, ldb: batch,
                                      c: y.baseAddress!, ldc: batch, accumulate: false)
                }
            }
            for b in 0..<batch { for o in 0..<nOut { out[b * nOut + o] = yt[o * batch + b] & mask } }
        case .convolution:
            let rows = shape.termsPerOutput
            let columns = shape.outputHeight * shape.outputWidth
            var col = [UInt64](repeating: 0, count: rows * columns)
            for b in 0..<batch {
                input.withUnsafeBufferPointer { x in
                    col.withUnsafeMutableBufferPointer { cp in
                        Im2Col.lower(input: x.baseAddress! + b * shape.inputCount,
                                     channels: shape.inputChannels, height: shape.inputHeight, width: shape.inputWidth,
                                     kernelH: shape.kernelHeight, kernelW: shape.kernelWidth,
                                     strideH: shape.strides[0], strideW: shape.strides[1],
                                     dilationH: shape.dilations[0], dilationW: shape.dilations[1],
                                     padTop: shape.pads[0], padLeft: shape.pads[1],
                                     padBottom: shape.pads[2], padRight: shape.pads[3],
                                     output: cp.baseAddress!, ldOut: columns)
                    }
                }
                col.withUnsafeBufferPointer { cp in
                    out.withUnsafeMutableBufferPointer { y in
                        RingGEMM.multiply(packed: packed!, n: columns, b: cp.baseAddress!, ldb: columns,
                                          c: y.baseAddress! + b * shape.outputCount, ldc: columns, accumulate: false)
                    }
                }
            }
            if mask != .max { for i in out.indices { out[i] &= mask } }
        }
        return out
    }
}

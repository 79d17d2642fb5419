import LatticeHE

/// Cheetah's coefficient encodings, generalised to output-channel groups and image batches.
///
/// Input polynomial of spatial tile (r₀, c₀) and channel tile k (client side):
///   x̂(X) = Σ_{c<C_t, i<H_t, j<W_t} x[k·C_t + c, r₀ + i, c₀ + j] · X^{c·H_t·W_t + i·W_t + j}
/// over the tall zero-padded image (zero outside the data).
///
/// Kernel polynomial of output group g and channel tile k (vendor side), T = C_t·H_t·W_t and
/// O = (C_t − 1)·H_t·W_t + (keh − 1)·W_t + (kew − 1):
///   ŵ(X) = Σ_{o<M_t, c<C_t, p<kh, q<kw} W[g·M_t + o, k·C_t + c, p, q] · X^{o·T + O − c·H_t·W_t − p·dh·W_t − q·dw}
///
/// Then the coefficient of X^{o·T + O + i·W_t + j} in x̂·ŵ mod (X^N + 1) is exactly
/// Σ_{c,p,q} W[o, c, p, q]·x[c, r₀ + i + p·dh, c₀ + j + q·dw] for i ≤ H_t − keh, j ≤ W_t − kew:
/// - a term x[c′, i′, j′]·W[o′, c, p, q] lands at o′·T + O + d with
///   d = (c′ − c)·H_t·W_t + (i′ − p·dh)·W_t + (j′ − q·dw) ∈ [−O, T − 1]; when o′ = o, d = i·W_t + j
///   forces c′ = c, i′ = i + p·dh, j′ = j + q·dw (mixed radix, since i + p·dh < H_t and
///   j + q·dw < W_t); when o′ ≠ o the offset would need |d| ≥ T − O > i·W_t + j (o′ = o − 1) or
///   d ≥ T (o′ = o + 1), impossible;
/// - degrees stay below M_t·T + O ≤ N + O, and a term that wraps (degree ≥ N, negated) lands
///   below O, where no output is read.
/// Per-channel scale is the diagonal case: 1×1 kernel, M_t = C_t, group g multiplies only channel
/// tile g, ŵ = Σ_c a_{g·C_t + c}·X^{c·T + O − c·H_t·W_t}.
enum CoefficientEncoding {
    /// The client's input message for (spatial tile, channel tile), values in Z_2^ℓ.
    static func inputMessage(plan: LinearLayerPlan, share: UnsafeBufferPointer<UInt64>, spatialTile s: Int,
                             channelTile k: Int, into message: inout [UInt64]) {
        let shape = plan.encodedShape
        let n = plan.parameters.degree
        let t = plan.tiling
        let tile = plan.spatialTiles[s]
        let hp = shape.paddedHeight, wp = shape.paddedWidth
        let (padTop, padLeft) = (shape.pads[0], shape.pads[1])
        let h = shape.inputHeight, w = shape.inputWidth
        let stackedHeight = plan.batch * hp
        let plane = t.heightTile * t.widthTile
        let channels = shape.inputChannels
        message.withUnsafeMutableBufferPointer { out in
            for i in 0..<n { out[i] = 0 }
            for cl in 0..<t.channelTile {
                let c = k * t.channelTile + cl
                guard c < channels else { break }
                for i in 0..<t.heightTile {
                    let r = tile.row + i
                    guard r < stackedHeight else { break }
                    let image = r / hp
                    let y = r % hp - padTop
                    guard y >= 0, y < h else { continue }
                    let rowBase = ((image * channels + c) * h + y) * w
                    let outBase = cl * plane + i * t.widthTile
                    for j in 0..<t.widthTile {
                        let col = tile.column + j
                        guard col < wp else { break }
                        let x = col - padLeft
                        guard x >= 0, x < w else { continue }
                        out[outBase + j] = share[rowBase + x]
                    }
                }
            }
        }
    }

    /// The vendor's kernel polynomial for (group, channel tile) as signed integers.
    static func kernel(plan: LinearLayerPlan, weights: [Int64], group g: Int, channelTile k: Int) -> [Int64] {
        let shape = plan.encodedShape
        let t = plan.tiling
        var out = [Int64](repeating: 0, count: plan.parameters.degree)
        let plane = t.heightTile * t.widthTile
        let stride = plan.channelStride, centre = plan.centre
        if plan.isDiagonal {
            for cl in 0..<t.channelTile {
                let c = k * t.channelTile + cl
                guard c < shape.inputChannels else { break }
                out[cl * stride + centre - cl * plane] = weights[c]
            }
            return out
        }
        let (kh, kw) = (shape.kernelHeight, shape.kernelWidth)
        let (dh, dw) = (shape.dilations[0], shape.dilations[1])
        let cin = shape.inputChannels
        for o in 0..<t.outputsPerPolynomial {
            let channel = g * t.outputsPerPolynomial + o
            guard channel < shape.outputChannels else { break }
            for cl in 0..<t.channelTile {
                let c = k * t.channelTile + cl
                guard c < cin else { break }
                let base = ((channel * cin + c) * kh) * kw
                for p in 0..<kh {
                    for q in 0..<kw {
                        out[o * stride + centre - cl * plane - p * dh * t.widthTile - q * dw] = weights[base + p * kw + q]
                    }
                }
            }
        }
        return out
    }
}

/// Strided convolutions by polyphase decomposition (no dilation): a stride-(sh, sw) convolution
/// of [C, H, W] with a kh × kw kernel equals a stride-1 convolution, without padding, of the
/// sh·sw polyphase components of the padded input, [C·sh·sw, H′, W′] with
/// x′[(c·sh + a)·sw + b, i, j] = x_pad[c, i·sh + a, j·sw + b], by the kernel
/// W′[o, (c·sh + a)·sw + b, p, q] = W[o, c, p·sh + a, q·sw + b] (zero past the kernel), of size
/// ⌈kh/sh⌉ × ⌈kw/sw⌉, with H′ = outH + ⌈kh/sh⌉ − 1 and W′ = outW + ⌈kw/sw⌉ − 1. Every output of
/// the stride-1 convolution is then needed, so a returned ciphertext carries sh·sw times more
/// useful coefficients than computing at stride 1 and subsampling. Both parties rearrange locally
/// (the hospital its share, the vendor its weights); nothing extra is revealed.
enum Polyphase {
    static func shape(for s: LinearLayerShape) -> LinearLayerShape? {
        guard s.kind == .convolution, s.strides != [1, 1], s.dilations == [1, 1] else { return nil }
        let (sh, sw) = (s.strides[0], s.strides[1])
        let kh = (s.kernelHeight + sh - 1) / sh, kw = (s.kernelWidth + sw - 1) / sw
        return .convolution(inputChannels: s.inputChannels * sh * sw, height: s.outputHeight + kh - 1,
                            width: s.outputWidth + kw - 1, outputChannels: s.outputChannels, kernel: [kh, kw])
    }

    static func input(_ x: [UInt64], from s: LinearLayerShape, to core: LinearLayerShape, batch: Int) -> [UInt64] {
        let (sh, sw) = (s.strides[0], s.strides[1])
        let (h, w) = (s.inputHeight, s.inputWidth)
        let (top, left) = (s.pads[0], s.pads[1])
        let (hc, wc) = (core.inputHeight, core.inputWidth)
        var out = [UInt64](repeating: 0, count: batch * core.inputCount)
        for b in 0..<batch {
            for c in 0..<s.inputChannels {
                for a in 0..<sh {
                    for bb in 0..<sw {
                        let base = ((b * core.inputChannels) + (c * sh + a) * sw + bb) * hc * wc
                        for i in 0..<hc {
                            let y = i * sh + a - top
                            guard y >= 0, y < h else { continue }
                            let source = ((b * s.inputChannels + c) * h + y) * w
                            for j in 0..<wc {
                                let xx = j * sw + bb - left
                                guard xx >= 0, xx < w else { continue }
                                out[base + i * wc + j] = x[source + xx]
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    static func weights(_ weights: [Int64], from s: LinearLayerShape, to core: LinearLayerShape) -> [Int64] {
        let (sh, sw) = (s.strides[0], s.strides[1])
        let (kh, kw) = (core.kernelHeight, core.kernelWidth)
        var out = [Int64](repeating: 0, count: core.weightCount)
        for o in 0..<s.outputChannels {
            for c in 0..<s.inputChannels {
                for p in 0..<s.kernelHeight {
                    for q in 0..<s.kernelWidth {
                        let channel = (c * sh + p % sh) * sw + q % sw
                        out[((o * core.inputChannels + channel) * kh + p / sh) * kw + q / sw] =
                            weights[((o * s.inputChannels + c) * s.kernelHeight + p) * s.kernelWidth + q]
                    }
                }
            }
        }
        return out
    }
}

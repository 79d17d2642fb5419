// Lowering of a 2-D convolution to a matrix product (im2col).
//
// For one image X (C × H × W, row-major) and a kernel of kh × kw with strides, dilations and
// paddings, the column matrix has C·kh·kw rows, ordered (c, ky, kx) with kx fastest — the order of
// an ONNX Conv weight [Cout, Cin, kh, kw] flattened per output channel — and outH·outW columns,
// ordered (oy, ox). Then  Y[co, oy, ox] = Σ_r W[co, r] · col[r, (oy, ox)]  is one GEMM
// (Cout × C·kh·kw) · (C·kh·kw × outH·outW). Grouped convolutions apply this per group on the
// group's channel slice.

/// im2col for 2-D convolutions over NCHW images, for ring (`UInt64`) and float data.
public enum Im2Col {
    /// Output extent of one spatial dimension of a convolution or pooling window:
    /// ⌊(input + padBegin + padEnd − dilation·(kernel − 1) − 1) / stride⌋ + 1, or 0 when the dilated
    /// kernel does not fit in the padded input at all.
    ///
    /// - Parameters:
    ///   - input: input extent (H or W), ≥ 0.
    ///   - kernel: kernel extent, ≥ 1.
    ///   - stride: stride, ≥ 1.
    ///   - dilation: dilation, ≥ 1.
    ///   - padBegin: padding before the first element (top or left), ≥ 0.
    ///   - padEnd: padding after the last element (bottom or right), ≥ 0.
    /// - Returns: the number of output positions.
    public static func outputSize(input: Int, kernel: Int, stride: Int = 1, dilation: Int = 1,
                                  padBegin: Int = 0, padEnd: Int = 0) -> Int {
        precondition(kernel >= 1 && stride >= 1 && dilation >= 1, "Im2Col: invalid window")
        precondition(input >= 0 && padBegin >= 0 && padEnd >= 0, "Im2Col: negative size")
        let span = input + padBegin + padEnd - dilation * (kernel - 1) - 1
        return span < 0 ? 0 : span / stride + 1
    }

    /// Writes the im2col matrix of one `UInt64` image (ring shares or fixed-point values).
    ///
    /// Row r = (c·kernelH + ky)·kernelW + kx of the output holds, for every output position
    /// (oy, ox) in row-major order, the input value X[c, oy·strideH − padTop + ky·dilationH,
    /// ox·strideW − padLeft + kx·dilationW], or 0 where that position lies in the padding.
    ///
    /// - Parameters:
    ///   - input: the image, `channels × height × width` values, row-major.
    ///   - channels: number of input channels C (≥ 0).
    ///   - height: input height H (≥ 0).
    ///   - width: input width W (≥ 0).
    ///   - kernelH: kernel height kh (≥ 1).
    ///   - kernelW: kernel width kw (≥ 1).
    ///   - strideH: vertical stride (≥ 1).
    ///   - strideW: horizontal stride (≥ 1).
    ///   - dilationH: vertical dilation (≥ 1).
    ///   - dilationW: horizontal dilation (≥ 1).
    ///   - padTop: zero rows added above (≥ 0).
    ///   - padLeft: zero columns added on the left (≥ 0).
    ///   - padBottom: zero rows added below (≥ 0).
    ///   - padRight: zero columns added on the right (≥ 0).
    ///   - output: the C·kh·kw × outH·outW column matrix; row r starts at `output + r * ldOut`.
    ///   - ldOut: leading dimension of `output`, ≥ outH·outW (larger values let several images sit
    ///     side by side as column blocks of one matrix).
    public static func lower(
        input: UnsafePointer<UInt64>,
        channels: Int, height: Int, width: Int,
        kernelH: Int, kernelW: Int,
        strideH: Int = 1, strideW: Int = 1,
        dilationH: Int = 1, dilationW: Int = 1,
        padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0,
        output: UnsafeMutablePointer<UInt64>, ldOut: Int
    ) {
        lowerGeneric(input: input, channels: channels, height: height, width: width,
                     kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW,
                     dilationH: dilationH, dilationW: dilationW, padTop: padTop, padLeft: padLeft,
                     padBottom: padBottom, padRight: padRight, output: output, ldOut: ldOut)
    }

    /// Writes the im2col matrix of one `Float` image (for the float32 reference executor); same
    /// layout and parameters as the `UInt64` overload.
    ///
    /// - Parameters:
    ///   - input: the image, `channels × height × width` values, row-major.
    ///   - channels: number of input channels C.
    ///   - height: input height H.
    ///   - width: input width W.
    ///   - kernelH: kernel height.
    ///   - kernelW: kernel width.
    ///   - strideH: vertical stride.
    ///   - strideW: horizontal stride.
    ///   - dilationH: vertical dilation.
    ///   - dilationW: horizontal dilation.
    ///   - padTop: zero rows above.
    ///   - padLeft: zero columns on the left.
    ///   - padBottom: zero rows below.
    ///   - padRight: zero columns on the right.
    ///   - output: the C·kh·kw × outH·outW column matrix, row r at `output + r * ldOut`.
    ///   - ldOut: leading dimension of `output`, ≥ outH·outW.
    public static func lower(
        input: UnsafePointer<Float>,
        channels: Int, height: Int, width: Int,
        kernelH: Int, kernelW: Int,
        strideH: Int = 1, strideW: Int = 1,
        dilationH: Int = 1, dilationW: Int = 1,
        padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0,
        output: UnsafeMutablePointer<Float>, ldOut: Int
    ) {
        lowerGeneric(input: input, channels: channels, height: height, width: width,
                     kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW,
                     dilationH: dilationH, dilationW: dilationW, padTop: padTop, padLeft: padLeft,
                     padBottom: padBottom, padRight: padRight, output: output, ldOut: ldOut)
    }

    /// ⌈x / d⌉ for any integer x and d > 0.
    @inline(__always)
    static func ceilDiv(_ x: Int, _ d: Int) -> Int {
        x >= 0 ? (x + d - 1) / d : -((-x) / d)
    }

    /// The implementation behind both overloads (specialised per element type in this module).
    @inline(__always)
    static func lowerGeneric<Element: AdditiveArithmetic>(
        input: UnsafePointer<Element>,
        channels: Int, height: Int, width: Int,
        kernelH: Int, kernelW: Int,
        strideH: Int, strideW: Int,
        dilationH: Int, dilationW: Int,
        padTop: Int, padLeft: Int, padBottom: Int, padRight: Int,
        output: UnsafeMutablePointer<Element>, ldOut: Int
    ) {
        precondition(channels >= 0 && height >= 0 && width >= 0, "Im2Col: negative size")
        let outH = outputSize(input: height, kernel: kernelH, stride: strideH, dilation: dilationH,
                              padBegin: padTop, padEnd: padBottom)
        let outW = outputSize(input: width, kernel: kernelW, stride: strideW, dilation: dilationW,
                              padBegin: padLeft, padEnd: padRight)
        let columns = outH * outW
        precondition(ldOut >= columns, "Im2Col: ldOut smaller than outH·outW")
        if columns == 0 || channels == 0 { return }
        let plane = height * width

        // 1×1, stride 1, no padding: the column matrix is the image itself.
        if kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1
            && padTop == 0 && padLeft == 0 && padBottom == 0 && padRight == 0 {
            for c in 0..<channels {
                (output + c * ldOut).update(from: input + c * plane, count: plane)
            }
            return
        }

        for c in 0..<channels {
            let image = input + c * plane
            for ky in 0..<kernelH {
                let rowShift = ky * dilationH - padTop
                for kx in 0..<kernelW {
                    let colShift = kx * dilationW - padLeft
                    // Output columns ox whose input column ox·strideW + colShift lies in [0, width).
                    let first = min(outW, max(0, ceilDiv(-colShift, strideW)))
                    let end = max(first, min(outW, ceilDiv(width - colShift, strideW)))
                    let r = (c * kernelH + ky) * kernelW + kx
                    var dst = output + r * ldOut
                    for oy in 0..<outH {
                        let iy = oy * strideH + rowShift
                        if iy < 0 || iy >= height {
                            dst.update(repeating: .zero, count: outW)
                        } else {
                            let src = image + iy * width
                            if first > 0 { dst.update(repeating: .zero, count: first) }
                            if strideW == 1 {
                                (dst + first).update(from: src + first + colShift, count: end - first)
                            } else {
                                var ix = first * strideW + colShift
                                for ox in first..<end {
                                    dst[ox] = src[ix]
                                    ix += strideW
                                }
                            }
                            if end < outW { (dst + end).update(repeating: .zero, count: outW - end) }
                        }
                        dst += outW
                    }
                }
            }
        }
    }
}

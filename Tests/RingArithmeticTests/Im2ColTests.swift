import Testing
@testable import RingArithmetic
import TestSupport

/// One convolution configuration (a single image, one group).
struct ConvCase: CustomStringConvertible, Sendable {
    var channels: Int, height: Int, width: Int, outChannels: Int
    var kernelH: Int, kernelW: Int
    var strideH = 1, strideW = 1, dilationH = 1, dilationW = 1
    var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0

    var outH: Int {
        Im2Col.outputSize(input: height, kernel: kernelH, stride: strideH, dilation: dilationH,
                          padBegin: padTop, padEnd: padBottom)
    }
    var outW: Int {
        Im2Col.outputSize(input: width, kernel: kernelW, stride: strideW, dilation: dilationW,
                          padBegin: padLeft, padEnd: padRight)
    }
    var description: String {
        "C\(channels) \(height)×\(width) k\(kernelH)×\(kernelW) s\(strideH),\(strideW) "
            + "d\(dilationH),\(dilationW) p\(padTop),\(padLeft),\(padBottom),\(padRight)"
    }
}

let convCases: [ConvCase] = [
    ConvCase(channels: 3, height: 8, width: 8, outChannels: 4, kernelH: 3, kernelW: 3),
    ConvCase(channels: 3, height: 8, width: 9, outChannels: 5, kernelH: 3, kernelW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(channels: 2, height: 9, width: 10, outChannels: 3, kernelH: 3, kernelW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(channels: 2, height: 11, width: 7, outChannels: 3, kernelH: 3, kernelW: 2,
             strideH: 2, strideW: 1, padTop: 0, padLeft: 2, padBottom: 1, padRight: 0),
    ConvCase(channels: 2, height: 10, width: 12, outChannels: 2, kernelH: 3, kernelW: 3,
             dilationH: 2, dilationW: 2, padTop: 2, padLeft: 1, padBottom: 0, padRight: 2),
    ConvCase(channels: 5, height: 6, width: 7, outChannels: 4, kernelH: 1, kernelW: 1),
    ConvCase(channels: 4, height: 7, width: 6, outChannels: 3, kernelH: 1, kernelW: 1,
             strideH: 2, strideW: 2),
    ConvCase(channels: 3, height: 16, width: 15, outChannels: 4, kernelH: 7, kernelW: 7,
             strideH: 2, strideW: 2, padTop: 3, padLeft: 3, padBottom: 3, padRight: 3),
    // The kernel is taller than the padded input would allow more than once: one output row.
    ConvCase(channels: 2, height: 3, width: 8, outChannels: 2, kernelH: 5, kernelW: 3,
             padTop: 1, padLeft: 0, padBottom: 1, padRight: 0),
    // Wider than the input itself, padding on one side only: one output column.
    ConvCase(channels: 1, height: 5, width: 2, outChannels: 3, kernelH: 2, kernelW: 4,
             strideH: 1, strideW: 3, padTop: 0, padLeft: 0, padBottom: 0, padRight: 2),
    // Padding larger than the kernel: whole output rows and columns of zeros.
    ConvCase(channels: 2, height: 4, width: 4, outChannels: 2, kernelH: 2, kernelW: 2,
             strideH: 3, strideW: 1, padTop: 3, padLeft: 3, padBottom: 2, padRight: 4),
    // Kernel covering the whole input: one output.
    ConvCase(channels: 3, height: 5, width: 5, outChannels: 2, kernelH: 5, kernelW: 5),
]

/// The direct convolution: seven nested loops (output channel, output position, input channel,
/// kernel position), wrapping arithmetic.
func directConvolution(_ cv: ConvCase, input: [UInt64], weights: [UInt64]) -> [UInt64] {
    var out = [UInt64](repeating: 0, count: cv.outChannels * cv.outH * cv.outW)
    for co in 0..<cv.outChannels {
        for oy in 0..<cv.outH {
            for ox in 0..<cv.outW {
                var sum: UInt64 = 0
                for c in 0..<cv.channels {
                    for ky in 0..<cv.kernelH {
                        for kx in 0..<cv.kernelW {
                            let iy = oy * cv.strideH - cv.padTop + ky * cv.dilationH
                            let ix = ox * cv.strideW - cv.padLeft + kx * cv.dilationW
                            guard iy >= 0, iy < cv.height, ix >= 0, ix < cv.width else { continue }
                            let w = weights[((co * cv.channels + c) * cv.kernelH + ky) * cv.kernelW + kx]
                            sum &+= w &* input[(c * cv.height + iy) * cv.width + ix]
                        }
                    }
                }
                out[(co * cv.outH + oy) * cv.outW + ox] = sum
            }
        }
    }
    return out
}

@Suite("Im2Col")
struct Im2ColTests {
    @Test("outputSize follows the floor formula")
    func outputSizes() {
        #expect(Im2Col.outputSize(input: 224, kernel: 7, stride: 2, padBegin: 3, padEnd: 3) == 112)
        #expect(Im2Col.outputSize(input: 56, kernel: 3, padBegin: 1, padEnd: 1) == 56)
        #expect(Im2Col.outputSize(input: 56, kernel: 1) == 56)
        #expect(Im2Col.outputSize(input: 7, kernel: 3, stride: 2) == 3)
        #expect(Im2Col.outputSize(input: 10, kernel: 3, dilation: 2) == 6)
        #expect(Im2Col.outputSize(input: 3, kernel: 5, padBegin: 1, padEnd: 1) == 1)
        #expect(Im2Col.outputSize(input: 3, kernel: 5) == 0)
        #expect(Im2Col.outputSize(input: 0, kernel: 1) == 0)
    }

    @Test("im2col + GEMM equals the direct convolution", arguments: convCases)
    func convolution(_ cv: ConvCase) {
        var rng = SplitMix64(seed: UInt64(cv.description.utf8.count) &* 31 &+ UInt64(cv.kernelH))
        let input = rng.ringValues(cv.channels * cv.height * cv.width)
        let weights = rng.ringValues(cv.outChannels * cv.channels * cv.kernelH * cv.kernelW)
        let expected = directConvolution(cv, input: input, weights: weights)

        let rows = cv.channels * cv.kernelH * cv.kernelW
        let columns = cv.outH * cv.outW
        // Two images side by side in one column matrix, plus a gap: ldOut > 2·columns.
        let ldOut = 2 * columns + 3
        let sentinel: UInt64 = 0xDEAD_BEEF
        var matrix = [UInt64](repeating: sentinel, count: rows * ldOut)
        let second = input.map { $0 &* 3 &+ 1 }
        matrix.withUnsafeMutableBufferPointer { out in
            for (image, offset) in [(input, 0), (second, columns)] {
                Im2Col.lower(input: image, channels: cv.channels, height: cv.height, width: cv.width,
                             kernelH: cv.kernelH, kernelW: cv.kernelW,
                             strideH: cv.strideH, strideW: cv.strideW,
                             dilationH: cv.dilationH, dilationW: cv.dilationW,
                             padTop: cv.padTop, padLeft: cv.padLeft,
                             padBottom: cv.padBottom, padRight: cv.padRight,
                             output: out.baseAddress! + offset, ldOut: ldOut)
            }
        }
        for r in 0..<rows {
            for j in (2 * columns)..<ldOut { #expect(matrix[r * ldOut + j] == sentinel) }
        }
        var product = [UInt64](repeating: 0, count: cv.outChannels * 2 * columns)
        RingGEMM.multiply(m: cv.outChannels, n: 2 * columns, k: rows, a: weights, lda: rows,
                          b: matrix, ldb: ldOut, c: &product, ldc: 2 * columns, accumulate: false)
        let expectedSecond = directConvolution(cv, input: second, weights: weights)
        var first = [UInt64](), secondGot = [UInt64]()
        for co in 0..<cv.outChannels {
            first += product[(co * 2 * columns)..<(co * 2 * columns + columns)]
            secondGot += product[(co * 2 * columns + columns)..<((co + 1) * 2 * columns)]
        }
        #expect(first == expected, "\(cv)")
        #expect(secondGot == expectedSecond, "\(cv)")

        // The Float overload lowers to the same matrix (small integers are exact in Float).
        let small = input.map { Float($0 % 1000) }
        var floatMatrix = [Float](repeating: -1, count: rows * columns)
        floatMatrix.withUnsafeMutableBufferPointer { out in
            Im2Col.lower(input: small, channels: cv.channels, height: cv.height, width: cv.width,
                         kernelH: cv.kernelH, kernelW: cv.kernelW,
                         strideH: cv.strideH, strideW: cv.strideW,
                         dilationH: cv.dilationH, dilationW: cv.dilationW,
                         padTop: cv.padTop, padLeft: cv.padLeft,
                         padBottom: cv.padBottom, padRight: cv.padRight,
                         output: out.baseAddress!, ldOut: columns)
        }
        var ringOfSmall = [UInt64](repeating: 0, count: rows * columns)
        let smallRing = input.map { $0 % 1000 }
        ringOfSmall.withUnsafeMutableBufferPointer { out in
            Im2Col.lower(input: smallRing, channels: cv.channels, height: cv.height, width: cv.width,
                         kernelH: cv.kernelH, kernelW: cv.kernelW,
                         strideH: cv.strideH, strideW: cv.strideW,
                         dilationH: cv.dilationH, dilationW: cv.dilationW,
                         padTop: cv.padTop, padLeft: cv.padLeft,
                         padBottom: cv.padBottom, padRight: cv.padRight,
                         output: out.baseAddress!, ldOut: columns)
        }
        #expect(floatMatrix == ringOfSmall.map { Float($0) }, "\(cv)")
    }

    @Test("a convolution whose output is empty writes nothing")
    func emptyOutput() {
        let input: [UInt64] = [1, 2, 3, 4]
        var out: [UInt64] = [9]
        Im2Col.lower(input: input, channels: 1, height: 2, width: 2, kernelH: 3, kernelW: 1,
                     output: &out, ldOut: 0)
        #expect(out == [9])
    }

    @Test("row order is (c, ky, kx) and padding is zero")
    func layout() {
        // 1 channel, 2×2 image [[1, 2], [3, 4]], 2×2 kernel, pad 1 on the left only.
        let input: [UInt64] = [1, 2, 3, 4]
        var out = [UInt64](repeating: 99, count: 4 * 2)
        Im2Col.lower(input: input, channels: 1, height: 2, width: 2, kernelH: 2, kernelW: 2,
                     padLeft: 1, output: &out, ldOut: 2)
        // Output 1×2: positions ox = 0 (ix −1, 0) and ox = 1 (ix 0, 1), only oy = 0.
        #expect(out == [0, 1,   // ky 0, kx 0
                        1, 2,   // ky 0, kx 1
                        0, 3,   // ky 1, kx 0
                        3, 4])  // ky 1, kx 1
    }
}

import CryptoPrimitives
import Foundation
import LatticeHE
import LinearHE
import Testing
import Transport

/// Naive W·x over Z_2^ℓ (independent of the encodings and of the ring GEMM).
func naiveLinear(_ shape: LinearLayerShape, weights: [Int64], input: [UInt64], batch: Int, bits: Int) -> [UInt64] {
    let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) &- 1
    var out = [UInt64](repeating: 0, count: batch * shape.outputCount)
    let (cin, h, w) = (shape.inputChannels, shape.inputHeight, shape.inputWidth)
    let (oh, ow, cout) = (shape.outputHeight, shape.outputWidth, shape.outputChannels)
    for b in 0..<batch {
        switch shape.kind {
        case .channelScale:
            for i in 0..<shape.inputCount {
                let c = i / (h * w)
                out[b * shape.outputCount + i] = (UInt64(bitPattern: weights[c]) &* input[b * shape.inputCount + i]) & mask
            }
        case .fullyConnected, .convolution:
            for o in 0..<cout {
                for y in 0..<oh {
                    for x in 0..<ow {
                        var acc: UInt64 = 0
                        for c in 0..<cin {
                            for p in 0..<shape.kernelHeight {
                                for q in 0..<shape.kernelWidth {
                                    let iy = y * shape.strides[0] - shape.pads[0] + p * shape.dilations[0]
                                    let ix = x * shape.strides[1] - shape.pads[1] + q * shape.dilations[1]
                                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                    let wv = weights[((o * cin + c) * shape.kernelHeight + p) * shape.kernelWidth + q]
                                    acc = acc &+ UInt64(bitPattern: wv) &* input[b * shape.inputCount + (c * h + iy) * w + ix]
                                }
                            }
                        }
                        out[b * shape.outputCount + (o * oh + y) * ow + x] = acc & mask
                    }
                }
            }
        }
    }
    return out
}

struct Outcome: Sendable {
    var vendor: [UInt64]
    var hospital: [UInt64]
    var vendorReceived: Int
    var hospitalReceived: Int
}

/// Runs set-up and one layer call between two threads.
func runLayer(_ plan: LinearLayerPlan, weights: [Int64], xv: [UInt64], xh: [UInt64]) throws -> Outcome {
    let server = try LinearLayerServer(plan: plan, weights: weights)
    let client = LinearLayerClient(plan: plan)
    let r = try TwoPartyRunner.run(
        vendor: { channel -> ([UInt64], Int) in
            let session = try LinearHEServerSession(plans: [plan], channel: channel)
            let before = channel.statistics.bytesReceived
            let y = try server.run(share: xv, session: session, channel: channel)
            return (y, channel.statistics.bytesReceived - before)
        },
        hospital: { channel -> [UInt64] in
            let session = try LinearHEClientSession(plans: [plan], channel: channel)
            return try client.run(share: xh, session: session, channel: channel)
        })
    return Outcome(vendor: r.vendor.0, hospital: r.hospital, vendorReceived: r.vendor.1,
                   hospitalReceived: r.hospitalChannel.bytesReceived)
}

func randomWeights(_ count: Int, bits: Int, prg: AESPRG) -> [Int64] {
    let bound = UInt64(1) << UInt64(bits)
    return prg.words(count).map { Int64($0 % (2 * bound + 1)) - Int64(bound) }
}

/// Checks that the shares reconstruct W·x exactly.
func checkLayer(_ shape: LinearLayerShape, batch: Int = 1, bits: Int = 37, weightBits: Int = 10,
                weights: [Int64]? = nil, seed: UInt64 = 1, statisticalBits: Int = 40,
                reusableChannels: Int = 0) throws -> LinearLayerPlan {
    let prg = AESPRG(seed: Block(low: seed, high: 77))
    let plan = try LinearLayerPlan(shape: shape, batch: batch, plaintextBits: bits, weightBits: weightBits,
                                   statisticalBits: statisticalBits, reusableChannels: reusableChannels)
    let w = weights ?? randomWeights(shape.weightCount, bits: weightBits, prg: prg)
    let xv = prg.ringElements(batch * shape.inputCount, bits: bits)
    let xh = prg.ringElements(batch * shape.inputCount, bits: bits)
    let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) &- 1
    let x = zip(xv, xh).map { ($0 &+ $1) & mask }
    let expected = naiveLinear(shape, weights: w, input: x, batch: batch, bits: bits)
    let outcome = try runLayer(plan, weights: w, xv: xv, xh: xh)
    let got = zip(outcome.vendor, outcome.hospital).map { ($0 &+ $1) & mask }
    let wrong = zip(got, expected).count { $0 != $1 }
    #expect(got.count == expected.count && wrong == 0, "\(shape), batch \(batch), ℓ = \(bits), \(plan.tiling): \(wrong) wrong values")
    return plan
}

@Suite("HE linear layers: shares reconstruct W·x over Z_2^ℓ")
struct LinearCorrectnessTests {
    @Test("3×3 convolution, stride 1, padding 1, several channel tiles")
    func conv3x3() throws {
        let plan = try checkLayer(.convolution(inputChannels: 40, height: 12, width: 12, outputChannels: 5,
                                               kernel: [3, 3], pads: [1, 1, 1, 1]))
        #expect(plan.inputCiphertextCount > 1)
    }

    @Test("3×3 convolution, stride 2, asymmetric padding, two images")
    func conv3x3Stride2Batch() throws {
        _ = try checkLayer(.convolution(inputChannels: 6, height: 11, width: 9, outputChannels: 7,
                                        kernel: [3, 3], strides: [2, 2], pads: [1, 0, 2, 1]), batch: 2, seed: 2)
    }

    @Test("7×7 convolution, stride 2, padding 3, spatial tiles")
    func conv7x7() throws {
        let plan = try checkLayer(.convolution(inputChannels: 3, height: 70, width: 66, outputChannels: 4,
                                               kernel: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3]), seed: 3)
        #expect(plan.inputCiphertextCount > 1)
    }

    @Test("1×1 convolutions: many channels, output channels sharing a polynomial")
    func conv1x1() throws {
        _ = try checkLayer(.convolution(inputChannels: 300, height: 7, width: 7, outputChannels: 24, kernel: [1, 1]), seed: 4)
        _ = try checkLayer(.convolution(inputChannels: 20, height: 16, width: 16, outputChannels: 9,
                                        kernel: [1, 1], strides: [2, 2]), batch: 3, seed: 5)
    }

    @Test("dilated 3×3 convolution")
    func dilated() throws {
        _ = try checkLayer(.convolution(inputChannels: 4, height: 13, width: 10, outputChannels: 3,
                                        kernel: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2]), seed: 6)
    }

    @Test("fully connected, one and several images")
    func fullyConnected() throws {
        _ = try checkLayer(.fullyConnected(inputFeatures: 1024, outputFeatures: 100), seed: 7)
        _ = try checkLayer(.fullyConnected(inputFeatures: 90, outputFeatures: 33), batch: 4, seed: 8)
    }

    @Test("per-channel scale, several channel tiles, batch")
    func channelScale() throws {
        _ = try checkLayer(.channelScale(channels: 37, height: 7, width: 7), weightBits: 14, seed: 9)
        _ = try checkLayer(.channelScale(channels: 5, height: 9, width: 11), batch: 2, seed: 10)
    }

    @Test("per-channel scale packed by monomials: M channels per returned ciphertext, exact")
    func packedChannelScale() throws {
        // DenseNet-like: most channels reused, so one channel per input polynomial is cheap and
        // the results pack ⌊N/T⌋ channels each.
        for (channels, side, batch) in [(288, 14, 1), (160, 28, 1), (288, 14, 2), (992, 7, 1)] {
            let plan = try checkLayer(.channelScale(channels: channels, height: side, width: side), batch: batch,
                                      weightBits: 13, seed: UInt64(channels), statisticalBits: 64,
                                      reusableChannels: channels - 32)
            let tiling = plan.tiling.description
            #expect(plan.isPackedDiagonal, "\(tiling)")
            #expect(plan.tiling.channelTile == 1, "\(tiling)")
            let perResult = plan.tiling.outputsPerPolynomial
            #expect(perResult > 1 && perResult * plan.tiling.heightTile * plan.tiling.widthTile <= plan.parameters.degree, "\(tiling)")
            let spatial = plan.inputCiphertextCount / plan.channelTileCount
            #expect(plan.outputCiphertextCount == spatial * ((channels + perResult - 1) / perResult), "\(tiling)")
        }
    }

    @Test("ℓ = 64 uses N = 8192")
    func ring64() throws {
        let plan = try checkLayer(.convolution(inputChannels: 8, height: 9, width: 9, outputChannels: 3,
                                               kernel: [3, 3], pads: [1, 1, 1, 1]), bits: 64, weightBits: 16, seed: 11)
        #expect(plan.parameters.degree == 8192)
    }
}

@Suite("HE linear layers: privacy and noise")
struct LinearPrivacyTests {
    /// The hospital's output share W·x_h − r must look uniform whatever W is: the same x with two
    /// very different weight sets gives shares whose means and bit frequencies match a uniform
    /// distribution, and two runs with the same W differ.
    @Test("the hospital's share is uniformly masked")
    func maskedShare() throws {
        let shape = LinearLayerShape.convolution(inputChannels: 4, height: 16, width: 16, outputChannels: 16, kernel: [3, 3], pads: [1, 1, 1, 1])
        let bits = 37
        let plan = try LinearLayerPlan(shape: shape, plaintextBits: bits, weightBits: 8)
        let prg = AESPRG(seed: Block(low: 12, high: 0))
        let xv = prg.ringElements(shape.inputCount, bits: bits)
        let xh = prg.ringElements(shape.inputCount, bits: bits)
        let zero = [Int64](repeating: 0, count: shape.weightCount)
        let large = [Int64](repeating: 256, count: shape.weightCount)
        let a = try runLayer(plan, weights: zero, xv: xv, xh: xh).hospital
        let b = try runLayer(plan, weights: large, xv: xv, xh: xh).hospital
        let c = try runLayer(plan, weights: large, xv: xv, xh: xh).hospital
        #expect(b != c)
        let count = Double(a.count)  // 4096 values
        for share in [a, b, c] {
            let mean = share.reduce(0.0) { $0 + Double($1) } / count / exp2(Double(bits))
            #expect(abs(mean - 0.5) < 0.03, "mean \(mean)")
            for bit in [0, 1, 17, 36] {
                let ones = Double(share.count { ($0 >> UInt64(bit)) & 1 == 1 }) / count
                #expect(abs(ones - 0.5) < 0.04, "bit \(bit): \(ones)")
            }
        }
        // With W = 0 the share is −r: it must not equal −(the other run's) values or be constant.
        #expect(Set(a).count > a.count - 4)
    }

    @Test("the vendor receives the same number of bytes for any x")
    func sizesIndependentOfInput() throws {
        let shape = LinearLayerShape.convolution(inputChannels: 10, height: 8, width: 8, outputChannels: 6, kernel: [3, 3], pads: [1, 1, 1, 1])
        let plan = try LinearLayerPlan(shape: shape, plaintextBits: 37, weightBits: 8)
        let prg = AESPRG(seed: Block(low: 13, high: 0))
        let w = randomWeights(shape.weightCount, bits: 8, prg: prg)
        let zeros = [UInt64](repeating: 0, count: shape.inputCount)
        let random = prg.ringElements(shape.inputCount, bits: 37)
        let maximal = [UInt64](repeating: (1 << 37) - 1, count: shape.inputCount)
        let sizes = try [zeros, random, maximal].map { try runLayer(plan, weights: w, xv: zeros, xh: $0) }
        #expect(Set(sizes.map(\.vendorReceived)).count == 1)
        #expect(Set(sizes.map(\.hospitalReceived)).count == 1)
        // Each ciphertext travels in its own message: 8-byte length prefix + 8-byte header.
        #expect(sizes[0].vendorReceived == plan.queryBytes + 16 * plan.inputCiphertextCount)
    }

    /// Every supported shape family decrypts correctly at the worst case the plan allows: all
    /// weights at ±2^weightBits (largest ‖ŵ‖₁), and the noise check's margins positive.
    @Test("worst-case weights decrypt exactly for every layer family")
    func worstCase() throws {
        let shapes: [LinearLayerShape] = [
            .convolution(inputChannels: 64, height: 8, width: 8, outputChannels: 4, kernel: [3, 3], pads: [1, 1, 1, 1]),
            .convolution(inputChannels: 3, height: 40, width: 40, outputChannels: 2, kernel: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3]),
            .convolution(inputChannels: 200, height: 4, width: 4, outputChannels: 8, kernel: [1, 1]),
            .fullyConnected(inputFeatures: 512, outputFeatures: 16),
            .channelScale(channels: 16, height: 5, width: 5),
        ]
        // At the flooding width of the largest session allowed (κ = 100), too.
        for kappa in [40, FloodingSecurity.largestStatisticalBits] {
            for (i, shape) in shapes.enumerated() {
                let wb = 14
                let plan = try LinearLayerPlan(shape: shape, plaintextBits: 37, weightBits: wb, statisticalBits: kappa)
                #expect(plan.noise.margin > 0 && plan.noise.switchedMargin > 0)
                let worst = (0..<shape.weightCount).map { j in (j % 3 == 0 ? -1 : 1) * (Int64(1) << Int64(wb)) }
                let checked = try checkLayer(shape, weightBits: wb, weights: worst, seed: 20 + UInt64(i), statisticalBits: kappa)
                #expect(checked.noise.floodingBits >= kappa)
            }
        }
    }

    /// Real DenseNet-121 shapes at ℓ = 37 get a feasible secure plan (no layer needs insecure parameters).
    @Test("DenseNet-121 layer shapes have feasible plans")
    func denseNetShapes() throws {
        let shapes: [LinearLayerShape] = [
            .convolution(inputChannels: 3, height: 224, width: 224, outputChannels: 64, kernel: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3]),
            .convolution(inputChannels: 256, height: 56, width: 56, outputChannels: 128, kernel: [1, 1]),
            .convolution(inputChannels: 128, height: 14, width: 14, outputChannels: 32, kernel: [3, 3], pads: [1, 1, 1, 1]),
            .convolution(inputChannels: 992, height: 7, width: 7, outputChannels: 128, kernel: [1, 1]),
            .channelScale(channels: 1024, height: 14, width: 14),
            .fullyConnected(inputFeatures: 1024, outputFeatures: 1000),
        ]
        for shape in shapes {
            for (bits, kappa) in [(37, 64), (37, FloodingSecurity.largestStatisticalBits), (41, FloodingSecurity.largestStatisticalBits)] {
                let plan = try LinearLayerPlan(shape: shape, plaintextBits: bits, weightBits: 14, statisticalBits: kappa)
                #expect(plan.noise.switchedMargin > 0, "\(shape), ℓ = \(bits), κ = \(kappa)")
                #expect(plan.parameters.isInsecure == false)
            }
        }
    }
}

@Suite("HE linear layers: ciphertext reuse across a growing Concat")
struct LinearReuseTests {
    /// Two per-channel scales as in a dense block: the second input appends 8 channels to the
    /// first; its leading 16 channels carry the same shares, so their ciphertexts are not resent.
    @Test("a per-channel scale reuses the ciphertexts of the channels it shares with the previous one")
    func reuse() throws {
        let bits = 37
        let first = LinearLayerShape.channelScale(channels: 16, height: 7, width: 7)
        let second = LinearLayerShape.channelScale(channels: 24, height: 7, width: 7)
        let planA = try LinearLayerPlan(shape: first, plaintextBits: bits, weightBits: 12)
        let planB = try LinearLayerPlan(shape: second, plaintextBits: bits, weightBits: 12)
        #expect(planA.tiling == planB.tiling)
        let prg = AESPRG(seed: Block(low: 30, high: 1))
        let wA = randomWeights(16, bits: 12, prg: prg), wB = randomWeights(24, bits: 12, prg: prg)
        let xvA = prg.ringElements(first.inputCount, bits: bits), xhA = prg.ringElements(first.inputCount, bits: bits)
        let xvB = xvA + prg.ringElements(second.inputCount - first.inputCount, bits: bits)
        let xhB = xhA + prg.ringElements(second.inputCount - first.inputCount, bits: bits)
        let serverA = try LinearLayerServer(plan: planA, weights: wA), serverB = try LinearLayerServer(plan: planB, weights: wB)
        let clientA = LinearLayerClient(plan: planA), clientB = LinearLayerClient(plan: planB)
        let r = try TwoPartyRunner.run(
            vendor: { channel -> ([UInt64], [UInt64], Int) in
                let session = try LinearHEServerSession(plans: [planA, planB], channel: channel)
                let yA = try serverA.run(share: xvA, session: session, channel: channel)
                let before = channel.statistics.bytesReceived
                let yB = try serverB.run(share: xvB, session: session, channel: channel, reusingChannels: 16)
                return (yA, yB, channel.statistics.bytesReceived - before)
            },
            hospital: { channel -> ([UInt64], [UInt64]) in
                let session = try LinearHEClientSession(plans: [planA, planB], channel: channel)
                let yA = try clientA.run(share: xhA, session: session, channel: channel)
                let yB = try clientB.run(share: xhB, session: session, channel: channel, reusingChannels: 16)
                return (yA, yB)
            })
        let mask: UInt64 = (1 << 37) - 1
        let xB = zip(xvB, xhB).map { ($0 &+ $1) & mask }
        let expected = naiveLinear(second, weights: wB, input: xB, batch: 1, bits: bits)
        #expect(zip(r.vendor.1, r.hospital.1).map { ($0 &+ $1) & mask } == expected)
        let perCiphertext = HEWire.seededSize(planB.parameters) + 16
        let sentTiles = planB.channelTileCount - 16 / planB.tiling.channelTile
        #expect(r.vendor.2 == sentTiles * perCiphertext)
        #expect(sentTiles < planB.channelTileCount)
    }
}

@Suite("HE linear layers: strided paths")
struct LinearStrideTests {
    /// Dilation with stride skips the polyphase rewrite: the stride-1 result is computed and only
    /// the strided coefficients come back.
    @Test("dilated and strided convolution (subsampled stride-1 result)")
    func dilatedStrided() throws {
        let shape = LinearLayerShape.convolution(inputChannels: 3, height: 15, width: 13, outputChannels: 4,
                                                 kernel: [3, 3], strides: [2, 3], dilations: [2, 2], pads: [2, 1, 2, 1])
        let plan = try checkLayer(shape, seed: 40)
        #expect(plan.encodedShape == shape)
    }

    @Test("strided convolutions are rewritten as polyphase stride-1 convolutions")
    func polyphase() throws {
        let shape = LinearLayerShape.convolution(inputChannels: 5, height: 17, width: 16, outputChannels: 6,
                                                 kernel: [5, 4], strides: [3, 2], pads: [2, 1, 1, 2])
        let plan = try checkLayer(shape, batch: 2, seed: 41)
        #expect(plan.encodedShape.strides == [1, 1])
        #expect(plan.encodedShape.inputChannels == 30)
    }
}

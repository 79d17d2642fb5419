import Foundation
import LatticeHE
import Testing
@testable import LinearHE

@Suite("Noise flooding scales with the session")
struct FloodingSecurityTests {
    @Test("κ = 40 + ⌈log2(images × coefficients per image)⌉, refused beyond 2^60")
    func kappa() {
        // DenseNet-121 returns about 10^7 coefficients per image (2^23.3).
        #expect(FloodingSecurity.statisticalBits(images: 1, coefficientsPerImage: 10_500_000) == 64)
        #expect(FloodingSecurity.statisticalBits(images: 1_000, coefficientsPerImage: 10_500_000) == 74)
        #expect(FloodingSecurity.statisticalBits(images: 1_149, coefficientsPerImage: 10_500_000) == 74)
        #expect(FloodingSecurity.statisticalBits(images: 360, coefficientsPerImage: 1) == 49)
        #expect(FloodingSecurity.statisticalBits(images: 1 << 31, coefficientsPerImage: 1 << 30) == nil)
        #expect(FloodingSecurity.largestStatisticalBits == 100)
    }

    @Test("the flooding hides the re-randomisation noise too, not only the products")
    func floodingCoversRerandomisation() throws {
        let parameters = try HEParameters.n4096(plaintextBits: 37)
        // A tiny workload: the re-randomisation noise (2N + 1)·21 ≈ 2^17.4 dominates the products.
        let workload = LinearWorkload(totalL1Norm: 1, plaintextAdditions: 1, flooding: true, statisticalBits: 40)
        let report = try NoiseBudget.analyse(parameters, workload)
        let rerandomisationBits = log2(Double(2 * parameters.degree + 1) * 21)
        #expect(Double(report.floodingBits) >= rerandomisationBits + 40)
        #expect(report.margin > 0)
    }
}

@Suite("The modulus chain follows the session's flooding")
struct ModulusChainTests {
    /// A DenseNet-121 1×1 convolution (64 → 128 channels at 56×56, 13-bit weights).
    let shape = LinearLayerShape.convolution(inputChannels: 64, height: 56, width: 56, outputChannels: 128,
                                             kernel: [1, 1], pads: [0, 0, 0, 0])

    @Test("each plan takes the smallest chain of the menu that holds its worst-case noise")
    func smallestFeasibleChain() throws {
        let menu = ParameterCache.chains(degree: 8192, plaintextBits: 37)
        #expect(menu.count > 3)
        #expect(zip(menu, menu.dropFirst()).allSatisfy { $0.modulusBits < $1.modulusBits })
        #expect(menu.allSatisfy { $0.modulusBits <= 218 && !$0.isInsecure })
        for kappa in [64, 74, 100] {
            let plan = try LinearLayerPlan(shape: shape, plaintextBits: 37, weightBits: 13, statisticalBits: kappa)
            #expect(plan.returnLimbs == 1)
            #expect(plan.noise.margin > 0 && plan.noise.switchedMargin > 0)
            // Low bits come off the returned coefficients, within the worst-case headroom.
            #expect(plan.returnDrop.c0 > 0 && plan.returnDrop.c1 > 0)
            #expect(exp2(plan.noise.switchedNoiseBits) + plan.returnDrop.error(degree: 8192) < exp2(plan.noise.switchedLimitBits))
            // The next smaller chain of the menu cannot hold the same tiling's noise.
            let index = try #require(menu.firstIndex { $0.fingerprint == plan.parameters.fingerprint })
            if index > 0 {
                let workload = LinearLayerPlan.workload(shape: plan.encodedShape, tiling: plan.tiling, weightBits: 13,
                                                        statisticalBits: kappa, returnLimbs: nil)
                #expect(throws: HEError.self) { try NoiseBudget.check(menu[index - 1], workload) }
            }
        }
        // A larger session floods wider, so its query ciphertexts carry a larger modulus.
        let small = try LinearLayerPlan(shape: shape, plaintextBits: 37, weightBits: 13, statisticalBits: 64)
        let large = try LinearLayerPlan(shape: shape, plaintextBits: 37, weightBits: 13, statisticalBits: 100)
        #expect(small.parameters.modulusBits < large.parameters.modulusBits)
        #expect(small.parameters.modulusBits < 218)
        #expect(small.queryBytes < large.queryBytes)
    }
}

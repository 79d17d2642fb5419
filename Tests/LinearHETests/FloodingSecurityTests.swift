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

import Compiler
import CryptoPrimitives
import Engine
import Foundation
import IR
import Datasets
import ONNX
import OT
import Protocols
import RingArithmetic
import Testing
import Transport
@testable import Validation
import TestSupport

/// Differentially private openings: the discrete Laplace sampler matches its distribution, and the
/// opened count is exactly the true count plus the two parties' own noise.
@Suite("Differential privacy: discrete Laplace noise from each party before the opening")
struct DifferentialPrivacyTests {
    @Test("the sampler's mean, variance and P(0) match the discrete Laplace of scale 1/ε (seeded runs)",
          arguments: [500_000, 2_000_000])
    func distribution(microEpsilon: Int) {
        let laplace = DiscreteLaplace(microEpsilon: microEpsilon)
        let q = exp(-Double(microEpsilon) / 1e6)
        let variance = 2 * q / ((1 - q) * (1 - q))
        #expect(abs(laplace.variance - variance) < 1e-12)
        for seed in 1...3 {
            var source = SeededUniformSource(seed: Block(low: UInt64(seed), high: UInt64(microEpsilon)))
            let n = 100_000
            var sum = 0.0, squares = 0.0, zeros = 0
            for _ in 0..<n {
                let z = Double(laplace.sample(&source))
                sum += z
                squares += z * z
                if z == 0 { zeros += 1 }
            }
            let mean = sum / Double(n), observed = squares / Double(n) - mean * mean
            // Standard errors: sqrt(var/n) for the mean; var·sqrt((kurtosis − 1)/n), kurtosis ≤ 6, for the variance.
            #expect(abs(mean) < 5 * (variance / Double(n)).squareRoot())
            #expect(abs(observed - variance) < 5 * variance * (5 / Double(n)).squareRoot())
            let p0 = (1 - q) / (1 + q)
            #expect(abs(Double(zeros) / Double(n) - p0) < 5 * (p0 * (1 - p0) / Double(n)).squareRoot())
        }
    }

    @Test("the opened count is the true count plus each party's own noise, bit for bit", arguments: OTEngine.allCases)
    func noisyOpening(ot: OTEngine) throws {
        let metric = try #require(Metric.accuracy.withDP(epsilon: 0.25))
        let bits = 37, count: Int64 = 97
        let prg = AESPRG()
        let r = prg.words(1)[0] & ((1 << 37) - 1)
        let vendorShare = ArithmeticShare(bits: bits, values: [r])
        let hospitalShare = ArithmeticShare(bits: bits, values: [(UInt64(count) &- r) & ((1 << 37) - 1)])
        let seeds = (vendor: Block(low: 11, high: 1), hospital: Block(low: 12, high: 1))
        let opened = try TwoPartyRunner.run(timeout: 60, vendor: { channel in
            let otSession: any ObliviousTransfer = ot == .silent ? try SilentObliviousTransfer(channel: channel, party: .vendor)
                                                                  : try IKNPObliviousTransfer(channel: channel, party: .vendor)
            let session = try TwoPartySession.establish(party: .vendor, channel: channel, ot: otSession)
            var noise = SeededUniformSource(seed: seeds.vendor)
            return try SecureEngine.openCount(vendorShare, metric: metric, images: 143, session: session, noise: &noise)
        }, hospital: { channel in
            let otSession: any ObliviousTransfer = ot == .silent ? try SilentObliviousTransfer(channel: channel, party: .hospital)
                                                                  : try IKNPObliviousTransfer(channel: channel, party: .hospital)
            let session = try TwoPartySession.establish(party: .hospital, channel: channel, ot: otSession)
            var noise = SeededUniformSource(seed: seeds.hospital)
            return try SecureEngine.openCount(hospitalShare, metric: metric, images: 143, session: session, noise: &noise)
        })
        var a = SeededUniformSource(seed: seeds.vendor), b = SeededUniformSource(seed: seeds.hospital)
        let laplace = DiscreteLaplace(microEpsilon: 250_000)
        let expected = count + laplace.sample(&a) + laplace.sample(&b)
        #expect(opened.vendor == .count(expected) && opened.hospital == .count(expected))
    }

    @Test("sens-spec with DP: both parties open the same noisy counts, each count plus both parties' noise of scale 2C/ε")
    func noisySensSpec() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let metric = try #require(Metric.sensSpec(thresholds: [0.25, 0.5]).withDP(epsilon: 4))
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test",
                                          policy: .init(minimumImages: 10, allowedMetrics: [.scores(.sensSpec)]))
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let (v, h) = runSession(server, try ValidationClient(dataset: data, metric: metric, batch: 64), vendorJournal: nil, hospitalJournal: nil)
        let vendor = try v.get(), hospital = try h.get()
        let counts = try #require(hospital.dpCounts)
        #expect(vendor.dpCounts == counts && hospital.dpEpsilon == 4)
        #expect(hospital.sensitivity?[1] == (counts.positives[1] > 0 ? min(max(Double(counts.truePositives[1]) / Double(counts.positives[1]), 0), 1) : nil))
        // The exact P and N are the labels' (the noise has scale 2C/ε = 1): the noisy ones are near.
        let labels = try data.labels(0..<143)
        #expect(abs(counts.positives[1] - labels.filter { $0 == 1 }.count) < 25 && abs(counts.negatives[1] - labels.filter { $0 == 0 }.count) < 25)

        // Bit for bit at the protocol level, with seeded noise: opened = counts + noise_vendor + noise_hospital.
        let exact: [Int64] = [40, 90, 41, 88, 53, 90, 53, 90]
        let (cv, ch) = (ArithmeticShare(bits: 44, values: exact.map { UInt64($0) &+ 12345 & ((1 << 44) - 1) }),
                        ArithmeticShare(bits: 44, values: exact.map { _ in (0 &- 12345) & ((1 << 44) - 1) }))
        let seeds = (vendor: Block(low: 21, high: 2), hospital: Block(low: 22, high: 2))
        let opened = try TwoPartyRunner.run(timeout: 60, vendor: { channel in
            let session = try TwoPartySession.establish(party: .vendor, channel: channel, ot: try IKNPObliviousTransfer(channel: channel, party: .vendor))
            var noise = SeededUniformSource(seed: seeds.vendor)
            return try SecureEngine.openNoisyCounts(cv, metric: metric, classes: 2, session: session, noise: &noise)
        }, hospital: { channel in
            let session = try TwoPartySession.establish(party: .hospital, channel: channel, ot: try IKNPObliviousTransfer(channel: channel, party: .hospital))
            var noise = SeededUniformSource(seed: seeds.hospital)
            return try SecureEngine.openNoisyCounts(ch, metric: metric, classes: 2, session: session, noise: &noise)
        })
        var a = SeededUniformSource(seed: seeds.vendor), b = SeededUniformSource(seed: seeds.hospital)
        let laplace = DiscreteLaplace(microEpsilon: 4_000_000, sensitivity: 4)
        let noiseA = exact.map { _ in laplace.sample(&a) }, noiseB = exact.map { _ in laplace.sample(&b) }
        let expected = (0..<exact.count).map { exact[$0] + noiseA[$0] + noiseB[$0] }
        #expect(opened.vendor == expected && opened.hospital == expected)
    }

    @Test("ε is part of the metric's text form and of the program digest; only an opened count takes it")
    func metricAndProgram() throws {
        let metric = try #require(Metric("accuracy dp:0.5"))
        #expect(metric.dpMicroEpsilon == 500_000 && metric.description == "accuracy dp:0.5")
        #expect(Metric("top5 dp:1")?.description == "top5 dp:1.0")
        #expect(Metric("sens-spec thresholds:0.25,0.5 dp:2")?.description == "sens-spec thresholds:0.25,0.5 dp:2.0")
        #expect(Metric("sens-spec dp:1")?.dpSensitivity(classes: 14) == 28 && metric.dpSensitivity(classes: 14) == 1)
        for refused in ["threshold:0.9 dp:1", "auroc dp:1", "accuracy dp:0", "accuracy dp:11", "accuracy dp:0.0000001", "accuracy dp:0.5 dp:0.5"] {
            #expect(Metric(refused) == nil, "\(refused)")
        }
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let plain = try ProgramCompiler.compile(graph, format: format, metric: .accuracy)
        let noisy = try ProgramCompiler.compile(graph, format: format, metric: metric)
        #expect(plain.digestHex != noisy.digestHex)
        #expect(try ProgramEncoding.decode(ProgramEncoding.encode(noisy)) == noisy)
    }
}

import Compiler
import CryptoPrimitives
import Foundation
import LatticeHE
import LinearHE
import OT
import Protocols
import Transport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Benchmark of the HE linear layers of a network: every layer run between two threads over a
/// memory channel with random shares, one layer after another, as in inference.
public enum LinearBenchmark {
    /// One layer to run: a name, its public operands (as the compiled program gives them) and the
    /// vendor's integer weights.
    public struct Layer: Sendable {
        public var name: String
        public var shape: LinearLayerShape
        /// Products per image (a fully connected layer on [..., K]: one per row of K features).
        public var rows: Int
        /// The public bound on the encoded weights that sizes the HE parameters.
        public var weightBits: Int
        public var weights: [Int64]
        /// The compiler's `ChannelReuse`, its `source` an index into the benchmark's layer list:
        /// applied, as in production, when the source is the last per-channel scale with the same
        /// HE input layout.
        public var reuse: ChannelReuse?

        public init(name: String, shape: LinearLayerShape, rows: Int = 1, weightBits: Int, weights: [Int64], reuse: ChannelReuse? = nil) {
            self.name = name
            self.shape = shape
            self.rows = rows
            self.weightBits = weightBits
            self.weights = weights
            self.reuse = reuse
        }
    }

    /// A BatchNorm's sign and shift left before a ReLU once its scale has been folded into the
    /// next convolution (`SignedShift`): one correlated OT per element on silent OT, no HE. Run in
    /// the benchmark because it replaces an HE per-channel scale, so the linear figures include it.
    public struct SignedShiftLayer: Sendable {
        public var name: String
        /// Channels, and elements per channel, per image.
        public var channels: Int
        public var plane: Int

        public init(name: String, channels: Int, plane: Int) {
            self.name = name
            self.channels = channels
            self.plane = plane
        }
    }

    public struct LayerResult: Sendable, Codable {
        public var name: String
        public var kind: String
        public var shape: String
        /// Wall seconds of the call, both parties running.
        public var seconds: Double
        /// Bytes both directions.
        public var bytes: Int
        /// CPU seconds of the whole process (both parties, all threads) during the call: a figure
        /// that a loaded machine inflates less than wall time.
        public var cpuSeconds: Double
        /// Vendor wall seconds to prepare the kernels (once per model; not in `seconds`).
        public var prepareSeconds: Double
        public var degree: Int
        public var tiling: String
        public var returnLimbs: Int
        public var inputCiphertexts: Int
        public var outputCiphertexts: Int
        public var products: Int
        public var multiplyAdds: Int
        public var weightBits: Int
        public var noiseMarginBits: Double

        enum CodingKeys: String, CodingKey {
            case name, kind, shape, seconds, bytes, degree, tiling, products, cpuSeconds = "cpu_seconds"
            case prepareSeconds = "prepare_seconds", returnLimbs = "return_limbs"
            case inputCiphertexts = "input_ciphertexts", outputCiphertexts = "output_ciphertexts"
            case multiplyAdds = "multiply_adds", weightBits = "weight_bits", noiseMarginBits = "noise_margin_bits"
        }
    }

    public struct Result: Sendable, Codable {
        /// Wall seconds of all layer calls (both parties), excluding kernel preparation and key set-up.
        public var linearSeconds: Double
        /// Bytes of all layer calls, both directions (key set-up excluded, reported apart).
        public var linearBytes: Int
        /// Process CPU seconds (both parties, all threads) of all layer calls.
        public var linearCPUSeconds: Double
        /// Kernel preparation seconds summed over layers (vendor, once per model).
        public var prepareSeconds: Double
        /// Plan derivation seconds (both parties do it; once per model).
        public var planSeconds: Double
        public var setupSeconds: Double
        public var setupBytes: Int
        /// Forward NTT, N = 4096, one 60-bit prime, per-thread CPU µs (HEBenchmark).
        public var nttMicroseconds: Double
        public var plaintextBits: Int
        public var images: Int
        public var rounds: Int
        public var layers: [LayerResult]

        enum CodingKeys: String, CodingKey {
            case linearSeconds = "linear_seconds", linearBytes = "linear_bytes", prepareSeconds = "prepare_seconds"
            case linearCPUSeconds = "linear_cpu_seconds"
            case planSeconds = "plan_seconds", setupSeconds = "setup_seconds", setupBytes = "setup_bytes"
            case nttMicroseconds = "ntt_microseconds", plaintextBits = "plaintext_bits", images, rounds, layers
        }
    }

    /// CPU seconds of this process so far (user + system, all threads).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    /// Runs every layer once on `images` images, then every signed shift (silent OT, its set-up
    /// counted with the key set-up). `progress` receives one line per layer.
    /// `statisticalBits` per returned coefficient: by default what a session of `images` images
    /// through these layers needs (`FloodingSecurity`), as the secure engine uses.
    public static func run(layers: [Layer], signedShifts: [SignedShiftLayer] = [], plaintextBits: Int, images: Int = 1,
                           statisticalBits: Int? = nil, progress: (@Sendable (String) -> Void)? = nil) throws -> Result {
        let coefficients = layers.reduce(0) { $0 + $1.shape.outputCount * $1.rows }
        guard let statisticalBits = statisticalBits
                ?? FloodingSecurity.statisticalBits(images: images, coefficientsPerImage: coefficients) else {
            throw LinearHEError.invalidShape(detail: "\(images) images return more than 2^60 coefficients")
        }
        let ntt = try HEBenchmark.run(HEParameters.n4096(plaintextBits: min(plaintextBits, 41)), repetitions: 9).forwardNTTMicroseconds
        let planStart = Date()
        let plans = try layers.map { layer in
            try LinearLayerPlan(shape: layer.shape, batch: images * layer.rows, plaintextBits: plaintextBits,
                                weightBits: layer.weightBits, statisticalBits: statisticalBits,
                                reusableChannels: layer.reuse?.channels ?? 0)
        }
        let planSeconds = Date().timeIntervalSince(planStart)
        let (a, b) = MemoryChannel.pair(timeout: 600)
        // Key set-up: once per session.
        let setupStart = Date()
        let sessions = try TwoPartyRunner.run(on: (a, b), vendor: { _ in try LinearHEServerSession(plans: plans, channel: a) },
                                              hospital: { _ in try LinearHEClientSession(plans: plans, channel: b) })
        let setupSeconds = Date().timeIntervalSince(setupStart)
        let setupBytes = a.statistics.bytesReceived
        let serverSession = sessions.vendor, clientSession = sessions.hospital
        var results: [LayerResult] = []
        var totalSeconds = 0.0
        var totalBytes = 0
        var totalCPU = 0.0
        var prepare = 0.0
        let prg = AESPRG()
        var lastWithLayout: [String: Int] = [:]
        for (index, (layer, plan)) in zip(layers, plans).enumerated() {
            var reusable = 0
            if plan.isDiagonal {
                if let reuse = layer.reuse, lastWithLayout[plan.inputLayoutKey] == reuse.source { reusable = reuse.channels }
                lastWithLayout[plan.inputLayoutKey] = index
            }
            let reusing = reusable
            let server = try LinearLayerServer(plan: plan, weights: layer.weights)
            prepare += server.preparationSeconds
            let client = LinearLayerClient(plan: plan)
            let (sv, sh) = (prg.ringElements(plan.inputCount, bits: plaintextBits), prg.ringElements(plan.inputCount, bits: plaintextBits))
            let before = a.statistics.bytesSent + b.statistics.bytesSent
            let start = Date()
            let cpuStart = processCPUSeconds()
            _ = try TwoPartyRunner.run(on: (a, b), vendor: { _ in try server.run(share: sv, session: serverSession, channel: a, reusingChannels: reusing) },
                                       hospital: { _ in try client.run(share: sh, session: clientSession, channel: b, reusingChannels: reusing) })
            let seconds = Date().timeIntervalSince(start)
            let cpu = processCPUSeconds() - cpuStart
            totalCPU += cpu
            let bytes = a.statistics.bytesSent + b.statistics.bytesSent - before
            totalSeconds += seconds
            totalBytes += bytes
            let r = LayerResult(name: layer.name, kind: layer.shape.kind.rawValue, shape: layer.shape.description,
                                seconds: seconds, bytes: bytes, cpuSeconds: cpu, prepareSeconds: server.preparationSeconds,
                                degree: plan.parameters.degree, tiling: plan.tiling.description,
                                returnLimbs: plan.returnLimbs, inputCiphertexts: plan.inputCiphertextCount,
                                outputCiphertexts: plan.outputCiphertextCount, products: plan.productCount,
                                multiplyAdds: layer.shape.multiplyAdds * images * layer.rows, weightBits: plan.weightBits,
                                noiseMarginBits: plan.noise.switchedMargin)
            results.append(r)
            progress?(String(format: "%@  %@  %.3f s  %.2f MB  (N = %d, %d→%d ciphertexts, %d products, prepare %.3f s)",
                             layer.name, layer.shape.description, seconds, Double(bytes) / 1e6, plan.parameters.degree,
                             plan.inputCiphertextCount, plan.outputCiphertextCount, plan.productCount, server.preparationSeconds))
        }
        var otSetupSeconds = 0.0, otSetupBytes = 0
        if !signedShifts.isEmpty {
            // Both parties in one call each (a session belongs to its thread); the vendor's thread
            // measures every step: wall, process CPU, and its channel's bytes in both directions.
            let counts = signedShifts.map { $0.channels * $0.plane * images }
            let shares = counts.map { (prg.ringElements($0, bits: plaintextBits), prg.ringElements($0, bits: plaintextBits)) }
            let signs = counts.map { prg.words($0).map { $0 & 1 == 1 } }
            @Sendable func traffic(_ channel: MemoryChannel) -> Int { channel.statistics.bytesSent + channel.statistics.bytesReceived }
            let runs = try TwoPartyRunner.run(on: (a, b), vendor: { _ -> (setup: (Double, Int), steps: [(Double, Double, Int)]) in
                let start = Date(), before = traffic(a)
                let session = TwoPartySession(party: .vendor, channel: a, ot: try SilentObliviousTransfer(channel: a, party: .vendor),
                                              commonSeed: Block(low: 0, high: 0))
                let setup = (Date().timeIntervalSince(start), traffic(a) - before)
                var steps: [(Double, Double, Int)] = []
                for (k, share) in shares.enumerated() {
                    let start = Date(), cpu = processCPUSeconds(), before = traffic(a)
                    _ = try session.negate(ArithmeticShare(bits: plaintextBits, values: share.0), where: signs[k])
                    steps.append((Date().timeIntervalSince(start), processCPUSeconds() - cpu, traffic(a) - before))
                }
                return (setup, steps)
            }, hospital: { _ in
                let session = TwoPartySession(party: .hospital, channel: b, ot: try SilentObliviousTransfer(channel: b, party: .hospital),
                                              commonSeed: Block(low: 0, high: 0))
                for share in shares { _ = try session.negate(ArithmeticShare(bits: plaintextBits, values: share.1), where: nil) }
            })
            (otSetupSeconds, otSetupBytes) = runs.vendor.setup
            for (shift, (seconds, cpu, bytes)) in zip(signedShifts, runs.vendor.steps) {
                totalSeconds += seconds
                totalBytes += bytes
                totalCPU += cpu
                results.append(LayerResult(name: shift.name, kind: "signedShift", shape: "\(shift.channels)×\(shift.plane)", seconds: seconds, bytes: bytes,
                                           cpuSeconds: cpu, prepareSeconds: 0, degree: 0, tiling: "-", returnLimbs: 0, inputCiphertexts: 0,
                                           outputCiphertexts: 0, products: 0, multiplyAdds: 0, weightBits: 0, noiseMarginBits: 0))
                progress?(String(format: "%@  signed shift %d×%d  %.3f s  %.2f MB  (%d correlated OTs)", shift.name, shift.channels, shift.plane,
                                 seconds, Double(bytes) / 1e6, shift.channels * shift.plane * images))
            }
        }
        return Result(linearSeconds: totalSeconds, linearBytes: totalBytes, linearCPUSeconds: totalCPU, prepareSeconds: prepare,
                      planSeconds: planSeconds, setupSeconds: setupSeconds + otSetupSeconds, setupBytes: setupBytes + otSetupBytes,
                      nttMicroseconds: ntt, plaintextBits: plaintextBits, images: images,
                      rounds: a.statistics.rounds, layers: results)
    }
}

import ArgumentParser
import Benchmarks
import CryptoPrimitives
import Foundation
import OT
import Protocols
import Transport

/// `validate-inspect bench primitives`: the two-party building blocks, both parties in this process
/// on two threads over the in-memory channel (TLS loopback measured separately).
struct PrimitivesBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "primitives",
        abstract: "Measure the two-party primitives: AES PRG, OT extension, silent OT, DReLU/ReLU, TLS loopback.",
        discussion: """
            Both parties run in this process on two threads. OT and the nonlinear protocols use the \
            in-memory channel (so the figures are compute-bound); DReLU/ReLU are measured again over \
            TLS 1.3 on 127.0.0.1 (keys ending in _tls), and raw TLS throughput separately between a \
            listener and a client on 127.0.0.1. DReLU/ReLU also run on silent OT (keys ending in _silent, \
            batches of --silent-batch elements so that several Ferret iterations run inside the timed call), \
            side by side with IKNP (keys without an engine suffix). DReLU and ReLU are timed after an \
            untimed ReLU on the same batch, so that they show the steady state a model's later layers \
            see: the first call on a fresh engine also allocates and first touches its buffers (its \
            rate is printed apart). Silent OT is Ferret's random correlated OT (keys \
            silent_cot_per_s, bits_per_silent_cot; its LPN step alone on one thread, lpn_rows_per_s: one row per COT on each side) and the OT kinds built on it (keys ending in \
            _silent), timed over whole iterations of 10,001,981 COTs after its bootstrap. "With a core per party" divides by the larger of the \
            two threads' CPU times, a steadier figure on a loaded machine. Figures are totals for both parties: bytes \
            are what both sent, rounds are the vendor's direction changes. This machine is shared: \
            compare ratios measured in one run. Build with `swift build -c release` first.
            """)

    @Option(help: "Random and correlated OTs per measurement (silent COTs: rounded up to whole Ferret iterations).")
    var ots: Int = 4_000_000

    @Option(help: "Elements per DReLU/ReLU batch.")
    var batch: Int = 1 << 16

    @Option(help: "Elements per DReLU/ReLU batch on silent OT.")
    var silentBatch: Int = 1 << 20

    @Option(help: "MiB sent through the TLS loopback measurement.")
    var tlsMegabytes: Int = 256

    @Option(help: "Also write the figures as JSON to this file.")
    var json: String?

    struct Report: Codable {
        var aesPRGGBps: Double
        var randomOTPerSecond: Double
        var bytesPerRandomOT: Double
        var correlatedOTPerSecond: Double
        var bytesPerCorrelatedOT: Double
        var oneOf16OTPerSecond: Double
        var silentCOTPerSecond: Double
        var bitsPerSilentCOT: Double
        var lpnRowsPerSecond: Double
        var bytesPerOneOf16OT: Double
        var correlatedOTPerSecondSilent: Double
        var bytesPerCorrelatedOTSilent: Double
        var oneOf16OTPerSecondSilent: Double
        var bytesPerOneOf16OTSilent: Double
        var dreluPerSecondL37: Double
        var dreluPerSecondL64: Double
        var bytesPerDReLUL37: Double
        var bytesPerDReLUL64: Double
        var reluPerSecondL37: Double
        var bytesPerReLUL37: Double
        var roundsPerReLULayerL37: Int
        var roundsPerReLULayerL64: Int
        var dreluPerSecondL37Silent: Double
        var dreluPerSecondL64Silent: Double
        var bytesPerDReLUL37Silent: Double
        var bytesPerDReLUL64Silent: Double
        var reluPerSecondL37Silent: Double
        var bytesPerReLUL37Silent: Double
        var dreluPerSecondL37SilentCPUBound: Double
        var dreluPerSecondL37CPUBound: Double
        var dreluPerSecondL64CPUBound: Double
        var dreluPerSecondL37TLS: Double
        var dreluPerSecondL64TLS: Double
        var bytesPerDReLUL37TLS: Double
        var reluPerSecondL37TLS: Double
        var bytesPerReLUL37TLS: Double
        var roundsPerReLULayerL37TLS: Int
        var roundsPerReLULayerL64TLS: Int
        var otSetupSeconds: Double
        var tlsLoopbackGBps: Double
        var tlsCipher: String
        var nonlinear: [NonLinearBenchmarkResult]
        var ot: [OTBenchmarkResult]

        enum CodingKeys: String, CodingKey {
            case aesPRGGBps = "aes_prg_gbps", randomOTPerSecond = "random_ot_per_s", bytesPerRandomOT = "bytes_per_random_ot"
            case correlatedOTPerSecond = "correlated_ot_per_s", bytesPerCorrelatedOT = "bytes_per_correlated_ot"
            case oneOf16OTPerSecond = "one_of_16_ot_per_s"
            case silentCOTPerSecond = "silent_cot_per_s", bitsPerSilentCOT = "bits_per_silent_cot"
            case lpnRowsPerSecond = "lpn_rows_per_s"
            case bytesPerOneOf16OT = "bytes_per_one_of_16_ot"
            case correlatedOTPerSecondSilent = "correlated_ot_per_s_silent", bytesPerCorrelatedOTSilent = "bytes_per_correlated_ot_silent"
            case oneOf16OTPerSecondSilent = "one_of_16_ot_per_s_silent", bytesPerOneOf16OTSilent = "bytes_per_one_of_16_ot_silent"
            case dreluPerSecondL37 = "drelu_per_s_l37", dreluPerSecondL64 = "drelu_per_s_l64"
            case bytesPerDReLUL37 = "bytes_per_drelu_l37", bytesPerDReLUL64 = "bytes_per_drelu_l64"
            case reluPerSecondL37 = "relu_per_s_l37", bytesPerReLUL37 = "bytes_per_relu_l37"
            case roundsPerReLULayerL37 = "rounds_per_relu_layer_l37", roundsPerReLULayerL64 = "rounds_per_relu_layer_l64"
            case dreluPerSecondL37Silent = "drelu_per_s_l37_silent", dreluPerSecondL64Silent = "drelu_per_s_l64_silent"
            case bytesPerDReLUL37Silent = "bytes_per_drelu_l37_silent", bytesPerDReLUL64Silent = "bytes_per_drelu_l64_silent"
            case reluPerSecondL37Silent = "relu_per_s_l37_silent", bytesPerReLUL37Silent = "bytes_per_relu_l37_silent"
            case dreluPerSecondL37SilentCPUBound = "drelu_per_s_l37_silent_cpu_bound"
            case dreluPerSecondL37CPUBound = "drelu_per_s_l37_cpu_bound", dreluPerSecondL64CPUBound = "drelu_per_s_l64_cpu_bound"
            case dreluPerSecondL37TLS = "drelu_per_s_l37_tls", dreluPerSecondL64TLS = "drelu_per_s_l64_tls"
            case bytesPerDReLUL37TLS = "bytes_per_drelu_l37_tls", reluPerSecondL37TLS = "relu_per_s_l37_tls"
            case bytesPerReLUL37TLS = "bytes_per_relu_l37_tls"
            case roundsPerReLULayerL37TLS = "rounds_per_relu_layer_l37_tls", roundsPerReLULayerL64TLS = "rounds_per_relu_layer_l64_tls"
            case otSetupSeconds = "ot_setup_seconds", tlsLoopbackGBps = "tls_loopback_gbps", tlsCipher = "tls_cipher"
            case nonlinear, ot
        }
    }

    func validate() throws {
        guard ots > 0, batch > 0, silentBatch > 0, tlsMegabytes > 0 else {
            throw ValidationError("--ots, --batch, --silent-batch and --tls-megabytes must be positive")
        }
    }

    func run() throws {
        note("AES-128-CTR PRG …")
        let aes = Self.aesThroughput(megabytes: 256)
        note("random OT …")
        let random = try OTBenchmark.measureRandomOT(count: ots)
        note("correlated OT (ℓ = 37) …")
        let correlated = try OTBenchmark.measureCorrelatedOT(count: ots, bits: 37)
        note("1-of-16 OT …")
        let oneOfN = try OTBenchmark.measureOneOfNOT(count: max(ots / 4, 1), n: 16, bits: 2)
        note("silent random COT (Ferret) …")
        let silent = try OTBenchmark.measureSilentCOT(count: ots)
        note("Ferret's LPN step alone, one thread …")
        let lpnRows = OTBenchmark.measureLPNEncoding()
        note("correlated OT (ℓ = 37) on silent OT …")
        let silentCorrelated = try OTBenchmark.measureSilentCorrelatedOT(bits: 37)
        note("1-of-16 OT on silent OT …")
        let silentOneOfN = try OTBenchmark.measureSilentOneOfNOT(n: 16, bits: 2)
        note("DReLU/ReLU at ℓ = 37 …")
        let l37 = try ProtocolBenchmark.nonLinear(ringBits: 37, batch: batch)
        note("DReLU/ReLU at ℓ = 64 …")
        let l64 = try ProtocolBenchmark.nonLinear(ringBits: 64, batch: batch)
        note("DReLU/ReLU at ℓ = 37 on silent OT …")
        let l37Silent = try ProtocolBenchmark.nonLinear(ringBits: 37, batch: silentBatch, ot: ProtocolBenchmark.silent)
        note("DReLU/ReLU at ℓ = 64 on silent OT …")
        let l64Silent = try ProtocolBenchmark.nonLinear(ringBits: 64, batch: silentBatch, ot: ProtocolBenchmark.silent)
        note("DReLU/ReLU at ℓ = 37 over TLS on 127.0.0.1 …")
        let l37TLS = try ProtocolBenchmark.nonLinear(ringBits: 37, batch: batch, transport: .tls)
        note("DReLU/ReLU at ℓ = 64 over TLS on 127.0.0.1 …")
        let l64TLS = try ProtocolBenchmark.nonLinear(ringBits: 64, batch: batch, transport: .tls)
        note("TLS loopback …")
        let tls = try TLSBenchmark.loopback(megabytes: tlsMegabytes)
        let report = Report(
            aesPRGGBps: aes, randomOTPerSecond: random.perSecond, bytesPerRandomOT: random.bytesPerOT,
            correlatedOTPerSecond: correlated.perSecond, bytesPerCorrelatedOT: correlated.bytesPerOT,
            oneOf16OTPerSecond: oneOfN.perSecond,
            silentCOTPerSecond: silent.perSecond, bitsPerSilentCOT: 8 * silent.bytesPerOT, lpnRowsPerSecond: lpnRows,
            bytesPerOneOf16OT: oneOfN.bytesPerOT,
            correlatedOTPerSecondSilent: silentCorrelated.perSecond, bytesPerCorrelatedOTSilent: silentCorrelated.bytesPerOT,
            oneOf16OTPerSecondSilent: silentOneOfN.perSecond, bytesPerOneOf16OTSilent: silentOneOfN.bytesPerOT,
            dreluPerSecondL37: l37.dreluPerSecond, dreluPerSecondL64: l64.dreluPerSecond,
            bytesPerDReLUL37: l37.bytesPerDReLU, bytesPerDReLUL64: l64.bytesPerDReLU,
            reluPerSecondL37: l37.reluPerSecond, bytesPerReLUL37: l37.bytesPerReLU,
            roundsPerReLULayerL37: l37.roundsPerReLULayer, roundsPerReLULayerL64: l64.roundsPerReLULayer,
            dreluPerSecondL37Silent: l37Silent.dreluPerSecond, dreluPerSecondL64Silent: l64Silent.dreluPerSecond,
            bytesPerDReLUL37Silent: l37Silent.bytesPerDReLU, bytesPerDReLUL64Silent: l64Silent.bytesPerDReLU,
            reluPerSecondL37Silent: l37Silent.reluPerSecond, bytesPerReLUL37Silent: l37Silent.bytesPerReLU,
            dreluPerSecondL37SilentCPUBound: l37Silent.dreluPerSecondCPUBound,
            dreluPerSecondL37CPUBound: l37.dreluPerSecondCPUBound, dreluPerSecondL64CPUBound: l64.dreluPerSecondCPUBound,
            dreluPerSecondL37TLS: l37TLS.dreluPerSecond, dreluPerSecondL64TLS: l64TLS.dreluPerSecond,
            bytesPerDReLUL37TLS: l37TLS.bytesPerDReLU, reluPerSecondL37TLS: l37TLS.reluPerSecond,
            bytesPerReLUL37TLS: l37TLS.bytesPerReLU,
            roundsPerReLULayerL37TLS: l37TLS.roundsPerReLULayer, roundsPerReLULayerL64TLS: l64TLS.roundsPerReLULayer,
            otSetupSeconds: random.setupSeconds, tlsLoopbackGBps: tls.gigabytesPerSecond, tlsCipher: tls.cipher,
            nonlinear: [l37, l64, l37Silent, l64Silent, l37TLS, l64TLS], ot: [random, correlated, oneOfN, silent, silentCorrelated, silentOneOfN])
        func rate(_ v: Double) -> String { v >= 1e6 ? String(format: "%.2f M/s", v / 1e6) : String(format: "%.0f k/s", v / 1e3) }
        print("two-party primitives (both parties on this machine, in-memory channel unless noted)")
        print(String(format: "  AES-128-CTR PRG:          %.2f GB/s", aes))
        print("  random OT (128-bit):      \(rate(random.perSecond)), \(String(format: "%.1f", random.bytesPerOT)) B/OT; base-OT set-up \(String(format: "%.3f", random.setupSeconds)) s")
        print("  correlated OT (ℓ = 37):   \(rate(correlated.perSecond)), \(String(format: "%.1f", correlated.bytesPerOT)) B/OT")
        print("  1-of-16 OT (2-bit):       \(rate(oneOfN.perSecond)), \(String(format: "%.1f", oneOfN.bytesPerOT)) B/OT")
        print("  silent COT (Ferret):      \(rate(silent.perSecond)), \(String(format: "%.3f", 8 * silent.bytesPerOT)) bits/COT; \(rate(silent.perSecondCPUBound)) with a core per party (CPU time; random OT: \(rate(random.perSecondCPUBound))); set-up with bootstrap \(String(format: "%.3f", silent.setupSeconds)) s")
        print("  Ferret LPN step alone:    \(rate(lpnRows)) rows on one thread (\(String(format: "%.1f", 1e9 / lpnRows)) ns per COT on each side: the ceiling of this step per core)")
        print("  correlated OT (ℓ = 37), IKNP vs silent: \(String(format: "%.2f", correlated.bytesPerOT)) vs \(String(format: "%.2f", silentCorrelated.bytesPerOT)) B/OT, \(rate(correlated.perSecond)) vs \(rate(silentCorrelated.perSecond))")
        print("  1-of-16 OT (2-bit), KK13 vs silent:     \(String(format: "%.2f", oneOfN.bytesPerOT)) vs \(String(format: "%.2f", silentOneOfN.bytesPerOT)) B/OT, \(rate(oneOfN.perSecond)) vs \(rate(silentOneOfN.perSecond))")
        for (iknp, silent) in [(l37, l37Silent), (l64, l64Silent)] {
            print("  DReLU ℓ = \(iknp.ringBits), IKNP vs silent:  \(String(format: "%.1f", iknp.bytesPerDReLU)) vs \(String(format: "%.1f", silent.bytesPerDReLU)) B each, \(rate(iknp.dreluPerSecond)) vs \(rate(silent.dreluPerSecond)) (core per party: \(rate(iknp.dreluPerSecondCPUBound)) vs \(rate(silent.dreluPerSecondCPUBound))), \(iknp.roundsPerDReLU) vs \(silent.roundsPerDReLU) rounds")
            print("  ReLU  ℓ = \(iknp.ringBits), IKNP vs silent:  \(String(format: "%.1f", iknp.bytesPerReLU)) vs \(String(format: "%.1f", silent.bytesPerReLU)) B each, \(rate(iknp.reluPerSecond)) vs \(rate(silent.reluPerSecond)) (batches \(iknp.batch) vs \(silent.batch))")
            print("  first ReLU call on a fresh engine (untimed warm-up, fresh buffers): \(rate(Double(iknp.batch) / iknp.firstReLUSeconds)) vs \(rate(Double(silent.batch) / silent.firstReLUSeconds))")
        }
        for r in [l37, l64, l37TLS, l64TLS] {
            let over = r.transport == "tls" ? " (TLS)" : "      "
            print("  DReLU ℓ = \(r.ringBits)\(over):        \(rate(r.dreluPerSecond)), \(String(format: "%.0f", r.bytesPerDReLU)) B each, \(r.roundsPerDReLU) rounds per layer; \(rate(r.dreluPerSecondCPUBound)) with a core per party (CPU time)")
            print("  ReLU  ℓ = \(r.ringBits)\(over):        \(rate(r.reluPerSecond)), \(String(format: "%.0f", r.bytesPerReLU)) B each, \(r.roundsPerReLULayer) rounds per layer (batch \(r.batch))")
        }
        print(String(format: "  TLS 1.3 loopback:         %.2f GB/s (%@)", tls.gigabytesPerSecond, tls.cipher))
        if let json { try writeJSON(report, to: json) }
    }

    /// GB/s of the AES-128-CTR PRG filling a large buffer in 4 MiB calls.
    static func aesThroughput(megabytes: Int) -> Double {
        let prg = AESPRG()
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        let rounds = max(megabytes / 4, 1)
        let start = Date()
        buffer.withUnsafeMutableBytes { raw in for _ in 0..<rounds { prg.fill(raw) } }
        let seconds = Date().timeIntervalSince(start)
        return Double(rounds * buffer.count) / seconds / 1e9
    }
}

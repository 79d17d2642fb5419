import ArgumentParser
import Benchmarks
import Foundation
import Compiler
import Transport

/// `validate-inspect bench metric`: the clinical metric stage alone.
struct MetricBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metric",
        abstract: "Time the secure clinical metric stage alone (per-finding AUROC or sensitivity/specificity) on random shared scores.",
        discussion: """
            Both parties run in this process on two threads. The scores are random ℓ-bit values \
            with many ties, the labels random (about 30 % positive, 8 % not labelled). The stage is \
            what a validation with --metric auroc runs after inference: the scores widened to a \
            larger ring, two bitonic sorts per finding (N log² N compare-exchanges), a local rank \
            sum and a 21-step division, then one opening. OT set-up is reported apart. The opened \
            values are checked against the plaintext definition (matches_reference).
            """)

    @Option(help: "Images (the study's test set: 1149).")
    var images: Int = 1149

    @Option(help: "Findings per image (CheXpert: 14).")
    var findings: Int = 14

    @Option(help: ArgumentHelp("auroc or sens-spec.", valueName: "metric"))
    var metric: String = "auroc"

    @Option(name: .customLong("ring-bits"), help: "ℓ of the scores.")
    var ringBits: Int = 37

    @Option(help: ArgumentHelp("The OT engine: silent or iknp.", valueName: "engine"))
    var ot: String = "silent"

    @Option(help: ArgumentHelp("An emulated link RATE:RTT (e.g. 100mbit:40ms), or lan for none.", valueName: "rate:rtt"))
    var link: String = "lan"

    @Option(help: "Also write the figures as JSON to this file (keys metric, images, findings, seconds, bytes, rounds, setup_seconds, vendor_cpu_seconds, hospital_cpu_seconds, compare_exchanges, matches_reference).")
    var json: String?

    func validate() throws {
        guard images >= 1, findings >= 1 else { throw ValidationError("--images and --findings must be positive") }
        guard metric == "auroc" || metric == "sens-spec" else { throw ValidationError("--metric must be auroc or sens-spec, got '\(metric)'") }
        guard (2...61).contains(ringBits) else { throw ValidationError("--ring-bits must be in 2...61 (the AUROC stage widens the ring by 3 bits)") }
        guard OTEngine(rawValue: ot) != nil else { throw ValidationError("--ot must be silent or iknp, got '\(ot)'") }
        do { _ = try LinkProfile.parse(link) } catch { throw ValidationError(error.description) }
    }

    func run() throws {
        let r = try MetricBenchmark.run(images: images, findings: findings, ringBits: ringBits, sensSpec: metric == "sens-spec",
                                        otEngine: OTEngine(rawValue: ot)!, link: try LinkProfile.parse(link))
        print("\(r.metric) of \(r.images) images × \(r.findings) findings, ℓ = \(r.ringBits), \(r.ot) OT, link \(r.link)")
        print(String(format: "  %.2f s, %.1f MB, %d rounds; CPU vendor %.2f s, hospital %.2f s; set-up %.2f s (not included)",
                     r.seconds, Double(r.bytes) / 1e6, r.rounds, r.vendorCPUSeconds, r.hospitalCPUSeconds, r.setupSeconds))
        if r.compareExchanges > 0 { print("  \(r.compareExchanges) compare-exchanges") }
        print("  opened values \(r.matchesReference ? "equal" : "DIFFER FROM") the plaintext definition")
        if let json { try writeJSON(r, to: json) }
        if !r.matchesReference { throw ExitCode(3) }
    }
}

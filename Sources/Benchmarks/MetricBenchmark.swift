import Compiler
import CryptoPrimitives
import Foundation
import OT
import Protocols
import Reference
import RingArithmetic
import Transport
import Validation

/// The clinical metric stage alone (`validate-inspect bench metric`): per-finding AUROC (or
/// sensitivity/specificity) of `images` × `findings` shared scores, both parties in one process.
///
/// Scores are random ℓ-bit fixed-point values with ties (a quarter of them drawn from 16 values),
/// labels random with about 30 % positives and 8 % not labelled (−1). The opened quotients are
/// checked against the plaintext definition, so a benchmark that ran also computed the right thing.
public enum MetricBenchmark {
    public struct Report: Sendable, Codable, Equatable {
        public var metric: String
        public var images: Int
        public var findings: Int
        public var ringBits: Int
        public var ot: String
        public var link: String
        /// OT set-up (base OTs, IKNP, first Ferret iteration), not in `seconds`.
        public var setupSeconds: Double
        /// Wall seconds of the metric stage, opening included.
        public var seconds: Double
        /// Both parties' bytes sent during the stage.
        public var bytes: Int
        /// The vendor's direction changes during the stage.
        public var rounds: Int
        public var vendorCPUSeconds: Double
        public var hospitalCPUSeconds: Double
        /// Compare-exchanges of the oblivious sort (AUROC), all findings and both tie orders.
        public var compareExchanges: Int
        /// Whether the opened values equal the plaintext definition.
        public var matchesReference: Bool

        enum CodingKeys: String, CodingKey {
            case metric, images, findings, ot, link, seconds, bytes, rounds
            case ringBits = "ring_bits", setupSeconds = "setup_seconds"
            case vendorCPUSeconds = "vendor_cpu_seconds", hospitalCPUSeconds = "hospital_cpu_seconds"
            case compareExchanges = "compare_exchanges", matchesReference = "matches_reference"
        }
    }

    /// Runs the stage once. `sensSpec` false: AUROC; true: sensitivity and specificity at
    /// threshold 0 for every finding.
    public static func run(images: Int, findings: Int, ringBits: Int = 37, sensSpec: Bool = false, otEngine: OTEngine = .silent,
                           link: LinkProfile? = nil) throws -> Report {
        let bits = ringBits, k = OpenedRatio.fractionBits
        let prg = AESPRG()
        let m: UInt64 = ringBits == 64 ? .max : (1 << UInt64(ringBits)) - 1
        let words = prg.words(images * findings)
        // A quarter from 16 values (ties); the rest spread over a quarter of the signed range.
        let spread = UInt64(64 - bits + 2)
        let scores: [Int64] = words.map { w in
            w % 4 == 0 ? Int64(w >> 60) - 8 : Int64(bitPattern: (w >> 20) << spread) >> Int64(spread)
        }
        let labels: [Int] = words.map { w in
            let r = (w >> 8) % 100
            return r < 8 ? -1 : (r < 38 ? 1 : 0)
        }
        let shareMask = prg.ringElements(scores.count, bits: bits)
        let hospitalShare = zip(scores, shareMask).map { (UInt64(bitPattern: $0) &- $1) & m }
        let emulated = link.map(EmulatedLink.init)
        let (a, b): (any Channel & Sendable, any Channel & Sendable) = {
            if let emulated { let p = emulated.pair(timeout: 3600); return (p.vendor, p.hospital) }
            let p = MemoryChannel.pair(timeout: 3600)
            return (p.0, p.1)
        }()
        final class Outcome: @unchecked Sendable {
            var result: Result<[Int64], Error>?
            var cpu = 0.0, setup = 0.0, start = Date(), end = Date()
            var statistics: (ChannelStatistics, ChannelStatistics)?
        }
        let outcomes = [Outcome(), Outcome()]
        let group = DispatchGroup()
        for (index, party) in [Party.vendor, .hospital].enumerated() {
            group.enter()
            let channel = index == 0 ? a : b
            let thread = Thread {
                defer { group.leave() }
                let outcome = outcomes[index]
                outcome.result = Result {
                    let t0 = Date()
                    let ot: any ObliviousTransfer = otEngine == .silent ? try SilentObliviousTransfer(channel: channel, party: party)
                                                                        : try IKNPObliviousTransfer(channel: channel, party: party)
                    let session = try TwoPartySession.establish(party: party, channel: channel, ot: ot)
                    _ = try session.relu(ArithmeticShare(bits: bits, values: session.prg.ringElements(64, bits: bits)))
                    _ = try session.exchange([0])
                    outcome.setup = Date().timeIntervalSince(t0)
                    let s0 = channel.statistics, c0 = threadCPUSeconds()
                    outcome.start = Date()
                    let mine = ArithmeticShare(bits: bits, values: party == .vendor ? shareMask : hospitalShare)
                    let theirLabels = party == .vendor ? nil : labels
                    let quotients = sensSpec
                        ? try session.operatingPointQuotients(scores: mine, labels: theirLabels, images: images, findings: findings,
                                                              thresholds: [Int64](repeating: 0, count: findings), fractionBits: k)
                        : try session.aurocQuotients(scores: mine, labels: theirLabels, images: images, findings: findings, fractionBits: k)
                    let opened = try session.open(quotients)!
                    try channel.flush()
                    outcome.end = Date()
                    outcome.cpu = threadCPUSeconds() - c0
                    outcome.statistics = (s0, channel.statistics)
                    _ = try session.exchange([0])
                    return opened
                }
                if case .failure = outcome.result { a.close(); b.close() }
            }
            thread.stackSize = 64 << 20
            thread.start()
        }
        group.wait()
        let opened = try outcomes[0].result!.get()
        _ = try outcomes[1].result!.get()
        let expected = (0..<(sensSpec ? 2 * findings : findings)).map { index -> Int64 in
            let c = index % findings
            let column = (0..<images).map { scores[$0 * findings + c] }, columnLabels = (0..<images).map { labels[$0 * findings + c] }
            let (numerator, denominator): (Int, Int)
            if sensSpec {
                let positive = index < findings ? 1 : 0
                let relevant = zip(column, columnLabels).filter { $0.1 == positive }
                numerator = relevant.filter { positive == 1 ? $0.0 >= 0 : $0.0 < 0 }.count
                denominator = relevant.count
            } else {
                let u = ClinicalMetrics.mannWhitney(scores: column, labels: columnLabels)
                (numerator, denominator) = (u.twiceU, 2 * u.positives * u.negatives)
            }
            return denominator == 0 ? (1 << (k + 1)) - 1 : Int64((numerator << k) / denominator)
        }
        let (v0, v1) = outcomes[0].statistics!, (h0, h1) = outcomes[1].statistics!
        var length = 1
        while length < images { length *= 2 }
        let log = length.trailingZeroBitCount
        return Report(metric: sensSpec ? "sens-spec" : "auroc", images: images, findings: findings, ringBits: bits, ot: otEngine.rawValue,
                      link: link?.description ?? "lan", setupSeconds: max(outcomes[0].setup, outcomes[1].setup),
                      seconds: max(outcomes[0].end, outcomes[1].end).timeIntervalSince(min(outcomes[0].start, outcomes[1].start)),
                      bytes: (v1.bytesSent - v0.bytesSent) + (h1.bytesSent - h0.bytesSent), rounds: v1.rounds - v0.rounds,
                      vendorCPUSeconds: outcomes[0].cpu, hospitalCPUSeconds: outcomes[1].cpu,
                      compareExchanges: sensSpec ? 0 : 2 * findings * (length / 2) * log * (log + 1) / 2,
                      matchesReference: opened == expected)
    }
}

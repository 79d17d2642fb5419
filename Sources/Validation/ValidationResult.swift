import Compiler
import Engine
import Foundation
import Protocols
import Reference
import RingArithmetic

/// What a completed validation reveals to both parties, plus the session's costs. Written by both
/// commands with `--json FILE`.
public struct ValidationResult: Codable, Sendable, Equatable {
    /// "accuracy", "threshold", "top5" (top-5 accuracy), or "top5-threshold".
    public var metric: String
    /// The opened count of correct predictions (nil when only a threshold bit was revealed).
    public var correct: Int?
    public var total: Int
    public var accuracy: Double?
    public var threshold: Double?
    public var passed: Bool?
    public var seconds: Double
    public var bytesSent: Int
    public var bytesReceived: Int
    public var rounds: Int
    public var ringBits: Int
    public var scale: Int
    public var batch: Int
    public var programDigest: String
    /// The handshake's session id bound to both commitments and the program digest.
    public var sessionID: String
    public var model: String
    public var modelCommitment: String
    public var datasetCommitment: String
    /// This party's time and traffic by phase (linear, nonlinear, local, metric).
    public var profile: EngineProfile?
    /// Batches run at the same time, each on its own connection (1: no pipelining).
    public var lanes: Int?
    /// CPU seconds this party spent in the computation (all its lane threads).
    public var cpuSeconds: Double?
    /// For a resumed run: the validation it continued (the session id of its first run).
    public var resumes: String?
    /// For a resumed run: how many images the checkpoint it continued from already covered (their
    /// share of the count came from the checkpoint; this run computed the rest).
    public var imagesFromCheckpoint: Int?
    /// The OT engine the nonlinear protocols ran on ("silent" or "iknp").
    public var ot: String?
    /// Clinical metrics: the outputs' names (declared findings, or class indices).
    public var findings: [String]?
    /// `auroc`: per finding (per class, one-vs-rest, for a single-label model) the AUROC as
    /// opened, ⌊2^20·AUROC⌋/2^20; null for a finding without positives or negatives.
    public var auroc: [Double?]?
    /// `auroc`: the mean of the defined per-finding values.
    public var macroAUROC: Double?
    /// `auroc threshold:τ`: per finding, whether its opened AUROC is ≥ τ (`threshold`); the
    /// values themselves are not revealed. (`auroc threshold-all:τ` sets `passed` instead.)
    public var aurocPassed: [Bool]?
    /// `sens-spec`: per finding, at the program's thresholds, opened as ⌊2^20·value⌋/2^20.
    public var sensitivity: [Double?]?
    public var specificity: [Double?]?
    /// `confusion`: C×C counts, row = true class, column = prediction.
    public var confusion: [[Int]]?
    /// `predictions`, the hospital's result only: every image's scores in fixed point (images ×
    /// classes, image after image; decode with the result's scale). Not written to JSON: the CLI
    /// writes them to the `--output` file and records its path in `predictionsFile`.
    public var predictions: [Int64]?
    /// `predictions`: the file the hospital's client wrote them to.
    public var predictionsFile: String?
    /// A part of a pool, or the opening of one: the pool's name.
    public var pool: String?
    /// A part of a pool: "I/K" (1-based). Nothing was opened; each party keeps its share.
    public var part: String?
    /// The opening of a pool: how many parts it pooled (`total` is their images together).
    public var parts: Int?
    /// With differential privacy: ε. `correct` and `accuracy` are then the noisy values (the true
    /// count plus each party's discrete Laplace noise of scale 1/ε; possibly below 0 or above N).
    public var dpEpsilon: Double?
    /// `sens-spec` with differential privacy: the noisy counts opened (per finding); `sensitivity`
    /// and `specificity` are TP/P and TN/N of these, clamped to [0, 1] (nil where the noisy P or N ≤ 0).
    public var dpCounts: DPCounts?
    /// The statement both parties signed at the end of the session, with both signatures, when the
    /// hospital asked for one and the exchange succeeded. Not written to the result's JSON: the CLI
    /// writes it with `--report DIR` (`SignedReport.write(to:)`).
    public var report: SignedReport?
    /// Why the hospital asked for a signed report and none was made (a statement that differs
    /// between the parties, a signature that does not verify, a lost connection). The metric was
    /// opened all the same: the rest of the result stands. Not written to JSON.
    public var reportFailure: String?
    /// Seconds the report's exchange took (building, signing, sending, verifying). Not written to JSON.
    public var reportSeconds: Double?

    /// Noisy per-finding counts of a differentially private sens-spec (JSON `dp_counts`).
    public struct DPCounts: Codable, Sendable, Equatable {
        public var truePositives: [Int], trueNegatives: [Int], positives: [Int], negatives: [Int]
        enum CodingKeys: String, CodingKey {
            case truePositives = "true_positives", trueNegatives = "true_negatives", positives, negatives
        }
    }

    enum CodingKeys: String, CodingKey {
        case metric, correct, total, accuracy, threshold, passed, seconds, rounds, scale, batch, model, profile
        case bytesSent = "bytes_sent", bytesReceived = "bytes_received", ringBits = "ring_bits"
        case programDigest = "program_digest", sessionID = "session_id"
        case modelCommitment = "model_commitment", datasetCommitment = "dataset_commitment"
        case resumes, imagesFromCheckpoint = "images_from_checkpoint", lanes, cpuSeconds = "cpu_seconds", ot
        case findings, auroc, macroAUROC = "macro_auroc", sensitivity, specificity, confusion, aurocPassed = "auroc_passed"
        case predictionsFile = "predictions_file"
        case pool, part, parts, dpEpsilon = "dp_epsilon", dpCounts = "dp_counts"
    }

    /// This result with `dpEpsilon` set.
    func withDP(_ epsilon: Double?) -> ValidationResult {
        var result = self
        result.dpEpsilon = epsilon
        return result
    }

    /// Fills the clinical metric's fields from the opened values (`SecureEngine.Opened.values`).
    mutating func setClinical(_ values: [Int64], program: MPCProgram) {
        let c = program.classes
        findings = program.findings
        func ratio(_ q: Int64) -> Double? { OpenedRatio.value(quotient: Int(q)) }
        switch program.metric.scores {
        case .auroc?:
            if case .atLeast(let tau) = program.metric.opening {
                threshold = tau
                if program.metric.allFindings { passed = values.first == 1 } else { aurocPassed = values.map { $0 == 1 } }
                return
            }
            auroc = values.map(ratio)
            macroAUROC = ClinicalMetrics.macroMean(auroc!)
        case .sensSpec? where program.metric.dpMicroEpsilon != nil:
            // Noisy counts (TP, TN, P, N per finding); the ratios are their post-processing.
            let counts = values.map(Int.init)
            dpCounts = DPCounts(truePositives: Array(counts[..<c]), trueNegatives: Array(counts[c..<(2 * c)]),
                                positives: Array(counts[(2 * c)..<(3 * c)]), negatives: Array(counts[(3 * c)...]))
            func clamped(_ a: Int, _ b: Int) -> Double? { b > 0 ? min(max(Double(a) / Double(b), 0), 1) : nil }
            sensitivity = (0..<c).map { clamped(counts[$0], counts[2 * c + $0]) }
            specificity = (0..<c).map { clamped(counts[c + $0], counts[3 * c + $0]) }
        case .sensSpec?:
            sensitivity = values[..<c].map(ratio)
            specificity = values[c...].map(ratio)
        case .predictions?:
            if !values.isEmpty { predictions = values }
        case .confusion?:
            confusion = (0..<c).map { row in (0..<c).map { Int(values[row * c + $0]) } }
            correct = (0..<c).reduce(0) { $0 + confusion![$1][$1] }
            accuracy = Double(correct!) / Double(total)
        case nil:
            break
        }
    }

    /// The human summary.
    public func summary() -> String {
        var lines = metricLines()
        let shape = parts != nil ? "\(total) images in \(parts!) parts (no model runs in the opening)"
                                 : "\(total) images in batches of \(batch)" + ((lanes ?? 1) > 1 ? " on \(lanes!) lanes" : "")
        lines.append(String(format: "model %@, %@, %.1f s (%.1f s CPU), %.1f MB sent, %.1f MB received, %d rounds",
                            model, shape, seconds, cpuSeconds ?? 0, Double(bytesSent) / 1e6, Double(bytesReceived) / 1e6, rounds))
        if let resumes {
            lines.append("resumed validation \(resumes.prefix(16))…: \(imagesFromCheckpoint ?? 0) images counted before the interruption (from the checkpoint), \(total - (imagesFromCheckpoint ?? 0)) in this run")
        }
        lines.append("engine: fixed point ℓ = \(ringBits), s = \(scale)\(ot.map { ", \($0) OT" } ?? ""); program \(programDigest.prefix(16))…; session \(sessionID.prefix(16))…")
        if parts != nil {
            lines.append("commitments: model \(modelCommitment.prefix(16))…, pooled datasets \(datasetCommitment.prefix(16))… (SHA-256 over the parts' salted dataset commitments, in part order)")
        } else {
            lines.append("commitments: model \(modelCommitment.prefix(16))…, dataset \(datasetCommitment.prefix(16))… (salted; an auditor recomputes one with validate-inspect hash --salt, the salt in its owner's ledger)")
        }
        lines.append("fidelity: the secure computation reproduces the plaintext fixed-point reference exactly (checked in the test suite, not at run time: neither party holds both inputs)")
        return lines.joined(separator: "\n")
    }

    /// The summary's first lines: what was opened (or, for a pool's part, that nothing was).
    func metricLines() -> [String] {
        var lines: [String] = []
        if let pool, let part {
            lines.append("part \(part) of pool \(pool) completed: \(total) images; nothing was opened (each party keeps its share of the count until the pool is opened: validate-client pool-open)")
        }
        if let pool, let parts { lines.append("pool \(pool): \(parts) parts, \(total) images together") }
        let name = metric.hasPrefix("top") ? String(metric.prefix { $0 != "-" }) + " accuracy" : "accuracy"
        if let correct, let accuracy, let dpEpsilon {
            let stddev = (2 * DiscreteLaplace(microEpsilon: Metric.dpMicroEpsilon(dpEpsilon) ?? 1).variance).squareRoot()
            lines.append(String(format: "%@ ≈ %.4f (noisy count %d of %d images; ε = %g differential privacy: each party added discrete Laplace noise of scale 1/ε, standard deviation of the sum %.1f images)",
                                name, accuracy, correct, total, dpEpsilon, stddev))
        } else if let correct, let accuracy {
            lines.append(String(format: "%@ = %.4f (%d of %d images correct)", name, accuracy, correct, total))
        } else if let threshold, let passed, !metric.hasPrefix("auroc") {
            lines.append(String(format: "%@ ≥ %.4f: %@ (%d images; the accuracy itself was not revealed)", name, threshold, passed ? "yes" : "no", total))
        }
        let names = findings ?? []
        func value(_ v: Double?) -> String { v.map { String(format: "%.6f", $0) } ?? "undefined (no positives or no negatives)" }
        if let aurocPassed, let threshold {
            lines.append("AUROC ≥ \(threshold) per finding (\(total) images; the AUROCs themselves were not revealed):")
            for (i, v) in aurocPassed.enumerated() { lines.append("  \(i < names.count ? names[i] : String(i)): \(v ? "yes" : "no")") }
        }
        if metric == "auroc-threshold-all", let threshold, let passed {
            lines.append("AUROC ≥ \(threshold) for every finding: \(passed ? "yes" : "no") (\(total) images; nothing else was revealed)")
        }
        if let auroc {
            lines.append("AUROC per finding (\(total) images; exact Mann-Whitney, ties 1/2, opened to 2^-20):")
            for (i, v) in auroc.enumerated() { lines.append("  \(i < names.count ? names[i] : String(i)): \(value(v))") }
            lines.append("  macro mean: \(value(macroAUROC))")
        }
        if let sensitivity, let specificity {
            if let dpEpsilon, dpCounts != nil {
                lines.append("ε = \(dpEpsilon) differential privacy: both parties added discrete Laplace noise of scale 2C/ε to the counts TP, TN, P, N of each finding (dp_counts in the JSON); the ratios below are computed from those noisy counts")
            }
            lines.append("sensitivity / specificity per finding at the program's thresholds (\(total) images):")
            for i in sensitivity.indices {
                lines.append("  \(i < names.count ? names[i] : String(i)): \(value(sensitivity[i])) / \(value(specificity[i]))")
            }
        }
        if metric == "predictions" {
            lines.append(predictionsFile.map { "predictions: every image's \(findings?.count ?? 0) scores, written to \($0) (opened to the hospital only)" }
                         ?? "predictions: opened to the hospital only; this vendor learned the number of images (\(total)) and nothing else")
        }
        if let confusion {
            lines.append("confusion matrix (row = true class, column = prediction):")
            for row in confusion { lines.append("  " + row.map { String(format: "%5d", $0) }.joined()) }
        }
        return lines
    }
}

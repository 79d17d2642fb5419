import Compiler
import Datasets
import IR
import Reference
import RingArithmetic

/// Chooses the fixed-point format (ℓ, s) for a model.
///
/// Only the vendor runs this, on its own model and, when it has them, its own calibration examples —
/// never the hospital's test set, which would leak it. Candidates are tried from the cheapest ring
/// up; a candidate is taken when, on every calibration example, its predictions equal float32's,
/// its largest logit error is below a quarter of the smallest float32 top-2 margin seen (a safety
/// factor for test examples closer to a decision boundary), and the same s with a ring two bits
/// narrower does not overflow (two bits of headroom for inputs the calibration set did not show).
/// A multi-label model has no argmax: a candidate is taken when every score is on the same side of
/// its finding's declared threshold as in float32 and the largest score error is below
/// `multiLabelScoreError` (AUROC compares scores across images, so no margin bounds it), with the
/// same headroom. Scores are the secure program's outputs, before a final Softmax or Sigmoid.
public enum FormatSelection {
    /// A multi-label model's largest accepted score (logit) error: 1/64.
    public static let multiLabelScoreError: Float = 1.0 / 64
    /// Candidates in increasing cost. ℓ ≤ 41 keeps the HE linear layers at N = 4096.
    public static let candidates: [FixedPointFormat] = [(37, 12), (40, 14), (41, 15), (44, 16), (48, 18), (52, 20), (60, 24), (64, 28)]
        .map { try! FixedPointFormat(ringBits: $0.0, scale: $0.1) }

    /// A chosen format and why. `reason` goes into the secure program and so to the hospital: it
    /// names only the route (command line, calibration, default), never the calibration set's
    /// path, size or statistics; `details` says all of that, for the vendor's own output.
    public struct Choice: Sendable, Equatable {
        public var format: FixedPointFormat
        public var reason: String
        public var details: String

        public init(format: FixedPointFormat, reason: String, details: String? = nil) {
            self.format = format
            self.reason = reason
            self.details = details ?? reason
        }
    }

    /// The format a command uses: an explicit (ℓ, s) when given, else the choice on the vendor's
    /// calibration data when given, else the default. The two explicit routes exclude each other
    /// (commands check that before calling).
    public static func resolve(graph: Graph, ringBits: Int?, scale: Int?, calibration: (any Dataset)?) throws -> Choice {
        if let ringBits, let scale {
            return Choice(format: try FixedPointFormat(ringBits: ringBits, scale: scale), reason: "given on the command line")
        }
        if let calibration { return try choose(graph: graph, calibration: calibration) }
        return Choice(format: .standard, reason: "the default (give --calibration to choose from your own data)")
    }

    /// The first candidate that fits the calibration data (at most `limit` examples are used).
    public static func choose(graph: Graph, calibration: any Dataset, limit: Int = 512) throws -> Choice {
        let calibration = try calibration.preparing(for: graph)
        let count = min(calibration.count, limit)
        guard count > 0 else { throw CompilerError.noSuitableFormat("the calibration set is empty") }
        let batch = try calibration.batch(0..<count)
        let float = FloatExecutor(graph: graph)
        // The scores the secure program computes: before a final Softmax/Sigmoid.
        let floatOut = try float.scores(batch.features, batch: count)
        let classes = graph.classCount
        let multiLabel = graph.task == .multiLabel
        let floatPredictions = (0..<count).map { argmax(floatOut[($0 * classes)..<(($0 + 1) * classes)]) }
        let smallestMargin = (0..<count).map { i -> Float in
            let row = floatOut[(i * classes)..<((i + 1) * classes)].sorted(by: >)
            return row.count > 1 ? row[row.startIndex] - row[row.startIndex + 1] : .infinity
        }.min() ?? .infinity
        // Multi-label: each score against its finding's declared threshold (on the score scale).
        let thresholds = (graph.declarations?.thresholds ?? []).map { Float(graph.task.scoreThreshold(declared: $0)) }
        func calledPositive(_ scores: [Float]) -> [Bool] {
            thresholds.count == classes ? scores.indices.map { scores[$0] >= thresholds[$0 % classes] } : []
        }
        let floatCalls = calledPositive(floatOut)
        var rejected: [String] = []
        for candidate in candidates {
            do {
                let fixedOut = try FixedPointExecutor(graph: graph, format: candidate).run(batch.features, batch: count)
                let decoded = fixedOut.map { Float(candidate.decode($0)) }
                let largestError = zip(decoded, floatOut).map { abs($0 - $1) }.max() ?? 0
                if multiLabel {
                    let calls = calledPositive(decoded)
                    let flips = zip(calls, floatCalls).filter { $0 != $1 }.count
                    guard flips == 0 else {
                        rejected.append("\(candidate): \(flips) score(s) fall on the other side of their threshold than in float32")
                        continue
                    }
                    guard largestError < Self.multiLabelScoreError else {
                        rejected.append("\(candidate): score error \(largestError) is not below \(Self.multiLabelScoreError)")
                        continue
                    }
                } else {
                    let disagreements = (0..<count).filter { argmax(fixedOut[($0 * classes)..<(($0 + 1) * classes)]) != floatPredictions[$0] }.count
                    guard disagreements == 0 else {
                        rejected.append("\(candidate): \(disagreements) prediction(s) differ from float32")
                        continue
                    }
                    guard 4 * largestError < smallestMargin else {
                        rejected.append("\(candidate): logit error \(largestError) is not below a quarter of the smallest margin \(smallestMargin)")
                        continue
                    }
                }
                let narrower = try FixedPointFormat(ringBits: candidate.ringBits - 2, scale: candidate.scale)
                _ = try FixedPointExecutor(graph: graph, format: narrower).run(batch.features, batch: count)
                return Choice(format: candidate, reason: "chosen on the vendor's own calibration data",
                              details: "calibration on \(count) example(s) of \(calibration.source): the cheapest format with "
                                  + (multiLabel ? "float32's threshold calls, score errors below \(Self.multiLabelScoreError)" : "float32's predictions, logit errors below a quarter of the smallest margin")
                                  + ", and 2 bits of headroom"
                                  + (rejected.isEmpty ? "" : " (rejected: \(rejected.joined(separator: "; ")))"))
            } catch let error as ReferenceError {
                rejected.append("\(candidate): \(error.description)")
            } catch let error as FixedPointFormatError {
                rejected.append("\(candidate): \(error.description)")
            }
        }
        throw CompilerError.noSuitableFormat(rejected.joined(separator: "; "))
    }
}

import Datasets
import Foundation
import IR
import RingArithmetic

/// A clinical metric of a model on a labelled dataset in the clear, float32 and fixed point side by
/// side (`validate-inspect eval --metric`). The fixed-point values are exactly what a secure
/// validation opens (ratios rounded down to 2^−20, `OpenedRatio`); the float ones show what fixed
/// point costs. Arrays are in output order; an undefined value (a finding without positives or
/// without negatives) is null.
public struct ClinicalEvaluationResult: Sendable, Codable, Equatable {
    /// Values of one executor.
    public struct Values: Sendable, Codable, Equatable {
        public var auroc: [Double?]?
        public var macroAUROC: Double?
        public var sensitivity: [Double?]?
        public var specificity: [Double?]?
        public var confusion: [[Int]]?

        enum CodingKeys: String, CodingKey {
            case auroc
            case macroAUROC = "macro_auroc"
            case sensitivity, specificity, confusion
        }
    }

    public var metric: ScoreMetric
    public var task: ModelTask
    /// Output names (declared findings, or indices).
    public var findings: [String]
    public var total: Int
    /// Labelled positives and negatives per finding (entries of −1 are in neither).
    public var positives: [Int]
    public var negatives: [Int]
    /// `sens-spec`: the thresholds on the declared output scale.
    public var thresholds: [Double]?
    public var float: Values
    public var fixed: Values
    public var ringBits: Int
    public var scale: Int
    /// Fractional bits of the opened (fixed-point) ratios.
    public var ratioBits: Int
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case metric, task, findings, total, positives, negatives, thresholds, float, fixed
        case ringBits = "ring_bits"
        case scale
        case ratioBits = "ratio_bits"
        case seconds
    }
}

/// Why a clinical metric cannot be evaluated (before any computation).
public struct ClinicalMetricError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Evaluator {
    /// Every example's float and fixed-point scores (the secure program's output, before a final
    /// Softmax/Sigmoid) and its labels, then `metric` over them.
    ///
    /// - Parameter thresholds: `sens-spec` operating thresholds on the declared output scale;
    ///   nil takes the model's declared `thresholds`.
    public func evaluate(_ dataset: any Dataset, metric: ScoreMetric, thresholds: [Double]? = nil, batchSize: Int = 32,
                         progress: ((Int, Int) -> Void)? = nil) throws -> ClinicalEvaluationResult {
        let graph = floatExecutor.graph
        let task = graph.task
        let outputs = graph.classCount
        if metric == .predictions {
            throw ClinicalMetricError("predictions are not a metric to evaluate: use validate-inspect infer")
        }
        if metric == .confusion && task == .multiLabel {
            throw ClinicalMetricError("confusion needs a single-label model; this model ends in a Sigmoid (multi-label): use auroc or sens-spec")
        }
        var declared: [Double]?
        if metric == .sensSpec {
            declared = thresholds ?? graph.declarations?.thresholds
            guard let declared else {
                throw ClinicalMetricError("sens-spec needs operating thresholds: the model declares none (ONNX metadata 'thresholds'); give --thresholds with \(outputs) comma-separated values")
            }
            guard declared.count == outputs else {
                throw ClinicalMetricError("sens-spec: \(declared.count) threshold(s) given for \(outputs) output(s)")
            }
            if task == .multiLabel, let bad = declared.first(where: { !($0 > 0 && $0 < 1) }) {
                throw ClinicalMetricError("sens-spec: threshold \(bad) must be a probability strictly between 0 and 1 (the model ends in a Sigmoid)")
            }
        }
        let labelKind: LabelKind = task == .multiLabel ? .findings : .classIndex
        try dataset.validate(inputShape: graph.inputShape, classCount: outputs, labels: labelKind)
        let start = DispatchTime.now()
        var floatScores: [Float] = [], fixedScores: [Int64] = [], labels: [Int] = []
        floatScores.reserveCapacity(dataset.count * outputs)
        fixedScores.reserveCapacity(dataset.count * outputs)
        try dataset.forEachBatch(size: batchSize) { range, batch in
            floatScores += try floatExecutor.scores(batch.features, batch: batch.count)
            fixedScores += try fixedExecutor.run(batch.features, batch: batch.count)
            labels += ClinicalMetrics.findingLabels(batch.labels, task: labelKind, findings: outputs)
            progress?(range.upperBound, dataset.count)
        }
        let n = dataset.count
        func column<T>(_ values: [T], _ c: Int) -> [T] { (0..<n).map { values[$0 * outputs + c] } }
        var float = ClinicalEvaluationResult.Values(), fixed = ClinicalEvaluationResult.Values()
        let counts = (0..<outputs).map { c in column(labels, c).reduce(into: (0, 0)) { if $1 == 1 { $0.0 += 1 } else if $1 == 0 { $0.1 += 1 } } }
        switch metric {
        case .auroc:
            let floatU = (0..<outputs).map { ClinicalMetrics.mannWhitney(scores: column(floatScores, $0), labels: column(labels, $0)) }
            let fixedU = (0..<outputs).map { ClinicalMetrics.mannWhitney(scores: column(fixedScores, $0), labels: column(labels, $0)) }
            float.auroc = floatU.map(\.auroc)
            fixed.auroc = fixedU.map(\.openedAUROC)
            float.macroAUROC = ClinicalMetrics.macroMean(float.auroc!)
            fixed.macroAUROC = ClinicalMetrics.macroMean(fixed.auroc!)
        case .sensSpec:
            var floatPoints: [ClinicalMetrics.OperatingPoint] = [], fixedPoints: [ClinicalMetrics.OperatingPoint] = []
            for c in 0..<outputs {
                let t = try Self.scoreThresholds(declared!, task: task, format: fixedExecutor.format)[c]
                floatPoints.append(ClinicalMetrics.operatingPoint(scores: column(floatScores, c).map(Double.init), labels: column(labels, c), threshold: t.float))
                fixedPoints.append(ClinicalMetrics.operatingPoint(scores: column(fixedScores, c), labels: column(labels, c), threshold: t.fixed))
            }
            float.sensitivity = floatPoints.map(\.sensitivity)
            float.specificity = floatPoints.map(\.specificity)
            fixed.sensitivity = fixedPoints.map(\.openedSensitivity)
            fixed.specificity = fixedPoints.map(\.openedSpecificity)
        case .predictions:
            break
        case .confusion:
            let classLabels = (0..<n).map { i in (0..<outputs).first { labels[i * outputs + $0] == 1 }! }
            let floatPredictions = (0..<n).map { argmax(floatScores[($0 * outputs)..<(($0 + 1) * outputs)]) }
            let fixedPredictions = (0..<n).map { argmax(fixedScores[($0 * outputs)..<(($0 + 1) * outputs)]) }
            float.confusion = ClinicalMetrics.confusion(predictions: floatPredictions, labels: classLabels, classes: outputs)
            fixed.confusion = ClinicalMetrics.confusion(predictions: fixedPredictions, labels: classLabels, classes: outputs)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return ClinicalEvaluationResult(
            metric: metric, task: task, findings: (0..<outputs).map { graph.declarations?.name(ofOutput: $0) ?? String($0) },
            total: n, positives: counts.map(\.0), negatives: counts.map(\.1), thresholds: declared,
            float: float, fixed: fixed, ringBits: fixedExecutor.format.ringBits, scale: fixedExecutor.format.scale,
            ratioBits: OpenedRatio.fractionBits, seconds: seconds)
    }

    /// Declared thresholds as thresholds on the scores: in float (a Double) and in fixed point (the
    /// score threshold encoded at scale s, rounded to nearest; a score x is called positive when
    /// x ≥ it). The secure metric stage uses the same fixed-point values.
    public static func scoreThresholds(_ declared: [Double], task: ModelTask, format: FixedPointFormat) throws -> [(float: Double, fixed: Int64)] {
        try declared.map { t in
            let z = task.scoreThreshold(declared: t)
            guard let fixed = format.encode(z) else {
                throw ClinicalMetricError("threshold \(t) (score \(z)) does not fit the fixed-point format \(format)")
            }
            return (z, fixed)
        }
    }
}

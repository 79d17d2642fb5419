import Datasets
import Foundation
import IR
import RingArithmetic

/// Index of the largest value; the lowest index wins a tie (the secure argmax tree does the same).
@inlinable
public func argmax<T: Comparable>(_ values: ArraySlice<T>) -> Int {
    var best = values.startIndex
    for i in values.indices where values[i] > values[best] { best = i }
    return best - values.startIndex
}

/// Float and fixed-point accuracy of a model on a labelled dataset, computed in the clear by one
/// party holding both (the vendor on its own calibration data, or CI on the bundled sets).
public struct EvaluationResult: Sendable, Codable, Equatable {
    public struct Counts: Sendable, Codable, Equatable {
        public var correct: Int
        public var accuracy: Double
    }

    public var total: Int
    public var float: Counts
    public var fixed: Counts
    /// Fraction of examples where the float and fixed-point predictions are the same class.
    public var agreement: Double
    public var agreementCount: Int
    public var ringBits: Int
    public var scale: Int
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case total, float, fixed, agreement
        case agreementCount = "agreement_count"
        case ringBits = "ring_bits"
        case scale, seconds
    }
}

/// Runs both executors over a dataset in batches.
public struct Evaluator: Sendable {
    public let floatExecutor: FloatExecutor
    public let fixedExecutor: FixedPointExecutor

    public init(graph: Graph, format: FixedPointFormat) throws {
        floatExecutor = FloatExecutor(graph: graph)
        fixedExecutor = try FixedPointExecutor(graph: graph, format: format)
    }

    /// Predictions of both executors for one batch of examples.
    public func predict(_ features: [Float], batch: Int) throws -> (float: [Int], fixed: [Int]) {
        let graph = floatExecutor.graph
        let floatOut = try floatExecutor.run(features, batch: batch)
        let fixedOut = try fixedExecutor.run(features, batch: batch)
        let classes = graph.classCount
        let floatPredictions = (0..<batch).map { argmax(floatOut[($0 * classes)..<(($0 + 1) * classes)]) }
        let fixedPredictions = (0..<batch).map { argmax(fixedOut[($0 * classes)..<(($0 + 1) * classes)]) }
        return (floatPredictions, fixedPredictions)
    }

    /// Checks the dataset against the model, then evaluates it; `progress` gets (done, total) after
    /// each batch.
    public func evaluate(_ dataset: any Dataset, batchSize: Int = 32,
                         progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult {
        let graph = floatExecutor.graph
        try dataset.validate(inputShape: graph.inputShape, classCount: graph.classCount)
        let start = DispatchTime.now()
        var floatCorrect = 0, fixedCorrect = 0, agree = 0
        try dataset.forEachBatch(size: batchSize) { range, batch in
            let (f, q) = try predict(batch.features, batch: batch.count)
            for i in 0..<batch.count {
                if f[i] == batch.labels[i] { floatCorrect += 1 }
                if q[i] == batch.labels[i] { fixedCorrect += 1 }
                if f[i] == q[i] { agree += 1 }
            }
            progress?(range.upperBound, dataset.count)
        }
        let total = dataset.count
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return EvaluationResult(
            total: total,
            float: .init(correct: floatCorrect, accuracy: Double(floatCorrect) / Double(total)),
            fixed: .init(correct: fixedCorrect, accuracy: Double(fixedCorrect) / Double(total)),
            agreement: Double(agree) / Double(total), agreementCount: agree,
            ringBits: fixedExecutor.format.ringBits, scale: fixedExecutor.format.scale, seconds: seconds)
    }
}

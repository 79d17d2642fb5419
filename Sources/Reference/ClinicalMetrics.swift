import Datasets
import Foundation
import RingArithmetic

/// The clinical metrics of a validation, computed in the clear from scores and labels: the exact
/// definitions the secure metric stage reproduces on secret shares.
///
/// Labels per finding are 1 (positive), 0 (negative) or −1 (not labelled: left out of that
/// finding's metric). A single-label model's class c is the finding "label = c" (one-vs-rest).
public enum ClinicalMetrics {
    /// The Mann–Whitney statistic of one finding: with P positives and N negatives,
    /// U = #{(p, n): s_p > s_n} + ½·#{(p, n): s_p = s_n} and AUROC = U / (P·N). Kept as the integer
    /// 2U so that it is exact.
    public struct MannWhitney: Sendable, Equatable {
        public var twiceU: Int
        public var positives: Int
        public var negatives: Int

        /// The exact AUROC (nil without positives or negatives).
        public var auroc: Double? {
            positives == 0 || negatives == 0 ? nil : Double(twiceU) / Double(2 * positives * negatives)
        }

        /// The AUROC as the secure computation opens it (`OpenedRatio`).
        public var openedAUROC: Double? {
            OpenedRatio.value(numerator: twiceU, denominator: 2 * positives * negatives)
        }
    }

    /// 2U over the labelled entries, by sorting: each group of equal scores adds
    /// (its positives)·(2·negatives below it + its negatives).
    public static func mannWhitney<T: Comparable>(scores: [T], labels: [Int]) -> MannWhitney {
        precondition(scores.count == labels.count)
        var labelled = zip(scores, labels).filter { $0.1 == 0 || $0.1 == 1 }
        labelled.sort { $0.0 < $1.0 }
        var result = MannWhitney(twiceU: 0, positives: 0, negatives: 0)
        var start = 0
        while start < labelled.count {
            var end = start
            var groupPositives = 0, groupNegatives = 0
            while end < labelled.count, labelled[end].0 == labelled[start].0 {
                if labelled[end].1 == 1 { groupPositives += 1 } else { groupNegatives += 1 }
                end += 1
            }
            result.twiceU += groupPositives * (2 * result.negatives + groupNegatives)
            result.positives += groupPositives
            result.negatives += groupNegatives
            start = end
        }
        return result
    }

    /// Counts at one operating threshold: an entry is called positive when its score ≥ threshold.
    public struct OperatingPoint: Sendable, Equatable {
        public var truePositives: Int
        public var positives: Int
        public var trueNegatives: Int
        public var negatives: Int

        public var sensitivity: Double? { positives == 0 ? nil : Double(truePositives) / Double(positives) }
        public var specificity: Double? { negatives == 0 ? nil : Double(trueNegatives) / Double(negatives) }
        /// As the secure computation opens them (`OpenedRatio`).
        public var openedSensitivity: Double? { OpenedRatio.value(numerator: truePositives, denominator: positives) }
        public var openedSpecificity: Double? { OpenedRatio.value(numerator: trueNegatives, denominator: negatives) }
    }

    public static func operatingPoint<T: Comparable>(scores: [T], labels: [Int], threshold: T) -> OperatingPoint {
        precondition(scores.count == labels.count)
        var point = OperatingPoint(truePositives: 0, positives: 0, trueNegatives: 0, negatives: 0)
        for (score, label) in zip(scores, labels) {
            switch label {
            case 1:
                point.positives += 1
                if score >= threshold { point.truePositives += 1 }
            case 0:
                point.negatives += 1
                if score < threshold { point.trueNegatives += 1 }
            default: break
            }
        }
        return point
    }

    /// The C×C confusion matrix of a single-label model: row = true class, column = prediction.
    public static func confusion(predictions: [Int], labels: [Int], classes: Int) -> [[Int]] {
        var matrix = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (p, l) in zip(predictions, labels) { matrix[l][p] += 1 }
        return matrix
    }

    /// The per-finding labels (row-major, `findings` per example) of a batch's labels: multi-label
    /// rows as they are; a class index c becomes one-hot over the classes (one-vs-rest).
    public static func findingLabels(_ labels: [Int], task: LabelKind, findings: Int) -> [Int] {
        switch task {
        case .findings: return labels
        case .classIndex:
            var out = [Int](repeating: 0, count: labels.count * findings)
            for (i, c) in labels.enumerated() { out[i * findings + c] = 1 }
            return out
        }
    }

    /// The mean of the defined values (nil when none is defined), summed in output order.
    public static func macroMean(_ values: [Double?]) -> Double? {
        let defined = values.compactMap { $0 }
        return defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
    }
}

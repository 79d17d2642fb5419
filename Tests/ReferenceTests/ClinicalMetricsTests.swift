import Datasets
import Foundation
import IR
import ONNX
import RingArithmetic
import Testing
@testable import Reference

/// Deterministic pseudo-random integers for test data (not for anything secret).
struct TestSequence {
    var state: UInt64
    mutating func next(_ bound: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(bound))
    }
}

@Suite("Clinical metrics in the clear")
struct ClinicalMetricsTests {
    /// 2U by all pairs: the definition.
    static func pairwiseTwiceU(_ scores: [Int], _ labels: [Int]) -> Int {
        var u = 0
        for (sp, lp) in zip(scores, labels) where lp == 1 {
            for (sn, ln) in zip(scores, labels) where ln == 0 { u += sp > sn ? 2 : (sp == sn ? 1 : 0) }
        }
        return u
    }

    @Test("Mann–Whitney 2U by sorting equals all pairs, with many ties and unlabelled entries", arguments: [1, 2, 7, 40, 333])
    func mannWhitneyMatchesPairs(count: Int) {
        var random = TestSequence(state: UInt64(count))
        let scores = (0..<count).map { _ in random.next(9) - 4 }
        let labels = (0..<count).map { _ in random.next(3) - 1 }
        let u = ClinicalMetrics.mannWhitney(scores: scores, labels: labels)
        #expect(u.twiceU == Self.pairwiseTwiceU(scores, labels))
        #expect(u.positives == labels.filter { $0 == 1 }.count && u.negatives == labels.filter { $0 == 0 }.count)
        if let auroc = u.auroc, let opened = u.openedAUROC {
            #expect(opened <= auroc && auroc - opened < 1.0 / Double(1 << OpenedRatio.fractionBits))
        } else {
            #expect(u.positives == 0 || u.negatives == 0)
        }
    }

    @Test("AUROC edge cases: perfect, reversed, all tied, no negatives")
    func aurocEdges() {
        #expect(ClinicalMetrics.mannWhitney(scores: [1, 2, 3, 4], labels: [0, 0, 1, 1]).auroc == 1)
        #expect(ClinicalMetrics.mannWhitney(scores: [4, 3, 2, 1], labels: [0, 0, 1, 1]).auroc == 0)
        #expect(ClinicalMetrics.mannWhitney(scores: [5, 5, 5, 5], labels: [0, 1, 1, 0]).auroc == 0.5)
        #expect(ClinicalMetrics.mannWhitney(scores: [1, 2, 3], labels: [1, 1, -1]).auroc == nil)
        #expect(ClinicalMetrics.mannWhitney(scores: [1, 2, 3], labels: [1, 1, -1]).openedAUROC == nil)
        // 2/3 is opened rounded down to 2^-20.
        #expect(OpenedRatio.value(numerator: 2, denominator: 3) == Double((2 << 20) / 3) / Double(1 << 20))
        #expect(OpenedRatio.value(quotient: (1 << 21) - 1) == nil)
    }

    @Test("operating point: called positive at score ≥ threshold; −1 entries left out")
    func operatingPoint() {
        let p = ClinicalMetrics.operatingPoint(scores: [1, 2, 3, 4, 5], labels: [0, 1, 1, 0, -1], threshold: 2)
        #expect(p == .init(truePositives: 2, positives: 2, trueNegatives: 1, negatives: 2))
        #expect(p.sensitivity == 1 && p.specificity == 0.5 && p.openedSpecificity == 0.5)
    }

    @Test("one-vs-rest labels and the confusion matrix")
    func oneVsRest() {
        #expect(ClinicalMetrics.findingLabels([2, 0], task: .classIndex, findings: 3) == [0, 0, 1, 1, 0, 0])
        #expect(ClinicalMetrics.confusion(predictions: [2, 0, 0], labels: [2, 1, 0], classes: 3) == [[1, 0, 0], [1, 0, 0], [0, 0, 1]])
        #expect(ClinicalMetrics.macroMean([0.5, nil, 1]) == 0.75)
        #expect(ModelTask.multiLabel.scoreThreshold(declared: 0.5) == 0)
        #expect(ModelTask.singleLabel.scoreThreshold(declared: 0.5) == 0.5)
    }

    @Test("eval of the bundled digits model: per-class AUROC in float and fixed point, and the confusion matrix's diagonal is the correct count")
    func bundledDigits() throws {
        let graph = try ONNXImporter.loadGraph(path: repositoryPath("Models/densenet-digits.onnx"))
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let evaluator = try Evaluator(graph: graph, format: format)
        let data = try openDataset(path: repositoryPath("Datasets/digits-test"))
        let auroc = try evaluator.evaluate(data, metric: .auroc)
        #expect(auroc.findings == (0..<10).map(String.init) && auroc.task == .singleLabel)
        #expect(auroc.positives.reduce(0, +) == 360 && auroc.negatives.reduce(0, +) == 9 * 360)
        for (f, q) in zip(auroc.float.auroc!, auroc.fixed.auroc!) { #expect(abs(f! - q!) < 1e-3 && f! > 0.99) }
        let confusion = try evaluator.evaluate(data, metric: .confusion)
        let accuracy = try evaluator.evaluate(data)
        #expect((0..<10).map { confusion.fixed.confusion![$0][$0] }.reduce(0, +) == accuracy.fixed.correct)
        #expect(throws: ClinicalMetricError.self) { try evaluator.evaluate(data, metric: .sensSpec) }
    }
}

/// The bundled multi-label example (Scripts/train_multilabel.py): a final Sigmoid, four findings,
/// labels with −1 entries.
@Suite("Bundled multi-label model")
struct BundledMultiLabelTests {
    struct Expected: Decodable {
        struct Finding: Decodable { var name: String; var threshold: Double; var auroc: Double; var positives: Int; var negatives: Int
            var sensitivity: Double; var specificity: Double }
        var total: Int
        var findings: [Finding]
    }

    @Test("imports as multi-label with its declared findings and thresholds; float scores equal onnxruntime's logits; float AUROC and sens/spec equal scikit-learn's")
    func densenetFindings() throws {
        let graph = try ONNXImporter.loadGraph(path: repositoryPath("Models/densenet-digits-findings.onnx"))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath:
            repositoryPath("Tests/Fixtures/models/densenet-digits-findings.expected.json"))))
        #expect(graph.task == .multiLabel && graph.classCount == 4)
        #expect(graph.declarations?.findings == expected.findings.map(\.name))
        #expect(graph.declarations?.thresholds == expected.findings.map(\.threshold))
        let data = try openDataset(path: repositoryPath("Datasets/digits-findings-test"))
        #expect(data.labelWidth == 4 && data.count == expected.total)
        let batch = try data.batch(0..<data.count)
        let scores = try FloatExecutor(graph: graph).scores(batch.features, batch: data.count)
        let ort = try readFloatArray(repositoryPath("Tests/Fixtures/models/densenet-digits-findings.ort-outputs.npy"))
        #expect(ort.shape == [360, 4])
        #expect(zip(scores, ort.elements).allSatisfy { abs($0 - $1) <= 1e-4 })

        let evaluator = try Evaluator(graph: graph, format: try FixedPointFormat(ringBits: 37, scale: 12))
        let auroc = try evaluator.evaluate(data, metric: .auroc)
        let points = try evaluator.evaluate(data, metric: .sensSpec)
        #expect(auroc.findings == expected.findings.map(\.name))
        for (c, finding) in expected.findings.enumerated() {
            #expect(auroc.positives[c] == finding.positives && auroc.negatives[c] == finding.negatives)
            #expect(abs(auroc.float.auroc![c]! - finding.auroc) < 1e-9)
            #expect(abs(auroc.fixed.auroc![c]! - finding.auroc) < 1e-3, "fixed point changes few orderings")
            #expect(abs(points.float.sensitivity![c]! - finding.sensitivity) < 1e-12 && abs(points.float.specificity![c]! - finding.specificity) < 1e-12)
        }
        #expect(throws: ClinicalMetricError.self) { try evaluator.evaluate(data, metric: .confusion) }
    }
}

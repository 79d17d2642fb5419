import Compiler
import Datasets
import Foundation
import IR
import ONNX
import Reference
import RingArithmetic
import Testing
@testable import Validation
import TestSupport

/// Clinical metrics end to end: both parties' opened values equal `validate-inspect eval`'s
/// fixed-point column (the `Evaluator`) exactly.
@Suite("End-to-end clinical metrics (in process, real OT and HE)")
struct ClinicalValidationTests {
    static let allClinical: Set<MetricPermission> = [.accuracy, .scores(.auroc), .scores(.sensSpec), .scores(.confusion)]

    func run(_ graph: Graph, _ format: FixedPointFormat, _ data: any Dataset, metric: ScoreMetric, ot: OTEngine = .silent,
             thresholds: [Double]? = nil, batch: Int = 64) throws -> (vendor: ValidationResult, hospital: ValidationResult) {
        let server = try ValidationServer(modelName: "m", graph: graph, format: format, formatReason: "test",
                                          policy: .init(minimumImages: 10, allowedMetrics: Self.allClinical), otEngine: ot)
        let asked = thresholds.map { Metric.sensSpec(thresholds: $0) } ?? Metric(scores: metric)
        let client = try ValidationClient(dataset: data, metric: asked, batch: batch, otEngine: ot)
        let (v, h) = runValidation(server: server, client: client)
        return (try v.get(), try h.get())
    }

    @Test("breast-cancer MLP: per-class AUROC, sensitivity/specificity at the hospital's thresholds and the confusion matrix equal the fixed-point reference",
          arguments: OTEngine.allCases)
    func mlp(ot: OTEngine) throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let evaluator = try Evaluator(graph: graph, format: format)

        let auroc = try run(graph, format, data, metric: .auroc, ot: ot)
        let expected = try evaluator.evaluate(data, metric: .auroc)
        for result in [auroc.vendor, auroc.hospital] {
            #expect(result.metric == "auroc" && result.findings == ["0", "1"])
            #expect(result.auroc == expected.fixed.auroc && result.macroAUROC == expected.fixed.macroAUROC)
            #expect(result.correct == nil && result.accuracy == nil && result.sensitivity == nil)
        }

        guard ot == .silent else { return }  // the other metrics' protocols are tested on both engines in ProtocolsTests
        let thresholds = [0.5, -1.25]
        let sensSpec = try run(graph, format, data, metric: .sensSpec, ot: ot, thresholds: thresholds)
        let expectedPoints = try evaluator.evaluate(data, metric: .sensSpec, thresholds: thresholds)
        for result in [sensSpec.vendor, sensSpec.hospital] {
            #expect(result.sensitivity == expectedPoints.fixed.sensitivity && result.specificity == expectedPoints.fixed.specificity)
        }

        let confusion = try run(graph, format, data, metric: .confusion, ot: ot)
        let expectedMatrix = try evaluator.evaluate(data, metric: .confusion)
        #expect(confusion.hospital.confusion == expectedMatrix.fixed.confusion && confusion.vendor.confusion == expectedMatrix.fixed.confusion)
        #expect(confusion.hospital.correct == (try evaluator.evaluate(data)).fixed.correct)
    }

    @Test("densenet-digits: one-vs-rest AUROC of 40 images over HE and OT equals the reference (scores stay shared across batches)")
    func densenet() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"))
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let data = Prefix(base: try openDataset(path: path("Datasets/digits-test")), count: 40)
        let result = try run(graph, format, data, metric: .auroc, batch: 16)
        let expected = try Evaluator(graph: graph, format: format).evaluate(data, metric: .auroc)
        #expect(result.hospital.auroc == expected.fixed.auroc && result.vendor.auroc == expected.fixed.auroc)
        #expect(result.hospital.auroc?.count == 10)
    }

    @Test("a clinical metric the vendor does not allow, and sens-spec without thresholds, are refused before any computation")
    func refusals() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let server = try ValidationServer(modelName: "m", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10))
        let client = try ValidationClient(dataset: data, metric: Metric(scores: .auroc), batch: 64)
        let (v, h) = runValidation(server: server, client: client)
        for outcome in [v, h] {
            #expect { try outcome.get() } throws: { "\($0)".contains("'auroc' is not allowed") }
        }
        let noThresholds = try ValidationClient(dataset: data, metric: Metric(scores: .sensSpec), batch: 64)
        let allowing = try ValidationServer(modelName: "m", graph: graph, format: format, formatReason: "test",
                                            policy: .init(minimumImages: 10, allowedMetrics: Self.allClinical))
        let (_, h2) = runValidation(server: allowing, client: noThresholds)
        #expect { try h2.get() } throws: { "\($0)".contains("sens-spec needs operating thresholds") }
    }

    @Test("predictions: the hospital gets every image's fixed-point scores, the vendor nothing but the count of images; the vendor must allow them")
    func predictions() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let server = try ValidationServer(modelName: "m", graph: graph, format: format, formatReason: "test",
                                          policy: .init(minimumImages: 10, allowedMetrics: [.scores(.predictions)]))
        let client = try ValidationClient(dataset: data, metric: Metric(scores: .predictions), batch: 64)
        let (v, h) = runValidation(server: server, client: client)
        let vendor = try v.get(), hospital = try h.get()
        let batch = try data.batch(0..<data.count)
        #expect(hospital.predictions == (try FixedPointExecutor(graph: graph, format: format).run(batch.features, batch: data.count)))
        #expect(vendor.predictions == nil && vendor.total == 143 && vendor.metric == "predictions")
        #expect(vendor.auroc == nil && vendor.correct == nil && vendor.confusion == nil)

        let refusing = try ValidationServer(modelName: "m", graph: graph, format: format, formatReason: "test",
                                            policy: .init(minimumImages: 10, allowedMetrics: Self.allClinical))
        let (_, h2) = runValidation(server: refusing, client: client)
        #expect { try h2.get() } throws: { "\($0)".contains("'predictions' is not allowed") }
    }

    @Test("the bundled multi-label model: per-finding AUROC and sens/spec at the declared thresholds equal the reference; accuracy and one-label-per-image sets are refused before any computation")
    func multiLabel() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits-findings.onnx"))
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let data = Prefix(base: try openDataset(path: path("Datasets/digits-findings-test")), count: 48)
        let evaluator = try Evaluator(graph: graph, format: format)
        let auroc = try run(graph, format, data, metric: .auroc, batch: 16)
        let expected = try evaluator.evaluate(data, metric: .auroc)
        #expect(auroc.hospital.findings == ["even", "five_or_more", "closed_loop", "prime"])
        #expect(auroc.hospital.auroc == expected.fixed.auroc && auroc.vendor.auroc == expected.fixed.auroc)
        #expect(auroc.hospital.macroAUROC == expected.fixed.macroAUROC)
        let points = try run(graph, format, data, metric: .sensSpec, batch: 48)
        let expectedPoints = try evaluator.evaluate(data, metric: .sensSpec)
        #expect(points.hospital.sensitivity == expectedPoints.fixed.sensitivity && points.hospital.specificity == expectedPoints.fixed.specificity)

        let server = try ValidationServer(modelName: "m", graph: graph, format: format, formatReason: "test",
                                          policy: .init(minimumImages: 10, allowedMetrics: Self.allClinical))
        let (_, h) = runValidation(server: server, client: try ValidationClient(dataset: data, batch: 48))
        #expect { try h.get() } throws: { "\($0)".contains("needs a single-label model") }
        let singleLabels = Prefix(base: try openDataset(path: path("Datasets/digits-test")), count: 48)
        let (_, h2) = runValidation(server: server, client: try ValidationClient(dataset: singleLabels, metric: Metric(scores: .auroc), batch: 48))
        #expect { try h2.get() } throws: { "\($0)".contains("the labels have 1 per example") }
    }

    @Test("an AUROC validation cut after batch 4 and resumed opens the uninterrupted values: the checkpoints hold every image's shared scores")
    func resumeKeepsScores() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let server = try ValidationServer(modelName: "m", graph: graph, format: format, formatReason: "test",
                                          policy: .init(minimumImages: 10, allowedMetrics: Self.allClinical))
        let client = try ValidationClient(dataset: data, metric: Metric(scores: .auroc), batch: 16)
        let vendorJournal = MemoryJournal(), hospitalJournal = MemoryJournal()
        hospitalJournal.failAtBatch = 4
        _ = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: hospitalJournal)
        let validation = try #require(hospitalJournal.starts.first?.sessionID)
        #expect(hospitalJournal.saved[validation]?[3]?.count == 1 + 8 * 64 * 2, "64 images × 2 scores after batch 3")
        hospitalJournal.failAtBatch = nil
        let (v, h) = runSession(server, client, vendorJournal: vendorJournal, hospitalJournal: hospitalJournal, resume: validation)
        let expected = try Evaluator(graph: graph, format: format).evaluate(data, metric: .auroc)
        #expect(try h.get().auroc == expected.fixed.auroc && (try v.get().auroc) == expected.fixed.auroc)
        #expect(try h.get().imagesFromCheckpoint == 64)
    }

    @Test("an AUROC threshold opens one bit per finding (or one for all) that equals the reference's opened AUROC ≥ τ, and no AUROC")
    func aurocThreshold() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let reference = try Evaluator(graph: graph, format: format).evaluate(data, metric: .auroc).fixed.auroc!.map { $0! }
        let tau = (reference[0] + reference[1]) / 2  // between the two classes' values
        let server = try ValidationServer(modelName: "m", graph: graph, format: format, formatReason: "test",
                                          policy: .init(minimumImages: 10, allowedMetrics: Self.allClinical))
        for (metric, expected) in [(Metric.aurocAtLeast(tau), reference.map { $0 >= tau }), (.aurocAtLeast(0.5, allFindings: true), [true]),
                                   (.aurocAtLeast(tau, allFindings: true), [false])] {
            let (v, h) = runValidation(server: server, client: try ValidationClient(dataset: data, metric: metric, batch: 143))
            for result in [try v.get(), try h.get()] {
                #expect(result.auroc == nil && result.macroAUROC == nil && result.threshold == metric.openingThreshold)
                if metric.allFindings { #expect(result.passed == expected[0] && result.aurocPassed == nil) }
                else { #expect(result.aurocPassed == expected) }
                #expect(result.metric == (metric.allFindings ? "auroc-threshold-all" : "auroc-threshold"))
            }
        }
        #expect(Metric("auroc threshold:0.8") == .aurocAtLeast(0.8) && Metric("auroc threshold-all:0.8") == .aurocAtLeast(0.8, allFindings: true))
        // The hospital's sens-spec thresholds are part of the metric's text form (the ledger keeps them for a resume).
        let chosen = Metric.sensSpec(thresholds: [0.5, -1.25])
        #expect(chosen.description == "sens-spec thresholds:0.5,-1.25" && Metric(chosen.description) == chosen)
        #expect(chosen.permission == .scores(.sensSpec) && chosen.resultName == "sens-spec")
        #expect(Metric("sens-spec thresholds:0.5,x") == nil && Metric("sens-spec thresholds:") == nil)
        #expect(Metric.aurocAtLeast(0.8).description == "auroc threshold:0.8" && Metric.aurocAtLeast(0.8).permission == .scores(.auroc))
    }

    @Test("clinical metrics' text forms and permissions")
    func textForms() throws {
        for text in ["auroc", "sens-spec", "confusion", "predictions"] {
            let metric = try #require(Metric(text))
            #expect(metric.description == text && metric.resultName == text && metric.permission.description == text)
            #expect(MetricPermission(text) == metric.permission)
        }
    }
}

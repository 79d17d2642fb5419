import ArgumentParser
import Datasets
import Foundation
import IR
import Reference

/// `validate-inspect eval MODEL DATASET`: float32 and fixed-point accuracy in the clear.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Compute a model's float32 and fixed-point accuracy (or AUROC, sensitivity/specificity, confusion matrix) on a labelled dataset, in the clear.",
        discussion: """
            Runs the model twice on every example: in float32 (the reference to compare with \
            onnxruntime) and in fixed point over Z_2^ℓ with scale s, exactly as the secure engine \
            computes it. Reports correct counts, accuracies and how often the two predictions agree. \
            A fixed-point value that would overflow the ring stops the run with the node at fault.
            DATASET is a folder with inputs.npy and labels.npy, or a CSV file (label first). \
            A model that ends in a Sigmoid is multi-label: its labels.npy has shape N × findings, \
            each entry 1, 0, or -1 for "not labelled" (left out of that finding's metric).

            --metric auroc|sens-spec|confusion computes a clinical metric from every example's \
            scores (the outputs before a final Softmax/Sigmoid): the fixed-point column is exactly \
            what a secure validation with that metric opens (ratios rounded down to 2^-20), the \
            float column shows what fixed point costs. AUROC is the exact Mann-Whitney statistic \
            (ties count 1/2), per finding (per class, one-vs-rest, for a single-label model), and \
            the macro mean over the findings that have both positives and negatives.
            """)

    @Argument(help: "The ONNX model file.")
    var model: String

    @Argument(help: "The dataset: a folder with inputs.npy and labels.npy, a folder of PNG/JPEG/DICOM images with labels.csv (preprocessed as the model declares), or a .csv file (label first).")
    var dataset: String

    @OptionGroup var fixedPoint: FixedPointOptions

    @Option(name: .customLong("label-columns"), help: "A .csv DATASET for a multi-label model: its first C columns are the labels, one per finding (1, 0, or -1 for not labelled).")
    var labelColumns: Int = 1

    @Option(help: "Examples per batch.")
    var batch: Int = 32

    @Option(help: ArgumentHelp("What to compute: accuracy (argmax counts, the default), auroc, sens-spec or confusion (single-label models).",
                               valueName: "metric"))
    var metric: String = "accuracy"

    @Option(help: ArgumentHelp("sens-spec: operating thresholds, one per output, comma-separated, on the model's output scale (probabilities after a final Sigmoid); default: the model's metadata 'thresholds'.",
                               valueName: "t1,t2,…"))
    var thresholds: String?

    @Option(help: "Also write the result as JSON to this file (keys total, float.correct, float.accuracy, fixed.correct, fixed.accuracy, agreement, …; with --metric: metric, findings, float.auroc, fixed.auroc, float.macro_auroc, float.sensitivity, float.specificity, float.confusion, … as arrays in output order).")
    var json: String?

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive, got \(batch)") }
        guard metric == "accuracy" || (ScoreMetric(rawValue: metric) != nil && metric != "predictions") else {
            throw ValidationError("--metric must be accuracy, auroc, sens-spec or confusion, got '\(metric)'")
        }
        if thresholds != nil && metric != "sens-spec" { throw ValidationError("--thresholds applies only to --metric sens-spec") }
        _ = try parsedThresholds()
    }

    func parsedThresholds() throws -> [Double]? {
        guard let thresholds else { return nil }
        return try thresholds.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let t = Double($0.trimmingCharacters(in: .whitespaces)), t.isFinite else {
                throw ValidationError("--thresholds: '\($0)' is not a number")
            }
            return t
        }
    }

    func run() throws {
        let format = try fixedPoint.format()
        let graph = try loadModel(model)
        let data = try openDataset(path: dataset, labelColumns: labelColumns).preparing(for: graph)
        if graph.task == .multiLabel && ScoreMetric(rawValue: metric) == nil {
            throw ValidationError("\(model) is multi-label (it ends in a Sigmoid): accuracy needs a single-label model; use --metric auroc or sens-spec")
        }
        let evaluator = try Evaluator(graph: graph, format: format)
        let progress = ProgressReporter("eval")
        if let scoreMetric = ScoreMetric(rawValue: metric) {
            let result: ClinicalEvaluationResult
            do {
                result = try evaluator.evaluate(data, metric: scoreMetric, thresholds: try parsedThresholds(), batchSize: batch) {
                    progress.update(done: $0, total: $1)
                }
            } catch let error as ClinicalMetricError {
                throw ValidationError("\(model): \(error.description)")
            }
            printClinical(result, format: "\(format)")
            if let json { try writeJSON(result, to: json) }
            return
        }
        let result = try evaluator.evaluate(data, batchSize: batch) { progress.update(done: $0, total: $1) }
        let name = (model as NSString).lastPathComponent
        func line(_ label: String, _ c: EvaluationResult.Counts) -> String {
            String(format: "  %@ %d/%d correct, accuracy %.4f", label, c.correct, result.total, c.accuracy)
        }
        print("\(name) on \(dataset) (\(result.total) examples)")
        print(line("float32:    ", result.float))
        print(line("fixed point:", result.fixed) + " (\(format))")
        print(String(format: "  agreement:   %d/%d predictions identical (%.4f); %.2f s", result.agreementCount, result.total,
                     result.agreement, result.seconds))
        if let json { try writeJSON(result, to: json) }
    }

    private func printClinical(_ r: ClinicalEvaluationResult, format: String) {
        let name = (model as NSString).lastPathComponent
        print("\(name) on \(dataset) (\(r.total) examples, \(r.task.rawValue), \(r.metric.rawValue); fixed point \(format), ratios to 2^-\(r.ratioBits))")
        func cell(_ v: Double??) -> String { (v ?? nil).map { String(format: "%.6f", $0) } ?? "—" }
        let width = max(8, r.findings.map(\.count).max() ?? 0)
        func pad(_ s: String) -> String { s.padding(toLength: width, withPad: " ", startingAt: 0) }
        switch r.metric {
        case .auroc:
            print("  \(pad("finding"))  pos   neg   float AUROC  fixed AUROC")
            for (c, finding) in r.findings.enumerated() {
                print("  \(pad(finding))  " + String(format: "%-5d %-5d ", r.positives[c], r.negatives[c])
                      + "\(cell(r.float.auroc?[c]))     \(cell(r.fixed.auroc?[c]))")
            }
            print("  \(pad("macro"))              \(cell(r.float.macroAUROC))     \(cell(r.fixed.macroAUROC))")
        case .sensSpec:
            print("  \(pad("finding"))  threshold  float sens  float spec  fixed sens  fixed spec")
            for (c, finding) in r.findings.enumerated() {
                print("  \(pad(finding))  " + String(format: "%-9g  ", r.thresholds?[c] ?? .nan)
                      + "\(cell(r.float.sensitivity?[c]))    \(cell(r.float.specificity?[c]))    \(cell(r.fixed.sensitivity?[c]))    \(cell(r.fixed.specificity?[c]))")
            }
        case .predictions:
            break
        case .confusion:
            for (label, matrix) in [("float32", r.float.confusion), ("fixed point", r.fixed.confusion)] {
                print("  \(label) (row = true class, column = prediction):")
                for row in matrix ?? [] { print("    " + row.map { String(format: "%5d", $0) }.joined()) }
            }
        }
        print(String(format: "  %.2f s", r.seconds))
    }
}

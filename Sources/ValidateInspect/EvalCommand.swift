import ArgumentParser
import Datasets
import Foundation
import Reference

/// `validate-inspect eval MODEL DATASET`: float32 and fixed-point accuracy in the clear.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Compute a model's float32 and fixed-point accuracy on a labelled dataset, in the clear.",
        discussion: """
            Runs the model twice on every example: in float32 (the reference to compare with \
            onnxruntime) and in fixed point over Z_2^ℓ with scale s, exactly as the secure engine \
            computes it. Reports correct counts, accuracies and how often the two predictions agree. \
            A fixed-point value that would overflow the ring stops the run with the node at fault.
            DATASET is a folder with inputs.npy and labels.npy, or a CSV file (label first).
            """)

    @Argument(help: "The ONNX model file.")
    var model: String

    @Argument(help: "The dataset: a folder with inputs.npy and labels.npy, or a .csv file (label first).")
    var dataset: String

    @OptionGroup var fixedPoint: FixedPointOptions

    @Option(help: "Examples per batch.")
    var batch: Int = 32

    @Option(help: "Also write the result as JSON to this file (keys total, float.correct, float.accuracy, fixed.correct, fixed.accuracy, agreement, …).")
    var json: String?

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive, got \(batch)") }
    }

    func run() throws {
        let format = try fixedPoint.format()
        let graph = try loadModel(model)
        let data = try openDataset(path: dataset)
        let evaluator = try Evaluator(graph: graph, format: format)
        let progress = ProgressReporter("eval")
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
}

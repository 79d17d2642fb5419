import ArgumentParser
import Foundation

/// `validate-inspect plan MODEL.onnx`: the IR after import and passes, one line per op with the
/// protocol class the secure engine will use.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print the protocol plan of a model: every op with its shapes, work and protocol class.",
        discussion: """
            Imports the ONNX model (constant folding, BatchNorm folding, dead-node removal), then lists \
            each remaining op with its input and output shapes (per example, without the batch \
            dimension), multiply-accumulates, comparisons and divisions, and the protocol class it gets: \
            linear-HE (weights × shared activation under homomorphic encryption, then truncation), \
            comparison (ReLU, Clip, MaxPool), division (average pooling), local (additions, data \
            movement) or dropped (a final Softmax, which does not change the argmax).
            """)

    @Argument(help: "The ONNX model file.")
    var model: String

    @Option(help: "Also write the plan as JSON to this file.")
    var json: String?

    func run() throws {
        let graph = try loadModel(model)
        let report = PlanReport(model: (model as NSString).lastPathComponent, graph: graph)
        print(report.render())
        if let json { try writeJSON(report, to: json) }
    }
}

import ArgumentParser
import Datasets
import Foundation
import IR
import Reference

/// `validate-inspect infer MODEL INPUT.npy --output OUT.npy`: the model's outputs for a batch.
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run a model on a batch of inputs from a .npy file and save its outputs as .npy.",
        discussion: """
            INPUT.npy holds float32 (or float64) values of shape [N, …the model's input shape]. The \
            output file gets float32 values of shape [N, …the model's output shape]: the model's exact \
            outputs, a final Softmax included. With --fixed the network runs in fixed point (as the \
            secure engine computes it) and the outputs are decoded back to reals.
            """)

    @Argument(help: "The ONNX model file (one input tensor).")
    var model: String

    @Argument(help: "The input batch as .npy, shape [N, …the model's input shape].")
    var input: String

    @Option(help: "Where to write the outputs (.npy).")
    var output: String

    @Flag(help: "Compute in fixed point over Z_2^ℓ instead of float32.")
    var fixed = false

    @OptionGroup var fixedPoint: FixedPointOptions

    @Flag(help: "Replace the output file if it exists.")
    var force = false

    func run() throws {
        if FileManager.default.fileExists(atPath: output) && !force {
            throw CLIError("\(output) already exists; pass --force to replace it")
        }
        let graph = try loadModel(model)
        let file = try NPYReader(path: input)
        let shape = file.header.shape
        guard shape.count == graph.inputShape.count + 1, Array(shape.dropFirst()) == graph.inputShape else {
            throw CLIError("\(input): shape \(Shape.describe(shape)) does not match the model's input [N, \(graph.inputShape.map(String.init).joined(separator: ", "))]")
        }
        let batch = shape[0]
        let values = try file.readAllFloats().elements
        let outputs: [Float]
        if fixed {
            outputs = try FixedPointExecutor(graph: graph, format: fixedPoint.format()).runDecoded(values, batch: batch)
        } else {
            outputs = try FloatExecutor(graph: graph).run(values, batch: batch)
        }
        try NPYWriter.write(float32: outputs, shape: [batch] + graph.outputShape, to: output)
        note("wrote \(batch) output(s) of shape \(Shape.describe(graph.outputShape)) to \(output)")
    }
}

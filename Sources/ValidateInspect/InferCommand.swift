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
            secure engine computes it) and the outputs are decoded back to reals. With --compare the \
            outputs are also checked against reference outputs of the same shape (for example \
            onnxruntime's): the command fails, saying where, if any value differs by more than \
            --tolerance.
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

    @Option(help: ArgumentHelp("Reference outputs (.npy, float32 or float64) to check the outputs against.", valueName: "reference.npy"))
    var compare: String?

    @Option(help: "With --compare: the largest absolute difference allowed between an output and its reference.")
    var tolerance: Float = 1e-4

    func validate() throws {
        guard tolerance >= 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a finite number ≥ 0, got \(tolerance)") }
    }

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
        if let compare {
            let reference = try NPYReader(path: compare).readAllFloats()
            let comparison = try OutputComparison(outputs, shape: [batch] + graph.outputShape, reference: reference, referencePath: compare)
            guard comparison.maxDifference <= tolerance else {
                throw CLIError("\(output) differs from \(compare): \(comparison.describeWorst()), more than --tolerance \(tolerance)")
            }
            note("the outputs match \(compare): largest difference \(comparison.maxDifference) ≤ \(tolerance) over \(outputs.count) values")
        }
    }
}

/// Where a model's outputs differ most from reference outputs of the same shape.
struct OutputComparison: Equatable {
    /// The largest |output − reference| (+∞ when a value is NaN on one side only or infinite).
    var maxDifference: Float
    /// The flat index of that value, and the two values there.
    var index: Int
    var output: Float
    var reference: Float
    /// The shape both arrays have, batch first.
    var shape: [Int]

    /// Compares `outputs` (of `shape`) with `reference` element by element; throws when the shapes differ.
    init(_ outputs: [Float], shape: [Int], reference: NPYArray<Float>, referencePath: String) throws {
        guard reference.shape == shape, reference.elements.count == outputs.count else {
            throw CLIError("\(referencePath): shape \(Shape.describe(reference.shape)) does not match the outputs' \(Shape.describe(shape))")
        }
        self.shape = shape
        (maxDifference, index, output, self.reference) = (0, 0, outputs.first ?? 0, reference.elements.first ?? 0)
        for (i, (a, b)) in zip(outputs, reference.elements).enumerated() {
            let difference: Float = a == b ? 0 : (a.isNaN && b.isNaN ? 0 : abs(a - b))
            let worse = difference.isNaN ? Float.infinity : difference
            if worse > maxDifference { (maxDifference, index, output, self.reference) = (worse, i, a, b) }
        }
    }

    /// "largest difference 0.25 at example 3, output [7] (got 1.5, reference 1.25)".
    func describeWorst() -> String {
        let perExample = shape.dropFirst().reduce(1, *)
        let example = perExample == 0 ? 0 : index / perExample
        var rest = perExample == 0 ? 0 : index % perExample
        var coordinates: [Int] = []
        for extent in shape.dropFirst().reversed() {
            coordinates.insert(rest % extent, at: 0)
            rest /= extent
        }
        return "largest difference \(maxDifference) at example \(example), output [\(coordinates.map(String.init).joined(separator: ", "))] "
            + "(got \(output), reference \(reference))"
    }
}

import ArgumentParser
import Calibration
import Compiler
import Datasets
import Foundation
import RingArithmetic

/// `validate-inspect plan MODEL.onnx`: the IR after import and passes, one line per op with the
/// protocol class the secure engine will use, then the compiled secure program.
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
            movement) or dropped (a final Softmax, which does not change the argmax). Then compiles the \
            secure program: the fixed-point format (ℓ, s), where truncations go, the rewrites applied, \
            and the program digest both parties compare before running.
            """)

    @Argument(help: "The ONNX model file.")
    var model: String

    @Option(help: "The vendor's own calibration data (a dataset in either format) to choose ℓ and s from; never the hospital's test set.")
    var calibration: String?

    @Option(name: .customLong("ring-bits"), help: "Override ℓ (with --scale).")
    var ringBits: Int?

    @Option(help: "Override s (with --ring-bits).")
    var scale: Int?

    @Option(help: "Also write the plan and the program as JSON to this file.")
    var json: String?

    func validate() throws {
        if (ringBits == nil) != (scale == nil) { throw ValidationError("give --ring-bits and --scale together") }
        if ringBits != nil && calibration != nil { throw ValidationError("--calibration chooses ℓ and s; do not also give --ring-bits/--scale") }
        if let ringBits, let scale {
            do { _ = try FixedPointFormat(ringBits: ringBits, scale: scale) } catch { throw ValidationError(error.description) }
        }
    }

    struct Output: Encodable {
        var plan: PlanReport
        var program: MPCProgram
        var programDigest: String

        enum CodingKeys: String, CodingKey { case plan, program, programDigest = "program_digest" }
    }

    func run() throws {
        let graph = try loadModel(model)
        let report = PlanReport(model: (model as NSString).lastPathComponent, graph: graph)
        print(report.render())
        let choice = try FormatSelection.resolve(graph: graph, ringBits: ringBits, scale: scale,
                                                 calibration: try calibration.map { try openDataset(path: $0) })
        let (format, reason) = (choice.format, choice.reason)
        let program = try ProgramCompiler.compile(graph, format: format, formatReason: reason)
        print("")
        print("secure program: \(program.instructions.count) steps, \(format) — \(choice.details)")
        var byKind: [String: Int] = [:]
        for instruction in program.instructions { byKind[instruction.kind.rawValue, default: 0] += 1 }
        print("  steps: " + byKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        for rewrite in program.rewrites { print("  rewrite: \(rewrite)") }
        for dropped in program.dropped { print("  dropped: \(dropped)") }
        if let preprocessing = program.preprocessing {
            print("  input preprocessing (declared in the model's metadata, applied by the hospital to image folders):")
            for step in preprocessing.steps { print("    \(step)") }
            print("    declaration: \(preprocessing.canonicalJSON)")
        } else {
            print("  input preprocessing: none declared (hospitals give inputs.npy preprocessed as the model expects)")
        }
        print("  program digest (both parties compare it): \(program.digestHex)")
        if let json { try writeJSON(Output(plan: report, program: program, programDigest: program.digestHex), to: json) }
    }
}

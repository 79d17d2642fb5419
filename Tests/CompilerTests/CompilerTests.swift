import Datasets
import Foundation
import IR
import ONNX
import Reference
import RingArithmetic
import Testing
import Calibration
@testable import Compiler
import TestSupport


@Suite("Compiler") struct CompilerTests {
    static let models = ["densenet-digits", "mlp-breast-cancer"]
    static let datasets = ["densenet-digits": "Datasets/digits-test", "mlp-breast-cancer": "Datasets/breast-cancer-test"]

    @Test("the compiled program computes exactly the fixed-point reference's logits", arguments: models)
    func programEqualsReference(_ model: String) throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/\(model).onnx"))
        let format = FixedPointFormat.standard
        let program = try ProgramCompiler.compile(graph, format: format)
        let dataset = try openDataset(path: path(Self.datasets[model]!))
        let batch = try dataset.batch(0..<min(dataset.count, 24))
        let reference = try FixedPointExecutor(graph: graph, format: format).run(batch.features, batch: batch.count)
        let interpreter = ProgramInterpreter(graph: graph, program: program)
        let perExample = dataset.featuresPerExample
        for i in 0..<batch.count {
            let logits = interpreter.run(Array(batch.features[(i * perExample)..<((i + 1) * perExample)]))
            #expect(logits == Array(reference[(i * graph.classCount)..<((i + 1) * graph.classCount)]), "example \(i)")
        }
    }

    @Test("a Clip with one bound after a Gemm: the program computes exactly the fixed-point reference's outputs",
          arguments: ["gemm_clip_min_only_opset13", "gemm_clip_max_only_opset7"])
    func oneSidedClipEqualsReference(_ fixture: String) throws {
        let folder = path("Tests/Fixtures/importer/ops/\(fixture)")
        let graph = try ONNXImporter.loadGraph(path: folder + "/model.onnx")
        let format = FixedPointFormat.standard
        let program = try ProgramCompiler.compile(graph, format: format)
        #expect(program.instructions.map(\.kind) == [.linear, .truncate, .clip])
        let input = try NPYReader(path: folder + "/input.npy").readAllFloats()
        let batch = try #require(input.shape.first)
        let reference = try FixedPointExecutor(graph: graph, format: format).run(input.elements, batch: batch)
        let interpreter = ProgramInterpreter(graph: graph, program: program)
        let width = graph.inputShape.reduce(1, *), classes = graph.classCount
        for i in 0..<batch {
            let logits = interpreter.run(Array(input.elements[(i * width)..<((i + 1) * width)]))
            #expect(logits == Array(reference[(i * classes)..<((i + 1) * classes)]), "example \(i)")
        }
    }

    @Test("every linear output is truncated exactly once before it is added, concatenated or pooled by average")
    func truncationsArePlaced() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"))
        let program = try ProgramCompiler.compile(graph, format: .standard)
        let scale = Dictionary(uniqueKeysWithValues: program.instructions.map { ($0.output, $0.scalePower) })
        for instruction in program.instructions where [.add, .concat, .averagePool, .globalAveragePool, .addConstant, .clip].contains(instruction.kind) {
            for input in instruction.inputs { #expect(scale[input, default: 1] == 1, "\(instruction.node) reads a scale-2s value") }
        }
        #expect(scale[program.logits] == 1)
        let linear = program.instructions.filter { $0.kind == .linear }.count
        let truncating = program.instructions.filter { [.truncate, .reluTruncate].contains($0.kind) }.count
        #expect(linear == truncating)
        #expect(program.instructions.contains { $0.kind == .reluTruncate })
    }

    @Test("a per-channel scale after a Concat that extends an earlier one's input reuses exactly the shared leading channels")
    func channelReuseMarks() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"), foldScalesThroughReLUs: false)
        let program = try ProgramCompiler.compile(graph, format: .standard)
        let producer = Dictionary(program.instructions.enumerated().map { ($1.output, $0) }, uniquingKeysWith: { a, _ in a })
        func flat(_ value: String) -> [(String, Int)] {
            guard let p = producer[value], case .concat(0) = program.instructions[p].step else {
                return [(value, producer[value].map { program.instructions[$0].outputShape[0] } ?? 0)]
            }
            return program.instructions[p].inputs.flatMap(flat)
        }
        func parts(_ index: Int) -> [(String, Int)] { flat(program.instructions[index].inputs[0]) }
        var marked = 0
        for (index, instruction) in program.instructions.enumerated() {
            guard let reuse = instruction.linear?.reuse else { continue }
            marked += 1
            // The source is an earlier per-channel scale on the same plane, with no other one between.
            let source = program.instructions[reuse.source]
            #expect(reuse.source < index && source.linear?.shape.kind == .channelScale)
            #expect(source.inputShapes[0].dropFirst() == instruction.inputShapes[0].dropFirst())
            #expect(!program.instructions[(reuse.source + 1)..<index].contains {
                $0.linear?.shape.kind == .channelScale && $0.inputShapes[0].dropFirst() == instruction.inputShapes[0].dropFirst()
            })
            // The shared channels are exactly the common leading Concat parts.
            let mine = parts(index), theirs = parts(reuse.source)
            let common = zip(mine, theirs).prefix { $0.0 == $0.1 }.count
            #expect(common > 0)
            #expect(reuse.channels == mine.prefix(common).map(\.1).reduce(0, +))
            #expect(reuse.channels < instruction.inputShapes[0][0])
        }
        #expect(marked > 0, "densenet-digits has dense blocks: their BatchNorms after each Concat reuse channels")
    }

    @Test("ReLU before MaxPool is moved after it, and the truncation fused into that ReLU")
    func reluMovesAfterMaxPool() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"))
        let program = try ProgramCompiler.compile(graph, format: .standard)
        let pool = try #require(program.instructions.firstIndex { $0.kind == .maxPool })
        #expect(program.instructions[pool + 1].kind == .relu || program.instructions[pool + 1].kind == .reluTruncate)
        #expect(program.rewrites.contains { $0.contains("moved after MaxPool") })
        // The final ReLU runs on the pooled 48×2×2 tensor, not the 48×4×4 one.
        #expect(program.instructions[pool + 1].outputShape == [48, 2, 2])
    }

    @Test("a final Softmax is dropped and named; the digest is stable and sensitive to the format")
    func softmaxDroppedAndDigest() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Tests/Fixtures/ops/softmax_opset11_axis1_rank4/model.onnx"))
        let program = try ProgramCompiler.compile(graph, format: .standard)
        #expect(program.dropped.count == 1)
        let again = try ProgramCompiler.compile(graph, format: .standard)
        #expect(program.digest() == again.digest())
        let other = try ProgramCompiler.compile(graph, format: FixedPointFormat(ringBits: 37, scale: 12))
        #expect(program.digest() != other.digest())
    }

    @Test("the program carries no weight values")
    func noWeights() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let program = try ProgramCompiler.compile(graph, format: .standard)
        let json = String(decoding: try JSONEncoder().encode(program), as: UTF8.self)
        for node in graph.nodes {
            if case .fullyConnected(let fc) = node.operation {
                for w in fc.weight.values.prefix(20) where abs(w) > 1e-3 {
                    #expect(!json.contains(String(describing: w)), "weight \(w) appears in the program")
                }
            }
        }
    }

    @Test("format selection on calibration data picks the cheapest format that keeps float's predictions")
    func formatSelection() throws {
        let mlp = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        // The vendor's own data: examples from the training split, never the hospital's test set.
        let data = try openDataset(path: path("Datasets/breast-cancer-calibration"))
        let choice = try FormatSelection.choose(graph: mlp, calibration: data)
        #expect(choice.format.scale >= 14, "the MLP needs s ≥ 14 (s = 12 flips a prediction)")
        let digits = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"))
        let digitsChoice = try FormatSelection.choose(graph: digits, calibration: try openDataset(path: path("Datasets/digits-calibration")), limit: 64)
        #expect(digitsChoice.format == FormatSelection.candidates[0])
        // What goes into the program (and so to the hospital) names no path, size or statistic of
        // the vendor's calibration set; the vendor's own details do.
        for c in [choice, digitsChoice] {
            #expect(!c.reason.contains("calibration/") && !c.reason.contains("Datasets") && !c.reason.contains("example"))
            #expect(!c.reason.contains("margin"))
        }
        #expect(choice.details.contains("breast-cancer-calibration"))
        let program = try ProgramCompiler.compile(mlp, format: choice.format, formatReason: choice.reason)
        #expect(!program.formatReason.contains("breast-cancer-calibration"))
    }
}

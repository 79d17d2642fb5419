import ArgumentParser
import Benchmarks
import Compiler
import Foundation
import IR
import LinearHE
import RingArithmetic

/// `validate-inspect bench linear MODEL`: every Conv, Gemm and per-channel scale of a model run
/// through the HE linear-layer protocol between two threads (vendor and hospital) over an
/// in-memory channel, with random shares and the model's own weights at the fixed-point scale.
struct LinearBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linear",
        abstract: "Time the HE (Cheetah-style) linear layers of a model: seconds and bytes per layer, both parties on this machine.",
        discussion: """
            Each linear layer (Conv, Gemm, per-channel scale) runs once, one after another, between two \
            threads over an in-memory channel: random activation shares, the model's weights encoded at \
            scale s. Reported seconds are wall time of the layer calls with both parties running; kernel \
            preparation (once per model) and the public-key set-up (once per session) are reported apart. \
            A BatchNorm folded through its ReLU into the next convolution leaves a signed shift (±x plus a \
            shift per channel), which runs on silent OT instead of HE: its rows (kind signedShift) are \
            part of the totals, since it replaces an HE per-channel scale. \
            Build with `swift build -c release` for meaningful figures.
            """)

    @Argument(help: "The ONNX model file.")
    var model: String

    @Option(help: "Also write the figures as JSON to this file.")
    var json: String?

    @Option(help: "Images per layer call (batched into the same ciphertexts where it saves some).")
    var images: Int = 1

    @Option(name: .customLong("ring-bits"), help: "Ring width ℓ (values in Z_2^ℓ; ℓ ≤ 41 runs at N = 4096, larger ℓ may need N = 8192).")
    var ringBits: Int = 37

    @Option(help: "Fixed-point scale s of the weights.")
    var scale: Int = 12

    func validate() throws {
        guard images > 0 else { throw ValidationError("--images must be positive") }
        guard (8...64).contains(ringBits) else { throw ValidationError("--ring-bits must be in 8...64") }
        guard scale > 0, 2 * scale < ringBits else { throw ValidationError("--scale must be positive and 2·scale < ring bits") }
    }

    func run() throws {
        let format = try FixedPointFormat(ringBits: ringBits, scale: scale)
        let graph = try loadModel(model)
        let (layers, signedShifts) = try LinearBenchCommand.layers(of: graph, format: format)
        FileHandle.standardError.write("\(layers.count) linear layers and \(signedShifts.count) signed shifts; running with ℓ = \(ringBits), s = \(scale), \(images) image(s)\n".data(using: .utf8)!)
        let result = try LinearBenchmark.run(layers: layers, signedShifts: signedShifts, plaintextBits: ringBits, images: images) { line in
            FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
        }
        let slowest = result.layers.sorted { $0.seconds > $1.seconds }.prefix(5)
        print("\((model as NSString).lastPathComponent): \(layers.count) linear layers and \(signedShifts.count) signed shifts, \(images) image(s), ℓ = \(ringBits)")
        print(String(format: "  linear layers:   %.2f s wall (both parties), %.1f MB both directions, %d rounds", result.linearSeconds, Double(result.linearBytes) / 1e6, result.rounds))
        print(String(format: "                   %.2f CPU seconds (both parties, all threads; wall on an idle 2-core machine ≈ CPU/2 or more)", result.linearCPUSeconds))
        print(String(format: "  kernel prepare:  %.2f s (vendor, once per model); plans %.2f s; key set-up %.3f s, %d bytes", result.prepareSeconds, result.planSeconds, result.setupSeconds, result.setupBytes))
        print(String(format: "  NTT N = 4096:    %.1f µs (forward, one prime)", result.nttMicroseconds))
        for (kind, label) in [("convolution", "Conv"), ("fullyConnected", "Gemm"), ("channelScale", "per-channel scale"), ("signedShift", "signed shift (OT)")] {
            let part = result.layers.filter { $0.kind == kind }
            guard !part.isEmpty else { continue }
            print(String(format: "  %@: %d layers, %.2f s, %.1f MB", label, part.count,
                         part.reduce(0) { $0 + $1.seconds }, Double(part.reduce(0) { $0 + $1.bytes }) / 1e6))
        }
        print("  slowest layers:")
        for layer in slowest {
            print(String(format: "    %@  %@  %.3f s  %.1f MB", layer.name, layer.shape, layer.seconds, Double(layer.bytes) / 1e6))
        }
        if let json { try writeJSON(result, to: json) }
    }

    /// The linear steps of the model's compiled secure program with the vendor's encoded weights:
    /// the same layers, geometry and weight bounds the secure engine runs (the compiler's mapping
    /// of model layers to HE layers is the only one); and its signed shifts (BatchNorms folded
    /// through their ReLU), which replace HE per-channel scales.
    static func layers(of graph: Graph, format: FixedPointFormat) throws -> ([LinearBenchmark.Layer], [LinearBenchmark.SignedShiftLayer]) {
        let program = try ProgramCompiler.compile(graph, format: format, weightBits: ProgramCompiler.weightBits(of: graph, format: format))
        let store = try WeightStore(program: program, graph: graph)
        var layerOfInstruction: [Int: Int] = [:]
        let layers: [LinearBenchmark.Layer] = try program.instructions.enumerated().compactMap { index, instruction in
            guard let step = instruction.linear else { return nil }
            guard case .linear(let weights, _) = store[index], let weightBits = step.weightBits else {
                throw CLIError("node \(instruction.node): the compiled program has no weights for it")
            }
            let reuse = step.reuse.flatMap { r in layerOfInstruction[r.source].map { ChannelReuse(source: $0, channels: r.channels) } }
            layerOfInstruction[index] = layerOfInstruction.count
            return LinearBenchmark.Layer(name: instruction.node, shape: step.shape, rows: step.rows, weightBits: weightBits,
                                         weights: weights, reuse: reuse)
        }
        let signedShifts = program.instructions.filter { $0.kind == .signedShift }.map { instruction in
            let shape = instruction.inputShapes[0]
            return LinearBenchmark.SignedShiftLayer(name: instruction.node, channels: shape.first ?? 1,
                                                    plane: Shape.elementCount(Array(shape.dropFirst())))
        }
        return (layers, signedShifts)
    }
}

import Compiler
import Foundation
import IR
import ONNX
import RingArithmetic
import Testing
import TestSupport


/// A program with one instruction of every kind and non-default operands everywhere (it is never
/// run: only encoded, decoded and hashed).
func everyKindProgram() -> MPCProgram {
    let pool = Pooling(kernel: [3, 2], strides: [2, 1], dilations: [1, 2], pads: [1, 0, 1, 1], ceilMode: true)
    let conv = LinearStep(shape: .convolution(inputChannels: 3, height: 9, width: 8, outputChannels: 5, kernel: [3, 3],
                                              strides: [2, 1], dilations: [1, 1], pads: [1, 1, 0, 1]),
                          rows: 1, weightBits: 11, biasAxis: .channel, reuse: ChannelReuse(source: 0, channels: 2))
    let fc = LinearStep(shape: .fullyConnected(inputFeatures: 20, outputFeatures: 4), rows: 2, weightBits: nil, biasAxis: .lastAxis)
    let steps: [Step] = [
        .linear(conv), .linear(fc), .addConstant, .add, .truncate(shift: 12), .relu, .reluTruncate(shift: 12),
        .clip(lower: -4096, upper: nil), .clip(lower: nil, upper: 24576), .maxPool(pool), .averagePool(pool, countIncludePad: true),
        .globalAveragePool, .concat(axis: 0), .reshape, .transpose(permutation: [1, 2, 0]), .pad(pads: [0, 1, 1, 0, 2, 0], value: -7), .signedShift,
    ]
    #expect(Set(steps.map(\.kind)) == Set(Instruction.Kind.allCases), "the fixture covers every kind")
    let instructions = steps.enumerated().map { i, step in
        Instruction(node: "n\(i)", step: step, inputs: i == 3 ? ["v\(i)", "w\(i)"] : ["v\(i)"], output: "v\(i + 1)",
                    inputShapes: i == 3 ? [[2, 3], [3]] : [[4, 5, 6]], outputShape: [4, 5, 6], scalePower: i % 2 + 1)
    }
    return MPCProgram(ringBits: 37, scale: 12, formatReason: "test", inputName: "v0", inputShape: [4, 5, 6], classes: 10,
                      logits: "v\(steps.count)", instructions: instructions, dropped: ["Softmax 's'"], rewrites: ["r"], otEngine: .iknp)
}

/// Every single-operand change of `program`: each program field, and for each instruction its node,
/// inputs, output, shapes, scale power and every operand of its step.
func everyOneOperandChange(_ program: MPCProgram) -> [(what: String, program: MPCProgram)] {
    var out: [(String, MPCProgram)] = []
    func add(_ what: String, _ change: (inout MPCProgram) -> Void) {
        var p = program
        change(&p)
        out.append((what, p))
    }
    add("version") { $0.version += 1 }
    add("ringBits") { $0.ringBits += 1 }
    add("scale") { $0.scale += 1 }
    add("formatReason") { $0.formatReason += "x" }
    add("inputName") { $0.inputName += "x" }
    add("inputShape") { $0.inputShape[0] += 1 }
    add("classes") { $0.classes += 1 }
    add("logits") { $0.logits += "x" }
    add("otEngine") { $0.otEngine = $0.otEngine == .silent ? .iknp : .silent }
    add("dropped") { $0.dropped = [] }
    add("rewrites") { $0.rewrites.append("y") }
    add("metric auroc") { $0.metric = Metric(scores: .auroc) }
    add("metric sens-spec with thresholds") { $0.metric = Metric(scores: .sensSpec); $0.scoreThresholds = [Int64](repeating: -3, count: $0.classes) }
    add("metric auroc threshold") { $0.metric = .aurocAtLeast(0.75) }
    add("metric auroc threshold-all") { $0.metric = .aurocAtLeast(0.75, allFindings: true) }
    add("metric predictions") { $0.metric = Metric(scores: .predictions) }
    add("metric sens-spec with the hospital's thresholds") { $0.metric = .sensSpec(thresholds: [0.25]) }
    add("metric confusion") { $0.metric = Metric(scores: .confusion) }
    add("task") { $0.task = $0.task == .singleLabel ? .multiLabel : .singleLabel }
    add("findings") { $0.findings = (0..<$0.classes).map { "finding \($0)" } }
    add("instruction order") { $0.instructions.swapAt(0, 1) }
    add("instruction removed") { $0.instructions.removeLast() }
    func ints(_ v: [Int]) -> [[Int]] { v.indices.map { i in var w = v; w[i] += 1; return w } }
    func poolings(_ p: Pooling) -> [Pooling] {
        ints(p.kernel).map { var q = p; q.kernel = $0; return q } + ints(p.strides).map { var q = p; q.strides = $0; return q }
            + ints(p.dilations).map { var q = p; q.dilations = $0; return q } + ints(p.pads).map { var q = p; q.pads = $0; return q }
            + [{ var q = p; q.ceilMode.toggle(); return q }()]
    }
    for (i, instruction) in program.instructions.enumerated() {
        let at = "instruction \(i) (\(instruction.kind))"
        add("\(at) node") { $0.instructions[i].node += "x" }
        add("\(at) inputs") { $0.instructions[i].inputs[0] += "x" }
        add("\(at) output") { $0.instructions[i].output += "x" }
        add("\(at) inputShapes") { $0.instructions[i].inputShapes[0][0] += 1 }
        add("\(at) outputShape") { $0.instructions[i].outputShape[0] += 1 }
        add("\(at) scalePower") { $0.instructions[i].scalePower += 1 }
        var steps: [Step] = []
        switch instruction.step {
        case .linear(let l):
            let s = l.shape
            var shapes: [LinearLayerShape] = []
            for key in [\LinearLayerShape.inputChannels, \.inputHeight, \.inputWidth, \.outputChannels, \.kernelHeight, \.kernelWidth] {
                var t = s; t[keyPath: key] += 1; shapes.append(t)
            }
            shapes += ints(s.strides).map { var t = s; t.strides = $0; return t } + ints(s.dilations).map { var t = s; t.dilations = $0; return t }
                + ints(s.pads).map { var t = s; t.pads = $0; return t }
            shapes.append({ var t = s; t.kind = s.kind == .convolution ? .channelScale : .convolution; return t }())
            steps += shapes.map { var m = l; m.shape = $0; return .linear(m) }
            steps.append({ var m = l; m.rows += 1; return .linear(m) }())
            steps.append({ var m = l; m.weightBits = l.weightBits == nil ? 0 : nil; return .linear(m) }())
            if let bits = l.weightBits { steps.append({ var m = l; m.weightBits = bits + 1; return .linear(m) }()) }
            steps.append({ var m = l; m.biasAxis = l.biasAxis == .channel ? .lastAxis : .channel; return .linear(m) }())
            if let reuse = l.reuse {
                steps.append({ var m = l; m.reuse = nil; return .linear(m) }())
                steps.append({ var m = l; m.reuse?.source = reuse.source + 1; return .linear(m) }())
                steps.append({ var m = l; m.reuse?.channels = reuse.channels + 1; return .linear(m) }())
            } else {
                steps.append({ var m = l; m.reuse = ChannelReuse(source: 0, channels: 1); return .linear(m) }())
            }
        case .truncate(let shift): steps = [.truncate(shift: shift + 1), .reluTruncate(shift: shift)]
        case .reluTruncate(let shift): steps = [.reluTruncate(shift: shift + 1), .truncate(shift: shift)]
        case .clip(let lower, let upper):
            steps = [.clip(lower: lower.map { $0 + 1 } ?? 1, upper: upper), .clip(lower: lower == nil ? 0 : nil, upper: upper),
                     .clip(lower: lower, upper: upper.map { $0 + 1 } ?? 1), .clip(lower: lower, upper: upper == nil ? 0 : nil)]
        case .maxPool(let p): steps = poolings(p).map { .maxPool($0) } + [.averagePool(p, countIncludePad: false)]
        case .averagePool(let p, let include):
            steps = poolings(p).map { .averagePool($0, countIncludePad: include) } + [.averagePool(p, countIncludePad: !include), .maxPool(p)]
        case .concat(let axis): steps = [.concat(axis: axis + 1)]
        case .transpose(let permutation): steps = [.transpose(permutation: permutation.reversed())]
        case .pad(let pads, let value): steps = ints(pads).map { .pad(pads: $0, value: value) } + [.pad(pads: pads, value: value + 1)]
        case .addConstant, .add, .relu, .globalAveragePool, .reshape, .signedShift:
            steps = [instruction.step == .relu ? .signedShift : .relu]
        }
        for (k, step) in steps.enumerated() { add("\(at) operand change \(k)") { $0.instructions[i].step = step } }
    }
    return out
}

@Suite("The program's canonical encoding and digest")
struct ProgramEncodingTests {
    @Test("decode(encode(p)) == p for a program of every kind and for the compiled bundled models")
    func roundTrip() throws {
        var programs = [everyKindProgram()]
        for model in ["Models/mlp-breast-cancer.onnx", "Models/densenet-digits.onnx", "Models/densenet-digits-findings.onnx",
                      "Tests/Fixtures/importer/ops/gemm_clip_min_only_opset13/model.onnx"] {
            let graph = try ONNXImporter.loadGraph(path: path(model))
            let format = try FixedPointFormat(ringBits: 37, scale: 12)
            programs.append(try ProgramCompiler.compile(graph, format: format, weightBits: ProgramCompiler.weightBits(of: graph, format: format)))
        }
        for program in programs {
            let bytes = ProgramEncoding.encode(program)
            #expect(try ProgramEncoding.decode(bytes) == program)
            #expect(ProgramEncoding.encode(try ProgramEncoding.decode(bytes)) == bytes)
        }
    }

    @Test("changing any one operand of any instruction, or any field of the program, changes the digest")
    func everyOperandIsInTheDigest() throws {
        let program = everyKindProgram()
        let changes = everyOneOperandChange(program)
        #expect(changes.count > 150)
        var seen: [[UInt8]: String] = [program.digest(): "the original"]
        for (what, changed) in changes {
            #expect(changed != program, "\(what) is not a change")
            let digest = changed.digest()
            if let other = seen[digest] {
                Issue.record("\(what) has the same digest as \(other)")
            }
            seen[digest] = what
            // The change survives the encoding (nothing is dropped on the way); another version is
            // refused by this decoder instead.
            if changed.version == MPCProgram.formatVersion {
                #expect(try ProgramEncoding.decode(ProgramEncoding.encode(changed)) == changed, "\(what)")
            }
        }
    }

    @Test("a compiled program's digest changes with a model's clip bound, pooling pad and the format")
    func compiledOperandsReachTheDigest() throws {
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let clipGraph = try ONNXImporter.loadGraph(path: path("Tests/Fixtures/importer/ops/gemm_clip_min_only_opset13/model.onnx"))
        let base = try ProgramCompiler.compile(clipGraph, format: format)
        var moved = clipGraph
        let clip = try #require(moved.nodes.firstIndex { if case .clip = $0.operation { true } else { false } })
        guard case .clip(let lower, let upper) = moved.nodes[clip].operation else { return }
        moved.nodes[clip].operation = .clip(lower: (lower ?? 0) + 0.25, upper: upper)
        #expect(try ProgramCompiler.compile(moved, format: format).digest() != base.digest())
        #expect(try ProgramCompiler.compile(clipGraph, format: FixedPointFormat(ringBits: 38, scale: 12)).digest() != base.digest())

        let digits = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"))
        let digitsProgram = try ProgramCompiler.compile(digits, format: format)
        var padded = digits
        let pool = try #require(padded.nodes.firstIndex { if case .averagePool = $0.operation { true } else if case .maxPool = $0.operation { true } else { false } })
        switch padded.nodes[pool].operation {
        case .maxPool(var p): p.ceilMode.toggle(); padded.nodes[pool].operation = .maxPool(p)
        case .averagePool(let p, let include): padded.nodes[pool].operation = .averagePool(p, countIncludePad: !include)
        default: break
        }
        #expect(try ProgramCompiler.compile(padded, format: format).digest() != digitsProgram.digest())
    }

    @Test("the decoder refuses truncated, extended, re-versioned and foreign bytes")
    func decoderRefusesDamage() throws {
        let bytes = ProgramEncoding.encode(everyKindProgram())
        for length in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: ProgramEncodingError.self) { _ = try ProgramEncoding.decode(Array(bytes[..<length])) }
        }
        #expect(throws: ProgramEncodingError.self) { _ = try ProgramEncoding.decode(bytes + [0]) }
        var other = everyKindProgram()
        other.version += 1
        #expect(throws: ProgramEncodingError.self) { _ = try ProgramEncoding.decode(ProgramEncoding.encode(other)) }
        var foreign = bytes
        foreign[0] ^= 1
        #expect(throws: ProgramEncodingError.self) { _ = try ProgramEncoding.decode(foreign) }
    }
}

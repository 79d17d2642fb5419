import CryptoPrimitives
import Foundation
import IR
import RingArithmetic

/// Lowers an IR graph to the secure program: a protocol for every op, truncations placed after
/// fixed-point products, and exact rewrites that save secure work.
///
/// Rewrites (each exact on the fixed-point values, so the secure result still equals the plaintext
/// fixed-point reference bit for bit):
/// 1. ReLU followed only by MaxPool becomes MaxPool then ReLU (max commutes with max(·, 0)); the
///    ReLU then runs on the pooled, smaller tensor.
/// 2. The truncation after a linear layer is deferred past a chain of single-consumer MaxPools and
///    ReLUs (⌊·/2^s⌋ is monotone, so it commutes with max and with max(·, 0)), and fused with the
///    last ReLU of the chain into one `reluTruncate` (cheaper than a truncation plus a ReLU: the
///    known sign saves the wrap computation).
/// 3. A final Softmax/LogSoftmax over the whole output is dropped (the argmax does not change).
public enum ProgramCompiler {
    /// Compiles `graph` with the fixed-point `format`.
    /// `weightBits` (from `weightBits(of:format:)`, computed by the vendor) gives each linear node's
    /// public weight bound; nodes without an entry get none (the plan printout does not need it).
    public static func compile(_ graph: Graph, format: FixedPointFormat, formatReason: String = "default",
                               weightBits: [String: Int] = [:], otEngine: OTEngine = .silent,
                               metric: Metric? = nil) throws -> MPCProgram {
        let metric = metric ?? .defaultMetric(for: graph.task)
        let prefix = graph.argmaxEquivalentPrefix()
        let costs = graph.nodeCosts()
        var dropped: [String] = []
        for (index, node) in graph.nodes.enumerated() where index >= prefix.nodeCount {
            dropped.append("\(node.operation.name) '\(node.name)': does not change the argmax of the output")
        }
        var instructions: [Instruction] = []
        var shapes: [String: [Int]] = [graph.inputName: graph.inputShape]
        for (index, node) in graph.nodes[..<prefix.nodeCount].enumerated() {
            defer { shapes[node.output] = node.outputShape }
            if costs[index].protocolClass == .unsupported || node.operation.isArgmaxInvariant {
                throw CompilerError.unsupported(node: node.name, op: node.operation.name,
                                                reason: "a Softmax that normalises over part of the output changes the argmax; only a final Softmax over the whole output is supported")
            }
            if case .affine(let affine) = node.operation, let scale = affine.scale,
               !Self.isPerChannel(scale.shape, inputRank: node.outputShape.count, channels: node.outputShape.first ?? 0) {
                throw CompilerError.unsupported(node: node.name, op: node.operation.name,
                                                reason: "a multiplication by a constant that varies within a channel has no HE encoding yet (per-channel scales are supported)")
            }
            let inputShapes = node.inputs.map { shapes[$0] ?? [] }
            instructions.append(try lower(node, inputShapes: inputShapes, format: format, weightBits: weightBits[node.name]))
        }
        if metric.correct.k > graph.classCount {
            throw CompilerError.unsupportedMetric("\(metric): the model has only \(graph.classCount) classes")
        }
        let scoreThresholds = try scoreThresholds(metric: metric, task: graph.task, classes: graph.classCount,
                                                  declared: metric.thresholds ?? graph.declarations?.thresholds,
                                                  ringBits: format.ringBits, scale: format.scale)
        var rewrites: [String] = []
        reorderReLUBeforeMaxPool(&instructions, logits: prefix.outputName, rewrites: &rewrites)
        placeTruncations(&instructions, logits: prefix.outputName, shift: format.scale, rewrites: &rewrites)
        markChannelReuse(&instructions)
        var program = MPCProgram(ringBits: format.ringBits, scale: format.scale, formatReason: formatReason,
                                 inputName: graph.inputName, inputShape: graph.inputShape, classes: graph.classCount,
                                 logits: prefix.outputName, instructions: instructions, dropped: dropped, rewrites: rewrites,
                                 otEngine: otEngine, metric: metric)
        program.task = graph.task
        program.findings = (0..<graph.classCount).map { graph.declarations?.name(ofOutput: $0) ?? String($0) }
        program.scoreThresholds = scoreThresholds
        program.preprocessing = graph.preprocessing
        return program
    }

    /// Checks a metric against the model's task and returns its fixed-point score thresholds
    /// (`sens-spec` only: each declared threshold through `ModelTask.scoreThreshold`, encoded at
    /// scale s, rounded to nearest). Count metrics need a single-label model, `confusion` too;
    /// `sens-spec` needs one threshold per output (probabilities in (0, 1) for a multi-label model).
    public static func scoreThresholds(metric: Metric, task: ModelTask, classes: Int, declared: [Double]?,
                                       ringBits: Int, scale: Int) throws -> [Int64]? {
        switch (metric.scores, task) {
        case (nil, .multiLabel):
            throw CompilerError.unsupportedMetric("\(metric) needs a single-label model; this model ends in a Sigmoid (multi-label): ask for auroc or sens-spec")
        case (.confusion?, .multiLabel):
            throw CompilerError.unsupportedMetric("confusion needs a single-label model; this model ends in a Sigmoid (multi-label)")
        case (.sensSpec?, _):
            guard let declared else {
                throw CompilerError.unsupportedMetric("sens-spec needs operating thresholds: the model declares none (ONNX metadata 'thresholds') and none were given")
            }
            guard declared.count == classes else {
                throw CompilerError.unsupportedMetric("sens-spec: \(declared.count) threshold(s) for \(classes) output(s)")
            }
            let format = try FixedPointFormat(ringBits: ringBits, scale: scale)
            return try declared.map { t in
                guard t.isFinite, task == .singleLabel || (t > 0 && t < 1) else {
                    throw CompilerError.unsupportedMetric("sens-spec: threshold \(t) must be \(task == .multiLabel ? "a probability strictly between 0 and 1 (the model ends in a Sigmoid)" : "finite")")
                }
                guard let fixed = format.encode(task.scoreThreshold(declared: t)) else {
                    throw CompilerError.unsupportedMetric("sens-spec: threshold \(t) does not fit the fixed-point format \(format)")
                }
                return fixed
            }
        default:
            return nil
        }
    }

    /// True when a constant of `shape` varies at most along per-example axis 0 (checked on shapes
    /// only, so it works on the weight-stripped graph).
    static func isPerChannel(_ shape: [Int], inputRank: Int, channels: Int) -> Bool {
        if Shape.elementCount(shape) == 1 { return true }
        guard shape.count <= inputRank else { return false }
        let padded = [Int](repeating: 1, count: inputRank - shape.count) + shape
        return padded[0] == channels && padded.dropFirst().allSatisfy { $0 == 1 }
    }

    /// The vendor's public weight bounds: for every linear node, the bits of the largest encoded
    /// weight magnitude (at scale s). Needs the weights; the result is shared with the hospital.
    public static func weightBits(of graph: Graph, format: FixedPointFormat) -> [String: Int] {
        var result: [String: Int] = [:]
        for node in graph.nodes {
            let weights: [Float]
            switch node.operation {
            case .convolution(let c): weights = c.weight.values
            case .fullyConnected(let f): weights = f.weight.values
            case .affine(let a) where a.scale != nil: weights = a.scale!.values
            default: continue
            }
            let largest = weights.map { (format.encode(Double($0)) ?? format.maxSigned).magnitude }.max() ?? 0
            result[node.name] = max(1, 64 - largest.leadingZeroBitCount)
        }
        return result
    }

    /// The instruction for one IR node, with every public operand it needs: HE geometry for linear
    /// layers, pooling geometry, clip bounds and pad values encoded at scale s.
    static func lower(_ node: Node, inputShapes: [[Int]], format: FixedPointFormat, weightBits: Int?) throws -> Instruction {
        func encoded(_ value: Float, _ what: String) throws -> Int64 {
            guard let v = format.encode(Double(value)) else {
                throw CompilerError.unsupported(node: node.name, op: node.operation.name,
                                                reason: "its \(what) \(value) does not fit the fixed-point format \(format)")
            }
            return v
        }
        let input = inputShapes.first ?? []
        let step: Step
        switch node.operation {
        case .convolution(let c):
            step = .linear(LinearStep(shape: .convolution(inputChannels: c.inputChannels, height: input[1], width: input[2],
                                                          outputChannels: c.outputChannels, kernel: c.kernel, strides: c.strides,
                                                          dilations: c.dilations, pads: c.pads),
                                      rows: 1, weightBits: weightBits, biasAxis: .channel))
        case .fullyConnected(let f):
            // [..., K] per example: every row of K features is one matrix-vector product.
            step = .linear(LinearStep(shape: .fullyConnected(inputFeatures: f.inputFeatures, outputFeatures: f.outputFeatures),
                                      rows: Shape.elementCount(input) / f.inputFeatures, weightBits: weightBits, biasAxis: .lastAxis))
        case .affine(let a):
            if a.scale == nil {
                step = .addConstant
            } else {
                let channels = input.first ?? 1
                step = .linear(LinearStep(shape: .channelScale(channels: channels, height: Shape.elementCount(Array(input.dropFirst())), width: 1),
                                          rows: 1, weightBits: weightBits, biasAxis: .channel))
            }
        case .signedShift:
            guard input.count >= 1 else {
                throw CompilerError.unsupported(node: node.name, op: node.operation.name, reason: "a signed shift needs a channel axis")
            }
            step = .signedShift
        case .add: step = .add
        case .relu: step = .relu
        case .clip(let lower, let upper):
            step = .clip(lower: try lower.map { try encoded($0, "lower bound") }, upper: try upper.map { try encoded($0, "upper bound") })
        case .maxPool(let pool): step = .maxPool(pool)
        case .averagePool(let pool, let includePad): step = .averagePool(pool, countIncludePad: includePad)
        case .globalAveragePool: step = .globalAveragePool
        case .concat(let axis): step = .concat(axis: axis)
        case .reshape: step = .reshape
        case .transpose(let permutation): step = .transpose(permutation: permutation)
        case .pad(let pads, let value): step = .pad(pads: pads, value: try encoded(value, "pad value"))
        case .softmax, .logSoftmax, .sigmoid:
            throw CompilerError.unsupported(node: node.name, op: node.operation.name, reason: "a \(node.operation.name) is only supported as the final op")
        }
        return Instruction(node: node.name, step: step, inputs: node.inputs, output: node.output, inputShapes: inputShapes,
                           outputShape: node.outputShape, scalePower: step.kind == .linear ? 2 : 1)
    }

    /// Indices of the instructions reading each value.
    static func consumers(_ instructions: [Instruction]) -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        for (i, instruction) in instructions.enumerated() {
            for input in instruction.inputs { result[input, default: []].append(i) }
        }
        return result
    }

    /// Rewrite 1: relu → maxPool (relu read only by the max pool) becomes maxPool → relu.
    static func reorderReLUBeforeMaxPool(_ instructions: inout [Instruction], logits: String, rewrites: inout [String]) {
        var index = 0
        while index < instructions.count {
            let relu = instructions[index]
            let users = consumers(instructions)[relu.output] ?? []
            guard relu.kind == .relu, relu.output != logits, users.count == 1,
                  instructions[users[0]].kind == .maxPool, users[0] > index else { index += 1; continue }
            let poolIndex = users[0]
            var pool = instructions[poolIndex]
            let pooledName = pool.output + "#before-relu"
            pool.inputs = relu.inputs
            let finalName = pool.output
            pool.output = pooledName
            var newReLU = relu
            newReLU.inputs = [pooledName]
            newReLU.output = finalName
            newReLU.inputShapes = [pool.outputShape]
            newReLU.outputShape = pool.outputShape
            instructions[poolIndex] = newReLU
            instructions.insert(pool, at: poolIndex)
            instructions.remove(at: index)
            rewrites.append("ReLU '\(relu.node)' moved after MaxPool '\(pool.node)': \(Shape.elementCount(relu.outputShape)) → \(Shape.elementCount(pool.outputShape)) ReLU inputs per example")
        }
    }

    /// Rewrite 2: a truncation after every linear output, deferred through single-consumer MaxPool
    /// and ReLU chains and fused with the chain's last ReLU.
    /// Marks each per-channel-scale step whose input is a channel Concat sharing its leading parts
    /// with the input of the previous per-channel-scale step on the same plane (DenseNet: the
    /// BatchNorm after every dense layer's Concat, and the transition's), so that the hospital's
    /// ciphertexts of those channels are not sent again (`ChannelReuse`). Runs last, on the final
    /// instruction indices.
    static func markChannelReuse(_ instructions: inout [Instruction]) {
        var producer: [String: Int] = [:]
        for (index, instruction) in instructions.enumerated() { producer[instruction.output] = index }
        /// The values a tensor is the channel concatenation of, nested Concats flattened (a tensor
        /// that is no channel Concat is its own single part), with their channel counts.
        func parts(_ value: String, channels: Int) -> [(name: String, channels: Int)] {
            guard let index = producer[value], case .concat(let axis) = instructions[index].step, axis == 0 else {
                return [(value, channels)]
            }
            let concat = instructions[index]
            return zip(concat.inputs, concat.inputShapes).flatMap { parts($0, channels: $1.first ?? 0) }
        }
        var previousOnPlane: [[Int]: (index: Int, parts: [(name: String, channels: Int)])] = [:]
        for index in instructions.indices {
            guard var step = instructions[index].linear, step.shape.kind == .channelScale,
                  let input = instructions[index].inputs.first, let shape = instructions[index].inputShapes.first else { continue }
            let plane = Array(shape.dropFirst())
            let parts = parts(input, channels: shape.first ?? 0)
            step.reuse = nil
            if let previous = previousOnPlane[plane] {
                let previousParts = previous.parts
                var channels = 0
                for (a, b) in zip(parts, previousParts) {
                    guard a.name == b.name, a.channels == b.channels else { break }
                    channels += a.channels
                }
                if channels > 0 && channels < (shape.first ?? 0) {
                    step.reuse = ChannelReuse(source: previous.index, channels: channels)
                }
            }
            instructions[index].step = .linear(step)
            previousOnPlane[plane] = (index, parts)
        }
    }

    static func placeTruncations(_ instructions: inout [Instruction], logits: String, shift: Int, rewrites: inout [String]) {
        var fused = 0
        defer { if fused > 0 { rewrites.append("\(fused) truncation(s) fused with the ReLU that follows them (one reluTruncate each)") } }
        var index = 0
        while index < instructions.count {
            guard instructions[index].kind == .linear else { index += 1; continue }
            // Walk the chain of single-consumer monotone ops that can work at scale 2s.
            var last = index
            var deferredPast: [String] = []
            while instructions[last].output != logits {
                let users = consumers(instructions)[instructions[last].output] ?? []
                guard users.count == 1, users[0] > last,
                      [.maxPool, .relu].contains(instructions[users[0]].kind) else { break }
                last = users[0]
                instructions[last].scalePower = 2
                deferredPast.append("\(instructions[last].kind.rawValue) '\(instructions[last].node)'")
            }
            if instructions[last].kind == .relu {
                instructions[last].step = .reluTruncate(shift: shift)
                instructions[last].scalePower = 1
                fused += 1
                if deferredPast.count > 1 {
                    rewrites.append("truncation after '\(instructions[index].node)' deferred past \(deferredPast.dropLast().joined(separator: ", ")) to the ReLU")
                }
            } else {
                let value = instructions[last].output
                let wide = value + "#2s"
                instructions[last].output = wide
                let truncation = Instruction(node: instructions[last].node, step: .truncate(shift: shift), inputs: [wide], output: value,
                                             inputShapes: [instructions[last].outputShape], outputShape: instructions[last].outputShape)
                instructions.insert(truncation, at: last + 1)
                if !deferredPast.isEmpty {
                    rewrites.append("truncation after '\(instructions[index].node)' deferred past \(deferredPast.joined(separator: ", "))")
                }
            }
            index += 1
        }
    }
}

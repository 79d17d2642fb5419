import IR
import Preprocessing
import TensorLayout

/// The secure program both parties run: the compiler's output, as data.
///
/// Contract: it holds only public information — the architecture, every instruction's public
/// operands (shapes, HE geometry, pooling windows, encoded clip bounds and pad values, divisors,
/// permutations), the fixed-point format and the OT engine — never a weight. Both parties derive it
/// from the same public (weight-stripped) model and compare `digest()`, the SHA-256 of its canonical
/// binary encoding (`ProgramEncoding`), before any cryptography, so they cannot run different
/// programs. The engine runs it alone: the vendor's private constants sit in a `WeightStore` keyed
/// by instruction index.
public struct MPCProgram: Sendable, Equatable, Codable {
    /// Version of this format; part of the encoding and so of the digest. Version 2: the OT engine
    /// (`otEngine`). Version 3: typed instructions with every public operand, a binary encoding, the
    /// metric stage (`metric`). Version 4: ciphertext reuse of a per-channel scale's leading
    /// channels (`LinearStep.reuse`). Version 5: the signed shift (`Step.signedShift`). Version 6:
    /// the task, finding names, clinical metrics and their score thresholds. Version 7: a count
    /// metric's differential privacy (`Metric.dpMicroEpsilon`). Version 8: the vendor's declared
    /// input preprocessing (`preprocessing`).
    public static let formatVersion = 8

    public var version: Int
    /// ℓ: all shares live in Z_2^ℓ.
    public var ringBits: Int
    /// s: fractional bits of every activation.
    public var scale: Int
    /// Why this (ℓ, s): "default", "overridden", or how calibration chose it.
    public var formatReason: String
    public var inputName: String
    /// Per-example input shape (no batch).
    public var inputShape: [Int]
    public var classes: Int
    /// The value holding the logits (the last instruction's output).
    public var logits: String
    public var instructions: [Instruction]
    /// IR nodes left out of the secure program (a final Softmax), with the reason.
    public var dropped: [String]
    /// Rewrites the compiler made (reorderings, fusions), for the plan printout.
    public var rewrites: [String]
    /// The oblivious-transfer engine every comparison, multiplexer and conversion runs on.
    public var otEngine: OTEngine
    /// The last stage: which images count as correct and what of their count is opened, or a
    /// clinical metric of every image's scores.
    public var metric: Metric
    /// Single-label (one class per image) or multi-label (one score per finding).
    public var task: ModelTask = .singleLabel
    /// The outputs' names (the vendor's declared findings, or their indices).
    public var findings: [String] = []
    /// `sens-spec`: per finding, the public score threshold in fixed point (an image is called
    /// positive when its score ≥ it); nil for every other metric.
    public var scoreThresholds: [Int64]?
    /// How a hospital's image files become the model's input (the vendor's declaration, public);
    /// nil when the model declares none (inputs are then preprocessed arrays).
    public var preprocessing: Preprocessing?

    public init(version: Int = MPCProgram.formatVersion, ringBits: Int, scale: Int, formatReason: String,
                inputName: String, inputShape: [Int], classes: Int, logits: String, instructions: [Instruction],
                dropped: [String], rewrites: [String], otEngine: OTEngine = .silent, metric: Metric = .accuracy) {
        self.version = version
        self.ringBits = ringBits
        self.scale = scale
        self.formatReason = formatReason
        self.inputName = inputName
        self.inputShape = inputShape
        self.classes = classes
        self.logits = logits
        self.instructions = instructions
        self.dropped = dropped
        self.rewrites = rewrites
        self.otEngine = otEngine
        self.metric = metric
    }

    /// The same program with another metric stage (the vendor compiles its model once and sets
    /// the metric a hospital asks for before comparing digests).
    public func with(metric: Metric) -> MPCProgram {
        var program = self
        program.metric = metric
        return program
    }

    /// The same program with another metric stage and its score thresholds (`sens-spec`), checked
    /// against the task as `ProgramCompiler.compile` checks them.
    public func with(metric: Metric, declaredThresholds: [Double]?) throws -> MPCProgram {
        var program = with(metric: metric)
        program.scoreThresholds = try ProgramCompiler.scoreThresholds(metric: metric, task: task, classes: classes,
                                                                      declared: declaredThresholds, ringBits: ringBits, scale: scale)
        return program
    }

    /// Output values per image of the HE linear steps: the coefficients the vendor returns per
    /// image (public; it sets the flooding width).
    public var linearOutputsPerImage: Int {
        instructions.filter { $0.kind == .linear }.reduce(0) { $0 + Shape.elementCount($1.outputShape) }
    }
}

/// Which oblivious-transfer engine the nonlinear protocols run on (public, in the program).
public enum OTEngine: String, Sendable, Equatable, Codable, CaseIterable, CustomStringConvertible {
    /// Ferret silent correlated OT (Yang et al., CCS 2020), bootstrapped from IKNP: under one bit of
    /// communication per correlation. The default.
    case silent
    /// IKNP OT extension (Ishai et al. 2003) with KK13 1-of-N: 128 bits per OT.
    case iknp

    public var description: String { rawValue }
}

/// One step of the secure program: what to compute (`step`, with its public operands) on which
/// shared values.
public struct Instruction: Sendable, Equatable, Codable {
    /// What the engines do, without operands (for rewrites, counts and printouts).
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case linear, addConstant, add, truncate, relu, reluTruncate, clip, maxPool, averagePool,
             globalAveragePool, concat, reshape, transpose, pad, signedShift
    }

    /// The model node this step comes from (for messages and the plan printout).
    public var node: String
    public var step: Step
    public var inputs: [String]
    public var output: String
    /// Per-example shapes of `inputs`.
    public var inputShapes: [[Int]]
    /// Per-example output shape.
    public var outputShape: [Int]
    /// The scale power of the output: 1 (scale s) or 2 (scale 2s, a linear output awaiting truncation).
    public var scalePower: Int

    public init(node: String, step: Step, inputs: [String], output: String, inputShapes: [[Int]],
                outputShape: [Int], scalePower: Int = 1) {
        self.node = node
        self.step = step
        self.inputs = inputs
        self.output = output
        self.inputShapes = inputShapes
        self.outputShape = outputShape
        self.scalePower = scalePower
    }

    public var kind: Kind { step.kind }

    /// The linear operands, for a linear step.
    public var linear: LinearStep? {
        if case .linear(let l) = step { return l }
        return nil
    }
}

/// What one instruction computes, with every public operand it needs. Values that are constants
/// of the model but public (clip bounds, pad values) are stored encoded in the ring at scale s, the
/// exact values the engines use.
public enum Step: Sendable, Equatable, Codable {
    /// Weights × shared activation under HE (Conv, Gemm, per-channel scale), then the vendor adds
    /// its bias at scale 2s. The result is at scale 2s until a truncation.
    case linear(LinearStep)
    /// The vendor adds its constant (a bias-only affine, values in its `WeightStore`, broadcast to
    /// the input shape) to its share. Local.
    case addConstant
    /// Sum of two shared activations with numpy broadcasting to the output shape. Local.
    case add
    /// ±x + shift per channel (axis 0) with the vendor's signs and shifts (at scale s, in its
    /// `WeightStore`): one correlated OT per element (`TwoPartySession.negate(_:where:)`).
    case signedShift
    /// Faithful truncation ⌊v / 2^shift⌋ of the signed value.
    case truncate(shift: Int)
    /// max(x, 0).
    case relu
    /// max(⌊x / 2^shift⌋, 0) in one protocol (ReLU fused with the preceding truncation).
    case reluTruncate(shift: Int)
    /// min(max(x, lower), upper) with bounds encoded at scale s; a side without a bound is nil.
    case clip(lower: Int64?, upper: Int64?)
    /// Max over the public windows of a 2-D pooling of each [H, W] plane of the input [C, H, W].
    case maxPool(Pooling)
    /// Window sums, then exact floor division by each window's public divisor.
    case averagePool(Pooling, countIncludePad: Bool)
    /// Sums over everything but axis 0, then exact floor division by that count.
    case globalAveragePool
    /// Concatenation along a per-example axis. Local.
    case concat(axis: Int)
    /// The same values under the output shape. Local.
    case reshape
    /// Axis permutation (per-example axes). Local.
    case transpose(permutation: [Int])
    /// Constant padding, pads = [begin…, end…] per-example axes; the vendor's share holds `value`
    /// (encoded at scale s) at padded positions. Local.
    case pad(pads: [Int], value: Int64)

    public var kind: Instruction.Kind {
        switch self {
        case .linear: .linear
        case .addConstant: .addConstant
        case .add: .add
        case .truncate: .truncate
        case .relu: .relu
        case .reluTruncate: .reluTruncate
        case .clip: .clip
        case .maxPool: .maxPool
        case .averagePool: .averagePool
        case .globalAveragePool: .globalAveragePool
        case .concat: .concat
        case .reshape: .reshape
        case .transpose: .transpose
        case .pad: .pad
        case .signedShift: .signedShift
        }
    }
}

/// The public operands of an HE linear step: the layer's geometry, how the per-example input is
/// split into rows (a fully connected layer on [..., K] is one product per row of K features), the
/// public bound on the vendor's encoded weights (which sizes the HE parameters), and where the bias
/// goes.
public struct LinearStep: Sendable, Equatable, Codable {
    /// Along which axis the vendor's bias varies.
    public enum BiasAxis: String, Sendable, Equatable, Codable {
        /// Per output channel: per-example axis 0 (convolutions, per-channel scales).
        case channel
        /// Per output feature: the last axis (fully connected layers).
        case lastAxis
    }

    public var shape: LinearLayerShape
    /// Products per example.
    public var rows: Int
    /// |w| < 2^weightBits for every encoded weight (revealed by design, like the fixed-point scale);
    /// nil only in a program compiled without the vendor's bounds (the plan printout), which cannot run.
    public var weightBits: Int?
    public var biasAxis: BiasAxis
    /// For a per-channel scale whose input is a Concat that only appends channels to the input of
    /// an earlier per-channel scale on the same plane (DenseNet's BatchNorm after each dense layer's
    /// Concat): that step and how many leading channels the two inputs share, share for share (a
    /// Concat is local, so both parties' shares of those channels are the very same values). The
    /// hospital's ciphertexts of those channels, sent for the earlier step, can then serve this one
    /// (`ChannelReuse`); nil when there is nothing to reuse.
    public var reuse: ChannelReuse?

    public init(shape: LinearLayerShape, rows: Int, weightBits: Int?, biasAxis: BiasAxis, reuse: ChannelReuse? = nil) {
        self.shape = shape
        self.rows = rows
        self.weightBits = weightBits
        self.biasAxis = biasAxis
        self.reuse = reuse
    }
}

/// Leading input channels a per-channel-scale step shares with an earlier one (public: it follows
/// from the architecture). Whether the HE layer can actually skip them also depends on both
/// steps' HE plans (same layout and tiling for the batch); the HE backend decides that from
/// public data, identically on both sides.
public struct ChannelReuse: Sendable, Equatable, Codable {
    /// Index of the earlier per-channel-scale instruction.
    public var source: Int
    /// Leading channels both inputs hold identically (> 0).
    public var channels: Int

    public init(source: Int, channels: Int) {
        self.source = source
        self.channels = channels
    }
}

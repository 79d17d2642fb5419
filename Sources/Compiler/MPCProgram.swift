import IR

/// The secure program both parties run: the compiler's output, as data.
///
/// Contract: it holds only public information — the architecture, shapes, the fixed-point format
/// and the protocol chosen for every step — never a weight. Both parties derive it from the same
/// public (weight-stripped) IR and compare `digest()` in the handshake, so they cannot run different
/// programs. The vendor's engine looks weights up in its own IR by `Instruction.node`.
public struct MPCProgram: Sendable, Equatable, Codable {
    /// Version of this format; part of the digest. Version 2: the OT engine (`otEngine`).
    public static let formatVersion = 2

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
    /// The oblivious-transfer engine every comparison, multiplexer and conversion runs on: part of
    /// the digest, so both parties run the same one.
    public var otEngine: OTEngine

    public init(version: Int = MPCProgram.formatVersion, ringBits: Int, scale: Int, formatReason: String,
                inputName: String, inputShape: [Int], classes: Int, logits: String, instructions: [Instruction],
                dropped: [String], rewrites: [String], otEngine: OTEngine = .silent) {
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

/// One step of the secure program.
public struct Instruction: Sendable, Equatable, Codable {
    /// What the engines do.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Weights × shared activation under HE (Conv, Gemm, per-channel scale), then the vendor adds
        /// its bias at scale 2s. The result is at scale 2s until a truncation.
        case linear
        /// The vendor adds a constant to its share (a bias-only affine). Local.
        case addConstant
        /// Sum of two shared activations. Local.
        case add
        /// Faithful truncation by s bits (⌊v / 2^s⌋).
        case truncate
        /// max(x, 0).
        case relu
        /// max(⌊x / 2^s⌋, 0) in one protocol (ReLU fused with the preceding truncation).
        case reluTruncate
        /// min(max(x, lower), upper).
        case clip
        /// Max over public windows.
        case maxPool
        /// Local window sums, then exact division by the public window size.
        case averagePool
        /// Local sums over H·W, then exact division by H·W.
        case globalAveragePool
        /// Data movement, local: concatenation, reshape, transpose, constant padding.
        case concat, reshape, transpose, pad
    }

    /// The IR node this step comes from (the vendor finds the weights there).
    public var node: String
    public var kind: Kind
    public var protocolClass: ProtocolClass
    public var inputs: [String]
    public var output: String
    /// Per-example output shape.
    public var outputShape: [Int]
    /// The scale power of the output: 1 (scale s) or 2 (scale 2s, a linear output awaiting truncation).
    public var scalePower: Int
    /// For a linear step: the public bound |w| ≤ 2^weightBits on the vendor's encoded weights, which
    /// sizes the HE parameters (revealed by design, like the fixed-point scale).
    public var weightBits: Int?

    public init(node: String, kind: Kind, protocolClass: ProtocolClass, inputs: [String], output: String,
                outputShape: [Int], scalePower: Int = 1) {
        self.node = node
        self.kind = kind
        self.protocolClass = protocolClass
        self.inputs = inputs
        self.output = output
        self.outputShape = outputShape
        self.scalePower = scalePower
    }
}

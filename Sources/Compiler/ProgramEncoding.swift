import IR
import Preprocessing
import CryptoPrimitives
import Foundation
import TensorLayout

/// The canonical binary encoding of an `MPCProgram`: what the digest hashes.
///
/// Contract: a bijection between programs and byte strings (`decode(encode(p)) == p`, and
/// `decode` rejects any other bytes), so two programs that differ in any field, any instruction or
/// any operand have different encodings, and different digests (up to SHA-256 collisions). It
/// starts with a domain tag and `MPCProgram.formatVersion`; a decoder of another version refuses the
/// bytes instead of reading them differently. Layout: integers as 8-byte little-endian two's
/// complement, booleans and enum cases as one byte, strings as a length and UTF-8 bytes, arrays as
/// a count and their elements, optionals as a presence byte and the value.
public enum ProgramEncoding {
    /// Domain separation: the digest of a program can never equal a hash of another kind of data.
    static let domain = Array("SecureValidation/MPCProgram\u{0}".utf8)

    /// The canonical bytes of `program`.
    public static func encode(_ program: MPCProgram) -> [UInt8] {
        var w = Writer()
        w.bytes += domain
        w.int(program.version)
        w.int(program.ringBits)
        w.int(program.scale)
        w.string(program.formatReason)
        w.string(program.inputName)
        w.ints(program.inputShape)
        w.int(program.classes)
        w.string(program.logits)
        w.byte(program.otEngine == .silent ? 0 : 1)
        w.strings(program.dropped)
        w.strings(program.rewrites)
        w.int(program.metric.correct.k)
        switch program.metric.opening {
        case .count: w.byte(0)
        case .atLeast(let tau): w.byte(1); w.int64(Int64(bitPattern: tau.bitPattern))
        }
        w.byte(program.metric.scores.map { UInt8(ScoreMetric.allCases.firstIndex(of: $0)! + 1) } ?? 0)
        w.bool(program.metric.allFindings)
        w.bool(program.metric.thresholds != nil)
        if let thresholds = program.metric.thresholds { w.int(thresholds.count); for t in thresholds { w.int64(Int64(bitPattern: t.bitPattern)) } }
        w.bool(program.metric.dpMicroEpsilon != nil)
        if let micro = program.metric.dpMicroEpsilon { w.int(micro) }
        w.byte(program.task == .singleLabel ? 0 : 1)
        w.strings(program.findings)
        w.bool(program.scoreThresholds != nil)
        if let thresholds = program.scoreThresholds { w.int(thresholds.count); for t in thresholds { w.int64(t) } }
        w.string(program.preprocessing?.canonicalJSON ?? "")
        w.int(program.instructions.count)
        for instruction in program.instructions {
            w.string(instruction.node)
            w.step(instruction.step)
            w.strings(instruction.inputs)
            w.string(instruction.output)
            w.int(instruction.inputShapes.count)
            for shape in instruction.inputShapes { w.ints(shape) }
            w.ints(instruction.outputShape)
            w.int(instruction.scalePower)
        }
        return w.bytes
    }

    /// The program encoded in `bytes`, or an error naming what is wrong (other version, truncated,
    /// an unknown case, trailing bytes).
    public static func decode(_ bytes: [UInt8]) throws(ProgramEncodingError) -> MPCProgram {
        var r = Reader(bytes: bytes)
        guard bytes.count >= domain.count, Array(bytes[..<domain.count]) == domain else { throw .malformed("not an encoded secure program") }
        r.offset = domain.count
        let version = try r.int()
        guard version == MPCProgram.formatVersion else {
            throw .malformed("program format version \(version); this build reads version \(MPCProgram.formatVersion)")
        }
        let ringBits = try r.int(), scale = try r.int()
        let formatReason = try r.string(), inputName = try r.string()
        let inputShape = try r.ints()
        let classes = try r.int()
        let logits = try r.string()
        let otEngine: OTEngine
        switch try r.byte() {
        case 0: otEngine = .silent
        case 1: otEngine = .iknp
        case let tag: throw .malformed("unknown OT engine tag \(tag)")
        }
        let dropped = try r.strings(), rewrites = try r.strings()
        guard let correct = Metric.Correctness(k: try r.int()) else { throw .malformed("a top-k metric with k < 1") }
        let opening: Metric.Opening
        switch try r.byte() {
        case 0: opening = .count
        case 1:
            let tau = Double(bitPattern: UInt64(bitPattern: try r.int64()))
            guard tau.isFinite, (0...1).contains(tau) else { throw .malformed("a threshold \(tau) outside [0, 1]") }
            opening = .atLeast(threshold: tau)
        case let tag: throw .malformed("unknown metric opening tag \(tag)")
        }
        var metric = Metric(correct: correct, opening: opening)
        let scoresTag = try r.byte()
        let allFindings = try r.bool()
        var metricThresholds: [Double]?
        if try r.bool() {
            let n = try r.count()
            var values: [Double] = []
            for _ in 0..<n { values.append(Double(bitPattern: UInt64(bitPattern: try r.int64()))) }
            metricThresholds = values
        }
        var dpMicroEpsilon: Int?
        if try r.bool() {
            let micro = try r.int()
            guard micro >= 1, Double(micro) <= Metric.maximumDPEpsilon * 1e6 else { throw .malformed("a differential-privacy ε of \(micro) millionths") }
            dpMicroEpsilon = micro
        }
        switch scoresTag {
        case 0:
            guard !allFindings, metricThresholds == nil else { throw .malformed("a count metric with a clinical metric's options") }
        case let tag where Int(tag) <= ScoreMetric.allCases.count:
            let scores = ScoreMetric.allCases[Int(tag) - 1]
            guard correct == .top1, opening == .count || scores == .auroc, opening != .count || !allFindings else {
                throw .malformed("a clinical metric with a count metric's options")
            }
            guard metricThresholds == nil || scores == .sensSpec else { throw .malformed("thresholds on a metric other than sens-spec") }
            metric = Metric(scores: scores)
            metric.opening = opening
            metric.allFindings = allFindings
            metric.thresholds = metricThresholds
        case let tag: throw .malformed("unknown clinical metric tag \(tag)")
        }
        if dpMicroEpsilon != nil {
            guard metric.scores == nil || metric.scores == .sensSpec, metric.opening == .count else {
                throw .malformed("differential privacy on a metric other than an opened count or sens-spec")
            }
            metric.dpMicroEpsilon = dpMicroEpsilon
        }
        let task: ModelTask
        switch try r.byte() {
        case 0: task = .singleLabel
        case 1: task = .multiLabel
        case let tag: throw .malformed("unknown task tag \(tag)")
        }
        let findings = try r.strings()
        var scoreThresholds: [Int64]?
        if try r.bool() {
            let n = try r.count()
            var values: [Int64] = []
            for _ in 0..<n { values.append(try r.int64()) }
            scoreThresholds = values
        }
        let preprocessingText = try r.string()
        var preprocessing: Preprocessing?
        if !preprocessingText.isEmpty {
            do { preprocessing = try Preprocessing.parse(json: preprocessingText) } catch {
                throw .malformed("the preprocessing declaration: \(error.description)")
            }
        }
        let count = try r.count()
        var instructions: [Instruction] = []
        for _ in 0..<count {
            let node = try r.string()
            let step = try r.step()
            let inputs = try r.strings()
            let output = try r.string()
            let shapeCount = try r.count()
            var inputShapes: [[Int]] = []
            for _ in 0..<shapeCount { inputShapes.append(try r.ints()) }
            let outputShape = try r.ints()
            let scalePower = try r.int()
            instructions.append(Instruction(node: node, step: step, inputs: inputs, output: output, inputShapes: inputShapes,
                                            outputShape: outputShape, scalePower: scalePower))
        }
        guard r.offset == bytes.count else { throw .malformed("\(bytes.count - r.offset) bytes after the program") }
        var program = MPCProgram(version: version, ringBits: ringBits, scale: scale, formatReason: formatReason, inputName: inputName,
                                 inputShape: inputShape, classes: classes, logits: logits, instructions: instructions,
                                 dropped: dropped, rewrites: rewrites, otEngine: otEngine, metric: metric)
        program.task = task
        program.findings = findings
        program.scoreThresholds = scoreThresholds
        program.preprocessing = preprocessing
        return program
    }

    struct Writer {
        var bytes: [UInt8] = []
        mutating func byte(_ b: UInt8) { bytes.append(b) }
        mutating func int(_ v: Int) { int64(Int64(v)) }
        mutating func int64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func bool(_ v: Bool) { byte(v ? 1 : 0) }
        mutating func ints(_ v: [Int]) { int(v.count); for x in v { int(x) } }
        mutating func string(_ s: String) { let u = Array(s.utf8); int(u.count); bytes += u }
        mutating func strings(_ v: [String]) { int(v.count); for s in v { string(s) } }
        mutating func optional(_ v: Int64?) { if let v { byte(1); int64(v) } else { byte(0) } }
        mutating func optionalInt(_ v: Int?) { optional(v.map(Int64.init)) }

        mutating func pooling(_ p: Pooling) {
            ints(p.kernel); ints(p.strides); ints(p.dilations); ints(p.pads); bool(p.ceilMode)
        }

        mutating func step(_ step: Step) {
            byte(UInt8(Instruction.Kind.allCases.firstIndex(of: step.kind)!))
            switch step {
            case .linear(let l):
                let s = l.shape
                byte(UInt8(LinearLayerShape.Kind.allCases.firstIndex(of: s.kind)!))
                ints([s.inputChannels, s.inputHeight, s.inputWidth, s.outputChannels, s.kernelHeight, s.kernelWidth])
                ints(s.strides); ints(s.dilations); ints(s.pads)
                int(l.rows)
                optionalInt(l.weightBits)
                byte(l.biasAxis == .channel ? 0 : 1)
                bool(l.reuse != nil)
                if let reuse = l.reuse { int(reuse.source); int(reuse.channels) }
            case .truncate(let shift), .reluTruncate(let shift): int(shift)
            case .clip(let lower, let upper): optional(lower); optional(upper)
            case .maxPool(let p): pooling(p)
            case .averagePool(let p, let includePad): pooling(p); bool(includePad)
            case .concat(let axis): int(axis)
            case .transpose(let permutation): ints(permutation)
            case .pad(let pads, let value): ints(pads); int64(value)
            case .addConstant, .add, .relu, .globalAveragePool, .reshape, .signedShift: break
            }
        }
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func byte() throws(ProgramEncodingError) -> UInt8 {
            guard offset < bytes.count else { throw .malformed("the encoding ends early") }
            defer { offset += 1 }
            return bytes[offset]
        }
        mutating func int64() throws(ProgramEncodingError) -> Int64 {
            guard offset + 8 <= bytes.count else { throw .malformed("the encoding ends early") }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * i) }
            offset += 8
            return Int64(bitPattern: v)
        }
        mutating func int() throws(ProgramEncodingError) -> Int {
            let v = try int64()
            guard let i = Int(exactly: v) else { throw .malformed("an integer out of range") }
            return i
        }
        /// A length or count: non-negative and no larger than the bytes left (every element takes at
        /// least one byte), so a damaged count cannot make the decoder allocate without bound.
        mutating func count() throws(ProgramEncodingError) -> Int {
            let n = try int()
            guard n >= 0, n <= bytes.count - offset else { throw .malformed("a length of \(n) at byte \(offset - 8)") }
            return n
        }
        mutating func bool() throws(ProgramEncodingError) -> Bool {
            switch try byte() {
            case 0: return false
            case 1: return true
            case let b: throw .malformed("a boolean byte \(b)")
            }
        }
        mutating func ints() throws(ProgramEncodingError) -> [Int] {
            let n = try count()
            var out: [Int] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try int()) }
            return out
        }
        mutating func string() throws(ProgramEncodingError) -> String {
            let n = try count()
            let slice = bytes[offset..<(offset + n)]
            offset += n
            guard let s = String(validating: slice, as: UTF8.self) else { throw .malformed("a string that is not UTF-8") }
            return s
        }
        mutating func strings() throws(ProgramEncodingError) -> [String] {
            let n = try count()
            var out: [String] = []
            for _ in 0..<n { out.append(try string()) }
            return out
        }
        mutating func optional() throws(ProgramEncodingError) -> Int64? {
            try bool() ? try int64() : nil
        }
        mutating func pooling() throws(ProgramEncodingError) -> Pooling {
            let kernel = try ints(), strides = try ints(), dilations = try ints(), pads = try ints()
            return Pooling(kernel: kernel, strides: strides, dilations: dilations, pads: pads, ceilMode: try bool())
        }
        mutating func step() throws(ProgramEncodingError) -> Step {
            let tag = Int(try byte())
            guard tag < Instruction.Kind.allCases.count else { throw .malformed("unknown instruction tag \(tag)") }
            switch Instruction.Kind.allCases[tag] {
            case .linear:
                let kindTag = Int(try byte())
                guard kindTag < LinearLayerShape.Kind.allCases.count else { throw .malformed("unknown linear layer tag \(kindTag)") }
                let sizes = try ints()
                guard sizes.count == 6 else { throw .malformed("a linear layer with \(sizes.count) sizes") }
                let strides = try ints(), dilations = try ints(), pads = try ints()
                let shape = LinearLayerShape(kind: LinearLayerShape.Kind.allCases[kindTag], inputChannels: sizes[0], inputHeight: sizes[1],
                                             inputWidth: sizes[2], outputChannels: sizes[3], kernelHeight: sizes[4], kernelWidth: sizes[5],
                                             strides: strides, dilations: dilations, pads: pads)
                let rows = try int()
                let weightBits = try optional().map { Int($0) }
                let axis: LinearStep.BiasAxis
                switch try byte() {
                case 0: axis = .channel
                case 1: axis = .lastAxis
                case let b: throw .malformed("unknown bias axis tag \(b)")
                }
                let reuse = try bool() ? ChannelReuse(source: try int(), channels: try int()) : nil
                return .linear(LinearStep(shape: shape, rows: rows, weightBits: weightBits, biasAxis: axis, reuse: reuse))
            case .addConstant: return .addConstant
            case .add: return .add
            case .truncate: return .truncate(shift: try int())
            case .relu: return .relu
            case .reluTruncate: return .reluTruncate(shift: try int())
            case .clip: return .clip(lower: try optional(), upper: try optional())
            case .maxPool: return .maxPool(try pooling())
            case .averagePool: return .averagePool(try pooling(), countIncludePad: try bool())
            case .globalAveragePool: return .globalAveragePool
            case .concat: return .concat(axis: try int())
            case .reshape: return .reshape
            case .transpose: return .transpose(permutation: try ints())
            case .pad: return .pad(pads: try ints(), value: try int64())
            case .signedShift: return .signedShift
            }
        }
    }
}

/// A byte string that is not a program's canonical encoding.
public enum ProgramEncodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let detail): "not a valid secure program encoding: \(detail)"
        }
    }
}

extension MPCProgram {
    /// SHA-256 of the canonical encoding (`ProgramEncoding`): what the parties compare before any
    /// cryptography.
    public func digest() -> [UInt8] { SHA256Hasher().digest(ProgramEncoding.encode(self)) }

    /// The digest as hex.
    public var digestHex: String { digest().map { String(format: "%02x", $0) }.joined() }
}

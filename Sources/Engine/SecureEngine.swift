import Foundation
import Compiler
import Protocols
import RingArithmetic
import TensorLayout
import Transport

/// One party's engine: runs the secure program on its shares, batch by batch, over one session.
///
/// Contract: both engines run the same program (compared by digest before any cryptography); the
/// vendor's holds its `WeightStore`, the hospital's none. The engine reads nothing but the program
/// and the store: every public operand is in the instruction. Both call the same methods in the
/// same order. Every intermediate value stays secret-shared; nothing is opened
/// here except through `revealCount` / `revealAtLeast`, which open only the agreed metric.
public final class SecureEngine {
    public let program: MPCProgram
    /// The vendor's constants (nil for the hospital).
    public let weights: WeightStore?
    public let session: TwoPartySession
    public let linear: any LinearBackend
    public let format: FixedPointFormat
    /// Pooling windows per instruction index (public geometry).
    private var windows: [Int: PoolingWindows] = [:]
    /// Time and traffic by phase, accumulated over every call.
    public private(set) var profile = EngineProfile()

    public var party: Party { session.party }

    public init(program: MPCProgram, weights: WeightStore?, session: TwoPartySession, linear: any LinearBackend) throws {
        self.program = program
        self.weights = weights
        self.session = session
        self.linear = linear
        format = try FixedPointFormat(ringBits: program.ringBits, scale: program.scale)
        if session.party == .vendor && weights == nil {
            throw EngineError.wrongGraph("the vendor's engine needs the model's weights")
        }
        if session.party == .hospital && weights != nil {
            throw EngineError.wrongGraph("the hospital's engine must not hold the model's weights")
        }
    }

    // MARK: Inference

    /// Shares the hospital's inputs (encoded at scale s): the hospital passes its features, the
    /// vendor nil. Returns this party's share.
    public func shareInputs(_ features: [Float]?, batch: Int) throws -> ArithmeticShare {
        let count = batch * Shape.elementCount(program.inputShape)
        var encoded: [Int64]?
        if party == .hospital {
            guard let features, features.count == count else {
                throw EngineError.inputMismatch("expected \(count) input values for \(batch) example(s), got \(features?.count ?? 0)")
            }
            encoded = try features.enumerated().map { index, value in
                guard let v = format.encode(Double(value)) else {
                    throw EngineError.inputMismatch("example \(index / max(Shape.elementCount(program.inputShape), 1)) has a value that is not finite or too large for \(format)")
                }
                return v
            }
        }
        return try session.share(encoded, count: count, bits: format.ringBits, owner: .hospital)
    }

    /// Runs the program on shared inputs and returns this party's share of the logits
    /// (batch × classes, scale s).
    public func logits(_ input: ArithmeticShare, batch: Int) throws -> ArithmeticShare {
        var values: [String: ArithmeticShare] = [program.inputName: input]
        var lastUse: [String: Int] = [:]
        for (i, instruction) in program.instructions.enumerated() { for name in instruction.inputs { lastUse[name] = i } }
        for (index, instruction) in program.instructions.enumerated() {
            let inputs = try instruction.inputs.map { name in
                guard let value = values[name] else { throw EngineError.programMismatch("step \(index) ('\(instruction.node)') reads '\(name)' before it is computed") }
                return value
            }
            let mark = (Date(), session.channel.statistics)
            let output = try execute(index, instruction, inputs, batch: batch)
            let phase: WritableKeyPath<EngineProfile, EngineProfile.Phase>
            switch instruction.kind {
            case .linear, .signedShift: phase = \.linear
            case .truncate, .relu, .reluTruncate, .clip, .maxPool, .averagePool, .globalAveragePool: phase = \.nonlinear
            default: phase = \.local
            }
            profile.record(phase, since: mark, now: session.channel.statistics)
            values[instruction.output] = output
            for name in instruction.inputs where lastUse[name] == index && name != program.logits { values[name] = nil }
        }
        guard let logits = values[program.logits] else { throw EngineError.programMismatch("the program never computes its logits '\(program.logits)'") }
        return logits
    }

    private func execute(_ index: Int, _ instruction: Instruction, _ inputs: [ArithmeticShare], batch: Int) throws -> ArithmeticShare {
        let x = inputs[0]
        let inputShapes = instruction.inputShapes
        switch instruction.step {
        case .linear(let step):
            return try linear.linear(index, instruction, step, input: x, batch: batch)
        case .addConstant:
            guard party == .vendor else { return x }
            guard case .constant(let perExample) = weights?[index] else {
                throw EngineError.programMismatch("the vendor holds no constant for step \(index) ('\(instruction.node)')")
            }
            return try x.adding(constants: repeated(perExample, batch), party: party)
        case .signedShift:
            // The vendor negates where its sign bit says (one correlated OT per element), then adds
            // its shifts (scale s) to its share.
            let shape = inputShapes[0]
            let channels = shape.first ?? 1, inner = Shape.elementCount(Array(shape.dropFirst()))
            guard party == .vendor else { return try session.negate(x, where: nil) }
            guard case .signedShift(let negate, let shift) = weights?[index], negate.count == channels, shift.count == channels else {
                throw EngineError.programMismatch("the vendor holds no signs and shifts for step \(index) ('\(instruction.node)')")
            }
            var bits: [Bool] = [], shifts: [Int64] = []
            bits.reserveCapacity(x.count)
            shifts.reserveCapacity(x.count)
            for _ in 0..<batch {
                for c in 0..<channels {
                    bits.append(contentsOf: repeatElement(negate[c], count: inner))
                    shifts.append(contentsOf: repeatElement(shift[c], count: inner))
                }
            }
            return try session.negate(x, where: bits).adding(constants: shifts, party: party)
        case .add:
            let out = instruction.outputShape
            let left = try x.gathering(batchIndices(Shape.broadcastIndices(from: inputShapes[0], to: out), inputShapes[0], batch))
            let right = try inputs[1].gathering(batchIndices(Shape.broadcastIndices(from: inputShapes[1], to: out), inputShapes[1], batch))
            return try left.adding(right)
        case .truncate(let shift):
            return try session.truncate(x, shift: shift)
        case .relu:
            return try session.relu(x)
        case .reluTruncate(let shift):
            return try session.reluTruncate(x, shift: shift)
        case .clip(let lower, let upper):
            // max(x, lo) = lo + ReLU(x − lo); min(y, hi) = hi − ReLU(hi − y). Bounds are public; a side
            // without one (nil) costs nothing.
            var y = x
            if let lo = lower {
                y = try session.relu(y.adding(constant: -lo, party: party)).adding(constant: lo, party: party)
            }
            if let hi = upper {
                y = try session.relu(y.negated().adding(constant: hi, party: party)).negated().adding(constant: hi, party: party)
            }
            return y
        case .maxPool(let pool):
            let shape = inputShapes[0]
            let w = poolingWindows(index, pool, shape, countIncludePad: false)
            return try session.maxPool(x, planes: batch * shape[0], planeSize: shape[1] * shape[2],
                                       windows: (0..<(w.outputHeight * w.outputWidth)).map { Array(w.window($0)) })
        case .averagePool(let pool, let includePad):
            let shape = inputShapes[0]
            let w = poolingWindows(index, pool, shape, countIncludePad: includePad)
            let planes = batch * shape[0], plane = shape[1] * shape[2], outPlane = w.outputHeight * w.outputWidth
            var sums = [UInt64](repeating: 0, count: planes * outPlane)
            for p in 0..<planes {
                for o in 0..<outPlane {
                    var sum: UInt64 = 0
                    for offset in w.window(o) { sum &+= x.values[p * plane + offset] }
                    sums[p * outPlane + o] = sum & x.mask
                }
            }
            let divisors = (0..<(planes * outPlane)).map { Int64(w.divisors[$0 % outPlane]) }
            return try divideGrouped(ArithmeticShare(bits: x.bits, values: sums), by: divisors)
        case .globalAveragePool:
            let shape = inputShapes[0]
            let plane = Shape.elementCount(Array(shape.dropFirst()))
            let planes = batch * shape[0]
            var sums = [UInt64](repeating: 0, count: planes)
            for p in 0..<planes {
                var sum: UInt64 = 0
                for i in 0..<plane { sum &+= x.values[p * plane + i] }
                sums[p] = sum & x.mask
            }
            return try session.divide(ArithmeticShare(bits: x.bits, values: sums), by: Int64(plane))
        case .concat(let axis):
            return concat(inputs, shapes: inputShapes, axis: axis, batch: batch)
        case .reshape:
            return x
        case .transpose(let permutation):
            return x.gathering(batchIndices(Shape.transposeSources(shape: inputShapes[0], permutation: permutation), inputShapes[0], batch))
        case .pad(let pads, let v):
            let sources = Shape.padSources(shape: inputShapes[0], pads: pads)
            let n = sources.count, inCount = Shape.elementCount(inputShapes[0])
            var out = [UInt64](repeating: 0, count: n * batch)
            for b in 0..<batch {
                for i in 0..<n {
                    if sources[i] >= 0 { out[b * n + i] = x.values[b * inCount + sources[i]] }
                    else if party == .vendor { out[b * n + i] = UInt64(bitPattern: v) & x.mask }
                }
            }
            return ArithmeticShare(bits: x.bits, values: out)
        }
    }

    /// Exact floor division by public divisors that may differ per element: one division call per
    /// distinct divisor (average pooling without count_include_pad has a few).
    private func divideGrouped(_ x: ArithmeticShare, by divisors: [Int64]) throws -> ArithmeticShare {
        let distinct = Array(Set(divisors)).sorted()
        if distinct.count == 1 { return try session.divide(x, by: distinct[0]) }
        var out = x.values
        for d in distinct {
            let positions = divisors.indices.filter { divisors[$0] == d }
            let part = try session.divide(x.gathering(positions), by: d)
            for (k, position) in positions.enumerated() { out[position] = part.values[k] }
        }
        return ArithmeticShare(bits: x.bits, values: out)
    }

    private func poolingWindows(_ index: Int, _ pool: Pooling, _ shape: [Int], countIncludePad: Bool) -> PoolingWindows {
        if let w = windows[index] { return w }
        let w = pool.windows(height: shape[1], width: shape[2], countIncludePad: countIncludePad)
        windows[index] = w
        return w
    }

    private func repeated(_ values: [Int64], _ batch: Int) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(values.count * batch)
        for _ in 0..<batch { out.append(contentsOf: values) }
        return out
    }

    /// Per-example gather indices extended to the whole batch.
    private func batchIndices(_ perExample: [Int], _ inputShape: [Int], _ batch: Int) -> [Int] {
        let inCount = Shape.elementCount(inputShape)
        var out: [Int] = []
        out.reserveCapacity(perExample.count * batch)
        for b in 0..<batch { for i in perExample { out.append(b * inCount + i) } }
        return out
    }

    private func concat(_ parts: [ArithmeticShare], shapes: [[Int]], axis: Int, batch: Int) -> ArithmeticShare {
        let outer = Shape.elementCount(Array(shapes[0][..<axis]))
        let blocks = shapes.map { Shape.elementCount(Array($0[axis...])) }
        var out: [UInt64] = []
        out.reserveCapacity(blocks.reduce(0, +) * outer * batch)
        for b in 0..<batch {
            for o in 0..<outer {
                for (p, part) in parts.enumerated() {
                    let start = (b * outer + o) * blocks[p]
                    out.append(contentsOf: part.values[start..<(start + blocks[p])])
                }
            }
        }
        return ArithmeticShare(bits: parts[0].bits, values: out)
    }

    // MARK: Metric

    /// Shares of the number of examples in this batch that count as correct under the program's
    /// metric: the predicted class (argmax, lowest index on a tie) equals the hospital's label, or
    /// for top-k the label is among the k largest logits (ties ranked as the argmax ranks them:
    /// lowest index first). The hospital passes its labels, the vendor nil. Nothing is opened.
    public func countCorrect(logits: ArithmeticShare, labels: [Int]?, countBits: Int) throws -> ArithmeticShare {
        let mark = (Date(), session.channel.statistics)
        defer { profile.record(\.metric, since: mark, now: session.channel.statistics) }
        let topK = program.metric.correct.k
        if topK > 1 {
            return try session.countCorrectTopK(logits: logits, classes: program.classes, k: topK, labels: labels, countBits: countBits)
        }
        return try session.countCorrect(logits: logits, classes: program.classes, labels: labels, countBits: countBits)
    }

    /// What the program's metric opened.
    public enum Opened: Sendable, Equatable {
        /// The count of correct images.
        case count(Int64)
        /// Only whether count ≥ ⌈τ·N⌉.
        case atLeast(Bool)
        /// A clinical metric: per finding the AUROC quotient (`auroc`), the sensitivity then the
        /// specificity quotients (`sens-spec`, see `OpenedRatio`), the C×C confusion counts,
        /// (`predictions`, the hospital only; empty at the vendor) every image's scores, or (an
        /// AUROC threshold) one 0/1 bit per finding or one for all.
        case values([Int64])
    }

    /// Opens the program's clinical metric of every image's shared `scores` (`images` × classes,
    /// image after image) to both parties, and nothing else. The hospital passes its labels: per
    /// finding (1 / 0 / −1, row-major) for `auroc` and `sens-spec`, one class per image for
    /// `confusion`; the vendor nil.
    /// - Warning: reveals what the metric opens: call it once, at the end.
    public func openScoreMetric(_ scores: ArithmeticShare, labels: [Int]?, images: Int) throws -> Opened {
        let mark = (Date(), session.channel.statistics)
        defer { profile.record(\.metric, since: mark, now: session.channel.statistics) }
        let k = OpenedRatio.fractionBits
        let shares: ArithmeticShare
        switch program.metric.scores {
        case .auroc?:
            shares = try session.aurocQuotients(scores: scores, labels: labels, images: images, findings: program.classes, fractionBits: k)
            if case .atLeast(let tau) = program.metric.opening {
                // Only whether each opened AUROC (⌊2^k·AUROC⌋ / 2^k) is ≥ τ: 1{q ≥ ⌈2^k·τ⌉}, q defined.
                let bits = try session.quotientsAtLeast(shares, threshold: Int64((tau * Double(1 << k)).rounded(.up)),
                                                        fractionBits: k, all: program.metric.allFindings)
                return .values(try session.open(bits, to: nil)!.map { Int64($0) })
            }
        case .sensSpec?:
            guard let thresholds = program.scoreThresholds else { throw EngineError.wrongGraph("the program's sens-spec stage has no thresholds") }
            if program.metric.dpMicroEpsilon != nil {
                let wide = Swift.max(scores.bits, k + 4, (64 - UInt64(images).leadingZeroBitCount) + 4)
                let counts = try session.operatingPointCounts(scores: scores, labels: labels, images: images, findings: program.classes,
                                                              thresholds: thresholds, ringBits: wide)
                var noise = SecureUniformSource()
                return .values(try Self.openNoisyCounts(counts, metric: program.metric, classes: program.classes, session: session, noise: &noise))
            }
            shares = try session.operatingPointQuotients(scores: scores, labels: labels, images: images, findings: program.classes,
                                                         thresholds: thresholds, fractionBits: k)
        case .confusion?:
            shares = try session.confusionCounts(logits: scores, classes: program.classes, labels: labels, bits: program.ringBits)
        case .predictions?:
            // To the hospital only: the vendor sends its shares and learns nothing back.
            return .values(try session.open(scores, to: .hospital) ?? [])
        case nil:
            throw EngineError.wrongGraph("the program's metric is a count, not a clinical metric")
        }
        return .values(try session.open(shares, to: nil)!)
    }

    /// Opens the program's metric of a shared count over `images` images to both parties, and
    /// nothing else: the count, or only the threshold bit.
    /// - Warning: reveals what the metric opens: call it once, at the end.
    public func openMetric(_ count: ArithmeticShare, images: Int) throws -> Opened {
        var noise = SecureUniformSource()
        return try Self.openCount(count, metric: program.metric, images: images, session: session, noise: &noise)
    }

    /// Opens sens-spec's 4C counts (TP, TN, P, N per finding) with ε-DP: each party adds its own
    /// discrete Laplace noise of scale 2C/ε (`Metric.dpSensitivity`) to each of its shares, drawn from
    /// `noise`, then both learn the noisy counts (and nothing else).
    /// - Warning: reveals the noisy counts: call it only for the agreed metric.
    public static func openNoisyCounts(_ counts: ArithmeticShare, metric: Metric, classes: Int, session: TwoPartySession,
                                       noise: inout some UniformSource) throws -> [Int64] {
        guard let micro = metric.dpMicroEpsilon else { throw EngineError.wrongGraph("noisy counts without differential privacy") }
        let laplace = DiscreteLaplace(microEpsilon: micro, sensitivity: metric.dpSensitivity(classes: classes))
        return try session.open(laplace.addingNoise(to: counts, &noise), to: nil)!
    }

    /// Opens a shared count of correct images out of `images` as `metric.opening` says (the count,
    /// or only whether count ≥ ⌈τ·N⌉), to both parties, on `session` (also a pool's opening, which
    /// runs no model). With `metric.dpMicroEpsilon` each party first adds its own discrete Laplace
    /// noise of scale 1/ε, drawn from `noise`, to its share: the opened value is count + both noises
    /// (the threshold is compared with that noisy count), ε-DP towards each party and outsiders.
    /// - Warning: reveals what `opening` names: call it only for the agreed metric.
    public static func openCount(_ count: ArithmeticShare, metric: Metric, images: Int, session: TwoPartySession,
                                 noise: inout some UniformSource) throws -> Opened {
        var count = count
        if let micro = metric.dpMicroEpsilon {
            count = DiscreteLaplace(microEpsilon: micro).addingNoise(to: count, &noise)
        }
        switch metric.opening {
        case .count: return .count(try session.open(count, to: nil)![0])
        case .atLeast(let tau): return .atLeast(try session.revealAtLeast(count, threshold: ThresholdCount.needed(threshold: tau, images: images), to: nil)!)
        }
    }

    /// Opens a shared count to both parties.
    /// - Warning: reveals the count: call it only for the agreed metric.
    public func revealCount(_ count: ArithmeticShare) throws -> Int64 {
        try session.open(count, to: nil)![0]
    }

    /// Opens only whether count ≥ threshold, to both parties.
    /// - Warning: reveals that one bit.
    public func revealAtLeast(_ count: ArithmeticShare, threshold: Int64) throws -> Bool {
        try session.revealAtLeast(count, threshold: threshold, to: nil)!
    }
}

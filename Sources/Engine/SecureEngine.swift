import Foundation
import Compiler
import IR
import Protocols
import RingArithmetic
import Transport

/// One party's engine: runs the secure program on its shares, batch by batch, over one session.
///
/// Contract: the vendor's engine is built with its full graph (weights), the hospital's with the
/// weight-stripped graph; both with the same program (compared by digest before). Both call the
/// same methods in the same order. Every intermediate value stays secret-shared; nothing is opened
/// here except through `revealCount` / `revealAtLeast`, which open only the agreed metric.
public final class SecureEngine {
    public let program: MPCProgram
    public let graph: Graph
    public let session: TwoPartySession
    public let linear: any LinearBackend
    public let format: FixedPointFormat
    private let nodes: [String: Node]
    /// Pooling windows per instruction index (public geometry).
    private var windows: [Int: PoolingWindows] = [:]
    /// Time and traffic by phase, accumulated over every call.
    public private(set) var profile = EngineProfile()

    public var party: Party { session.party }

    public init(program: MPCProgram, graph: Graph, session: TwoPartySession, linear: any LinearBackend) throws {
        self.program = program
        self.graph = graph
        self.session = session
        self.linear = linear
        format = try FixedPointFormat(ringBits: program.ringBits, scale: program.scale)
        if session.party == .vendor && graph.isStripped {
            throw EngineError.wrongGraph("the vendor's engine needs the model's weights")
        }
        if session.party == .hospital && !graph.isStripped {
            throw EngineError.wrongGraph("the hospital's engine must not hold the model's weights")
        }
        var byName: [String: Node] = [:]
        for node in graph.nodes { byName[node.name] = node }
        nodes = byName
        for instruction in program.instructions where byName[instruction.node] == nil {
            throw EngineError.programMismatch("step '\(instruction.node)' has no node in the model")
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
        var shapes: [String: [Int]] = [program.inputName: program.inputShape]
        var lastUse: [String: Int] = [:]
        for (i, instruction) in program.instructions.enumerated() { for name in instruction.inputs { lastUse[name] = i } }
        for (index, instruction) in program.instructions.enumerated() {
            let inputs = instruction.inputs.map { values[$0]! }
            let inputShapes = instruction.inputs.map { shapes[$0]! }
            let mark = (Date(), session.channel.statistics)
            let output = try execute(index, instruction, inputs, inputShapes, batch: batch)
            let phase: WritableKeyPath<EngineProfile, EngineProfile.Phase>
            switch instruction.kind {
            case .linear: phase = \.linear
            case .truncate, .relu, .reluTruncate, .clip, .maxPool, .averagePool, .globalAveragePool: phase = \.nonlinear
            default: phase = \.local
            }
            profile.record(phase, since: mark, now: session.channel.statistics)
            values[instruction.output] = output
            shapes[instruction.output] = instruction.outputShape
            for name in instruction.inputs where lastUse[name] == index && name != program.logits { values[name] = nil }
        }
        return values[program.logits]!
    }

    private func execute(_ index: Int, _ instruction: Instruction, _ inputs: [ArithmeticShare], _ inputShapes: [[Int]],
                         batch: Int) throws -> ArithmeticShare {
        let x = inputs[0]
        let node = nodes[instruction.node]!
        let s = format.scale
        switch instruction.kind {
        case .linear:
            return try linear.linear(instruction, node: node, input: x, batch: batch)
        case .addConstant:
            guard party == .vendor else { return x }
            guard case .affine(let affine) = node.operation, let shift = affine.shift else {
                throw EngineError.programMismatch("'\(node.name)' is not a constant addition")
            }
            let perExample = try Shape.broadcast(shift, to: inputShapes[0]).values.map { try encode($0, node) }
            return try x.adding(constants: repeated(perExample, batch), party: party)
        case .add:
            let out = instruction.outputShape
            let left = try x.gathering(batchIndices(Shape.broadcastIndices(from: inputShapes[0], to: out), inputShapes[0], batch))
            let right = try inputs[1].gathering(batchIndices(Shape.broadcastIndices(from: inputShapes[1], to: out), inputShapes[1], batch))
            return try left.adding(right)
        case .truncate:
            return try session.truncate(x, shift: s)
        case .relu:
            return try session.relu(x)
        case .reluTruncate:
            return try session.reluTruncate(x, shift: s)
        case .clip:
            guard case .clip(let lower, let upper) = node.operation else { throw EngineError.programMismatch("'\(node.name)' is not a Clip") }
            // max(x, lo) = lo + ReLU(x − lo); min(y, hi) = hi − ReLU(hi − y). Bounds are public; a side
            // without one (nil) costs nothing.
            var y = x
            if let lower {
                let lo = try encode(lower, node)
                y = try session.relu(y.adding(constant: -lo, party: party)).adding(constant: lo, party: party)
            }
            if let upper {
                let hi = try encode(upper, node)
                y = try session.relu(y.negated().adding(constant: hi, party: party)).negated().adding(constant: hi, party: party)
            }
            return y
        case .maxPool:
            let w = try poolingWindows(index, node, inputShapes[0])
            let shape = inputShapes[0]
            return try session.maxPool(x, planes: batch * shape[0], planeSize: shape[1] * shape[2],
                                       windows: (0..<(w.outputHeight * w.outputWidth)).map { Array(w.window($0)) })
        case .averagePool:
            let w = try poolingWindows(index, node, inputShapes[0])
            let shape = inputShapes[0]
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
        case .concat:
            guard case .concat(let axis) = node.operation else { throw EngineError.programMismatch("'\(node.name)' is not a Concat") }
            return concat(inputs, shapes: inputShapes, axis: axis, batch: batch)
        case .reshape:
            return x
        case .transpose:
            guard case .transpose(let permutation) = node.operation else { throw EngineError.programMismatch("'\(node.name)' is not a Transpose") }
            return x.gathering(batchIndices(Shape.transposeSources(shape: inputShapes[0], permutation: permutation), inputShapes[0], batch))
        case .pad:
            guard case .pad(let pads, let value) = node.operation else { throw EngineError.programMismatch("'\(node.name)' is not a Pad") }
            let sources = Shape.padSources(shape: inputShapes[0], pads: pads)
            let n = sources.count, inCount = Shape.elementCount(inputShapes[0])
            let v = try encode(value, node)
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

    private func poolingWindows(_ index: Int, _ node: Node, _ shape: [Int]) throws -> PoolingWindows {
        if let w = windows[index] { return w }
        let w: PoolingWindows
        switch node.operation {
        case .maxPool(let pool): w = pool.windows(height: shape[1], width: shape[2], countIncludePad: false)
        case .averagePool(let pool, let includePad): w = pool.windows(height: shape[1], width: shape[2], countIncludePad: includePad)
        default: throw EngineError.programMismatch("'\(node.name)' is not a pooling op")
        }
        windows[index] = w
        return w
    }

    private func encode(_ value: Float, _ node: Node) throws -> Int64 {
        guard let v = format.encode(Double(value)) else {
            throw EngineError.programMismatch("a constant of '\(node.name)' does not fit \(format)")
        }
        return v
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

    /// Shares of the number of examples in this batch whose predicted class (argmax, lowest index on
    /// a tie) equals the hospital's label. The hospital passes its labels, the vendor nil. Nothing
    /// is opened.
    /// With `topK` > 1, an example counts when its label is among the k largest logits (ties ranked
    /// as the argmax ranks them: lowest index first).
    public func countCorrect(logits: ArithmeticShare, labels: [Int]?, countBits: Int, topK: Int = 1) throws -> ArithmeticShare {
        let mark = (Date(), session.channel.statistics)
        defer { profile.record(\.metric, since: mark, now: session.channel.statistics) }
        if topK > 1 {
            return try session.countCorrectTopK(logits: logits, classes: program.classes, k: topK, labels: labels, countBits: countBits)
        }
        return try session.countCorrect(logits: logits, classes: program.classes, labels: labels, countBits: countBits)
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

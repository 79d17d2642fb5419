import Compiler
import IR
import RingArithmetic

/// A plaintext interpreter of an `MPCProgram` over Z_2^ℓ with naive loops: the test oracle for the
/// compiler's rewrites and operands (its results must equal the FixedPointExecutor's bit for bit).
/// Public operands come from the instructions alone (as in the secure engine); only the weights are
/// looked up in the graph. Written independently of Sources/Reference on purpose.
struct ProgramInterpreter {
    let graph: Graph
    let program: MPCProgram
    var format: FixedPointFormat { try! FixedPointFormat(ringBits: program.ringBits, scale: program.scale) }

    func node(_ name: String) -> Node { graph.nodes.first { $0.name == name }! }

    func encode(_ x: Float, power: Int) -> Int64 { format.encode(Double(x), power: power)! }

    /// Runs one example; returns the logits (signed representatives at scale s).
    func run(_ input: [Float]) -> [Int64] {
        let f = format
        var values: [String: [Int64]] = [program.inputName: input.map { encode($0, power: 1) }]
        var shapes: [String: [Int]] = [program.inputName: program.inputShape]
        for instruction in program.instructions {
            let x = values[instruction.inputs[0]]!
            let inShape = shapes[instruction.inputs[0]]!
            precondition(instruction.inputShapes == instruction.inputs.map { shapes[$0]! }, "step '\(instruction.node)' carries wrong input shapes")
            var out: [Int64]
            switch instruction.kind {
            case .linear:
                out = linear(node(instruction.node), x, inShape, instruction.outputShape)
            case .addConstant:
                guard case .affine(let a) = node(instruction.node).operation, let shift = a.shift else { fatalError() }
                let t = Shape.broadcast(shift, to: inShape).values
                out = x.indices.map { f.wrap(x[$0] &+ encode(t[$0], power: 1)) }
            case .signedShift:
                guard case .signedShift(let signed) = node(instruction.node).operation else { fatalError() }
                let inner = x.count / inShape[0]
                out = x.indices.map { i in
                    let c = i / inner
                    let kept = signed.negate.values[c] == 0 ? x[i] : 0 &- x[i]
                    return f.wrap(kept &+ encode(signed.shift.values[c], power: 1))
                }
            case .add:
                let y = values[instruction.inputs[1]]!
                let yShape = shapes[instruction.inputs[1]]!
                let li = Shape.broadcastIndices(from: inShape, to: instruction.outputShape)
                let ri = Shape.broadcastIndices(from: yShape, to: instruction.outputShape)
                out = li.indices.map { f.wrap(x[li[$0]] &+ y[ri[$0]]) }
            case .truncate:
                guard case .truncate(let shift) = instruction.step, shift == f.scale else { fatalError("truncation by another shift") }
                out = x.map { f.truncate($0) }
            case .relu:
                out = x.map { max($0, 0) }
            case .reluTruncate:
                guard case .reluTruncate(let shift) = instruction.step, shift == f.scale else { fatalError("truncation by another shift") }
                out = x.map { max(f.truncate($0), 0) }
            case .clip:
                guard case .clip(let lo, let hi) = instruction.step else { fatalError() }
                let l = lo ?? Int64.min, h = hi ?? Int64.max
                out = x.map { min(max($0, l), h) }
            case .maxPool, .averagePool:
                out = pool(instruction.step, x, inShape, instruction.outputShape)
            case .globalAveragePool:
                let plane = Shape.elementCount(Array(inShape.dropFirst()))
                out = (0..<inShape[0]).map { c in floorDiv(x[(c * plane)..<((c + 1) * plane)].reduce(0, &+), Int64(plane)) }
            case .concat:
                guard case .concat(let axis) = instruction.step else { fatalError() }
                let parts = instruction.inputs.map { (values[$0]!, shapes[$0]!) }
                let outer = Shape.elementCount(Array(inShape[..<axis]))
                out = []
                for o in 0..<outer {
                    for (v, s) in parts {
                        let inner = Shape.elementCount(Array(s[axis...]))
                        out += v[(o * inner)..<((o + 1) * inner)]
                    }
                }
            case .reshape:
                out = x
            case .transpose:
                guard case .transpose(let perm) = instruction.step else { fatalError() }
                let strides = Shape.strides(inShape)
                let outShape = perm.map { inShape[$0] }
                out = []
                var coordinate = [Int](repeating: 0, count: outShape.count)
                for _ in 0..<Shape.elementCount(outShape) {
                    out.append(x[(0..<perm.count).reduce(0) { $0 + coordinate[$1] * strides[perm[$1]] }])
                    var axis = outShape.count - 1
                    while axis >= 0 { coordinate[axis] += 1; if coordinate[axis] < outShape[axis] { break }; coordinate[axis] = 0; axis -= 1 }
                }
            case .pad:
                fatalError("pad is not used by the test models")
            }
            values[instruction.output] = out
            shapes[instruction.output] = instruction.outputShape
        }
        return values[program.logits]!
    }

    func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { let q = a / b; return (a % b != 0 && a < 0) ? q - 1 : q }

    /// Conv / fully connected / affine with a scale: W·x + bias(2s), wrapped, at scale 2s (no truncation).
    func linear(_ node: Node, _ x: [Int64], _ inShape: [Int], _ outShape: [Int]) -> [Int64] {
        let f = format
        switch node.operation {
        case .convolution(let c):
            let (cin, h, w) = (inShape[0], inShape[1], inShape[2])
            let (cout, oh, ow) = (outShape[0], outShape[1], outShape[2])
            let (kh, kw) = (c.kernel[0], c.kernel[1])
            let weights = c.weight.values.map { encode($0, power: 1) }
            var out = [Int64](repeating: 0, count: cout * oh * ow)
            for o in 0..<cout { for y in 0..<oh { for xx in 0..<ow {
                var acc: Int64 = c.bias.map { encode($0.values[o], power: 2) } ?? 0
                for i in 0..<cin { for ky in 0..<kh { for kx in 0..<kw {
                    let iy = y * c.strides[0] - c.pads[0] + ky * c.dilations[0]
                    let ix = xx * c.strides[1] - c.pads[1] + kx * c.dilations[1]
                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                    acc = acc &+ weights[((o * cin + i) * kh + ky) * kw + kx] &* x[(i * h + iy) * w + ix]
                } } }
                out[(o * oh + y) * ow + xx] = f.wrap(acc)
            } } }
            return out
        case .fullyConnected(let fc):
            let rows = x.count / fc.inputFeatures
            var out: [Int64] = []
            for r in 0..<rows { for o in 0..<fc.outputFeatures {
                var acc: Int64 = fc.bias.map { encode($0.values[o], power: 2) } ?? 0
                for k in 0..<fc.inputFeatures { acc = acc &+ encode(fc.weight.values[o * fc.inputFeatures + k], power: 1) &* x[r * fc.inputFeatures + k] }
                out.append(f.wrap(acc))
            } }
            return out
        case .affine(let a):
            let s = Shape.broadcast(a.scale!, to: inShape).values
            let t = a.shift.map { Shape.broadcast($0, to: inShape).values }
            return x.indices.map { i in f.wrap(x[i] &* encode(s[i], power: 1) &+ (t.map { encode($0[i], power: 2) } ?? 0)) }
        default:
            fatalError("not linear")
        }
    }

    /// Max or average pooling over in-image window positions (the windows are public).
    func pool(_ step: Step, _ x: [Int64], _ inShape: [Int], _ outShape: [Int]) -> [Int64] {
        let (c, h, w) = (inShape[0], inShape[1], inShape[2])
        let (oh, ow) = (outShape[1], outShape[2])
        var out = [Int64](repeating: 0, count: c * oh * ow)
        let (p, isMax, includePad): (Pooling, Bool, Bool)
        switch step {
        case .maxPool(let pool): (p, isMax, includePad) = (pool, true, false)
        case .averagePool(let pool, let include): (p, isMax, includePad) = (pool, false, include)
        default: fatalError()
        }
        for ch in 0..<c { for y in 0..<oh { for xx in 0..<ow {
            var best = Int64.min, sum: Int64 = 0, inside = 0, padded = 0
            for ky in 0..<p.kernel[0] { for kx in 0..<p.kernel[1] {
                let iy = y * p.strides[0] - p.pads[0] + ky * p.dilations[0]
                let ix = xx * p.strides[1] - p.pads[1] + kx * p.dilations[1]
                if iy >= -p.pads[0], iy < h + p.pads[2], ix >= -p.pads[1], ix < w + p.pads[3] { padded += 1 }
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                let v = x[(ch * h + iy) * w + ix]
                best = max(best, v); sum = sum &+ v; inside += 1
            } }
            out[(ch * oh + y) * ow + xx] = isMax ? (inside == 0 ? 0 : best) : floorDiv(format.wrap(sum), Int64(max(includePad ? padded : inside, 1)))
        } } }
        return out
    }
}

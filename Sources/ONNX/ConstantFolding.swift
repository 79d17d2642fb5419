import Foundation
import IR

/// Evaluates nodes whose inputs are all constants at import time (the Shape → Gather → Unsqueeze →
/// Concat chains that exporters emit around Reshape, ConstantOfShape, Cast, arithmetic on weights),
/// and `Shape`/`Size` of an activation, whose shape is static.
enum ConstantFolding {
    typealias Evaluator = @Sendable (NodeContext, [Constant]) throws -> [Constant]

    /// The most values one folded constant may hold (2^26, 512 MB as `Double`): a larger result
    /// (ConstantOfShape, Range or broadcasting of a malformed model) is reported instead of allocated.
    static let maximumElementCount = 1 << 26

    /// Rejects a folded result of `shape` before it is allocated: a negative dim is an error, more
    /// than `maximumElementCount` values (or an overflowing product) is unsupported.
    static func checkResultShape(_ shape: [Int], _ node: NodeContext) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw node.shapeMismatch("negative dimension in \(shape)") }
        guard Shape.isWithinLimit(shape, limit: maximumElementCount) else {
            throw Unsupported(reason: "folding this node would produce a constant of shape \(Shape.describe(shape)), "
                + "more than \(maximumElementCount) values")
        }
    }

    /// Folds the node if possible; nil when an input depends on the model input (except Shape/Size)
    /// or the op has no evaluator.
    static func fold(_ node: NodeContext) throws -> [Constant]? {
        let op = node.node.opType
        if op == "Shape" || op == "Size", case .activation(_, let shape)? = node.inputs.first {
            let c = Constant(shape: [shape.count], values: shape.map(Double.init), isInteger: true)
            return op == "Shape" ? try shapeOf(node, c.values.map { Int($0) }) : [scalar(Double(Shape.elementCount(shape)), integer: true)]
        }
        guard let evaluator = evaluators[op] else { return nil }
        var constants: [Constant] = []
        for value in node.inputs {
            switch value {
            case .constant(let c)?: constants.append(c)
            case .activation?: return nil
            // An omitted optional input: an empty constant the evaluators treat as absent.
            case nil: constants.append(Constant(shape: [0], values: [], isInteger: true))
            }
        }
        let results = try evaluator(node, constants)
        // Every result is a well-formed constant of a bounded size, as the lowerings assume.
        for result in results {
            try checkResultShape(result.shape, node)
            guard Shape.elementCount(result.shape) == result.values.count else {
                throw node.shapeMismatch("folding gives \(result.values.count) values for shape \(Shape.describe(result.shape))")
            }
        }
        return results
    }

    static func scalar(_ v: Double, integer: Bool) -> Constant { Constant(shape: [], values: [v], isInteger: integer) }

    static func shapeOf(_ node: NodeContext, _ dims: [Int]) throws -> [Constant] {
        let rank = dims.count
        var start = try node.int("start", default: 0), end = try node.int("end", default: rank)
        if start < 0 { start += rank }
        if end < 0 { end += rank }
        start = min(max(start, 0), rank)
        end = min(max(end, start), rank)
        let slice = dims[start..<end].map(Double.init)
        return [Constant(shape: [slice.count], values: slice, isInteger: true)]
    }

    /// Numpy-broadcast element-wise combination of two constants.
    static func broadcastBinary(_ a: Constant, _ b: Constant, node: NodeContext, _ op: (Double, Double) -> Double) throws -> Constant {
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            throw node.shapeMismatch("cannot broadcast \(Shape.describe(a.shape)) with \(Shape.describe(b.shape))")
        }
        try checkResultShape(shape, node)
        let ia = Shape.broadcastIndices(from: a.shape, to: shape)
        let ib = Shape.broadcastIndices(from: b.shape, to: shape)
        return Constant(shape: shape, values: (0..<ia.count).map { op(a.values[ia[$0]], b.values[ib[$0]]) },
                        isInteger: a.isInteger && b.isInteger)
    }

    static func binary(_ op: @escaping @Sendable (Double, Double, Bool) -> Double) -> Evaluator {
        { node, c in
            guard c.count == 2 else { throw node.shapeMismatch("expects 2 inputs") }
            let integer = c[0].isInteger && c[1].isInteger
            return [try broadcastBinary(c[0], c[1], node: node) { op($0, $1, integer) }]
        }
    }

    static func unary(_ op: @escaping @Sendable (Double) -> Double) -> Evaluator {
        { _, c in [Constant(shape: c[0].shape, values: c[0].values.map(op), isInteger: c[0].isInteger)] }
    }

    static func reshaped(_ c: Constant, _ shape: [Int]) -> Constant {
        Constant(shape: shape, values: c.values, isInteger: c.isInteger)
    }

    static let evaluators: [String: Evaluator] = [
        "Constant": { node, _ in
            let a = node.node.attributes
            if case .tensor(let t)? = a["value"] { return [Constant(t)] }
            if case .float(let v)? = a["value_float"] { return [scalar(Double(v), integer: false)] }
            if case .floats(let v)? = a["value_floats"] { return [Constant(shape: [v.count], values: v.map(Double.init), isInteger: false)] }
            if case .int(let v)? = a["value_int"] { return [scalar(Double(v), integer: true)] }
            if case .ints(let v)? = a["value_ints"] { return [Constant(shape: [v.count], values: v.map(Double.init), isInteger: true)] }
            throw Unsupported(reason: "Constant without a 'value' tensor (sparse or string constants are not supported)")
        },
        "Identity": { _, c in [c[0]] },
        "Dropout": { _, c in [c[0]] },
        "Shape": { node, c in try shapeOf(node, c[0].shape) },
        "Size": { _, c in [scalar(Double(c[0].elementCount), integer: true)] },
        "Add": binary { a, b, _ in a + b },
        "Sum": { node, c in
            guard var total = c.first else { throw node.shapeMismatch("Sum needs an input") }
            for other in c.dropFirst() { total = try broadcastBinary(total, other, node: node, +) }
            return [total]
        },
        "Sub": binary { a, b, _ in a - b },
        "Mul": binary { a, b, _ in a * b },
        "Div": binary { a, b, integer in integer ? (b == 0 ? 0 : (a / b).rounded(.towardZero)) : a / b },
        "Pow": binary { a, b, _ in pow(a, b) },
        "Neg": unary { -$0 },
        "Sqrt": unary { $0.squareRoot() },
        "Reciprocal": unary { 1 / $0 },
        "Relu": unary { max($0, 0) },
        "Floor": unary { $0.rounded(.down) },
        "Ceil": unary { $0.rounded(.up) },
        "Equal": binary { a, b, _ in a == b ? 1 : 0 },
        "Where": { node, c in
            guard c.count == 3 else { throw node.shapeMismatch("expects 3 inputs") }
            let cx = try broadcastBinary(c[0], c[1], node: node) { cond, x in cond != 0 ? x : .nan }
            var result = try broadcastBinary(cx, c[2], node: node) { x, y in x.isNaN ? y : x }
            result.isInteger = c[1].isInteger && c[2].isInteger
            return [result]
        },
        "Cast": { node, c in
            let type: ONNXDataType
            if node.opset < 6, case .string(let name)? = node.node.attributes["to"] {
                // Cast-1 names the type as a string ("FLOAT", "INT64", …).
                guard let named = (1...16).lazy.compactMap({ ONNXDataType(rawValue: $0) }).first(where: { $0.description.uppercased() == name.uppercased() }) else {
                    throw node.invalidAttribute("to", "unknown type '\(name)'")
                }
                type = named
            } else {
                let to = try node.int("to")
                guard let numbered = ONNXDataType(rawValue: Int32(clamping: to)) else { throw node.invalidAttribute("to", "unknown type \(to)") }
                type = numbered
            }
            if type.isFloatingPoint {
                return [Constant(shape: c[0].shape, values: c[0].values.map { Double(Float($0)) }, isInteger: false)]
            }
            if type == .bool { return [Constant(shape: c[0].shape, values: c[0].values.map { $0 != 0 ? 1 : 0 }, isInteger: true)] }
            return [Constant(shape: c[0].shape, values: c[0].values.map { $0.rounded(.towardZero) }, isInteger: true)]
        },
        "ConstantOfShape": { node, c in
            let shape = c[0].integers
            try checkResultShape(shape, node)
            var fill = scalar(0, integer: false)
            if case .tensor(let t)? = node.node.attributes["value"] { fill = Constant(t) }
            return [Constant(shape: shape, values: [Double](repeating: fill.values.first ?? 0, count: Shape.elementCount(shape)), isInteger: fill.isInteger)]
        },
        "Unsqueeze": { node, c in
            guard let axesList = node.opset < 13 ? try node.ints("axes") : (c.count > 1 ? c[1].integers : nil) else {
                throw node.invalidAttribute("axes", "is required")
            }
            let rank = c[0].rank + axesList.count
            let axes = Set(try axesList.map { try node.axis($0, rank: rank, attribute: "axes") })
            guard axes.count == axesList.count else { throw node.invalidAttribute("axes", "\(axesList) repeats an axis") }
            var shape: [Int] = []
            var source = c[0].shape.makeIterator()
            for axis in 0..<rank { shape.append(axes.contains(axis) ? 1 : source.next()!) }
            return [reshaped(c[0], shape)]
        },
        "Squeeze": { node, c in
            let axesList = node.opset < 13 ? try node.ints("axes") : (c.count > 1 && c[1].elementCount > 0 ? c[1].integers : nil)
            let axes = try axesList.map { try Set($0.map { try node.axis($0, rank: c[0].rank, attribute: "axes") }) }
                ?? Set(c[0].shape.indices.filter { c[0].shape[$0] == 1 })
            guard axes.allSatisfy({ c[0].shape[$0] == 1 }) else { throw node.shapeMismatch("cannot squeeze an axis whose size is not 1") }
            return [reshaped(c[0], c[0].shape.indices.filter { !axes.contains($0) }.map { c[0].shape[$0] })]
        },
        "Concat": { node, c in
            guard let first = c.first else { throw node.shapeMismatch("Concat needs an input") }
            guard first.rank > 0 else { throw node.shapeMismatch("cannot concatenate scalars") }
            let axis = try node.axis(try node.int("axis"), rank: first.rank)
            var shape = first.shape
            shape[axis] = 0
            for part in c {
                try checkResultShape(part.shape, node)
                guard part.rank == first.rank, part.shape.indices.allSatisfy({ $0 == axis || part.shape[$0] == first.shape[$0] }) else {
                    throw node.shapeMismatch("inputs \(c.map { Shape.describe($0.shape) }.joined(separator: ", ")) differ outside axis \(axis)")
                }
                shape[axis] += part.shape[axis]
                try checkResultShape(shape, node)
            }
            let outer = Shape.elementCount(Array(first.shape[..<axis]))
            var values: [Double] = []
            values.reserveCapacity(Shape.elementCount(shape))
            for o in 0..<outer {
                for part in c {
                    let inner = Shape.elementCount(Array(part.shape[axis...]))
                    values.append(contentsOf: part.values[(o * inner)..<((o + 1) * inner)])
                }
            }
            return [Constant(shape: shape, values: values, isInteger: c.allSatisfy(\.isInteger))]
        },
        "Gather": { node, c in
            let data = c[0], indices = c[1]
            let axis = try node.axis(try node.int("axis", default: 0), rank: data.rank)
            let n = data.shape[axis]
            let outer = Shape.elementCount(Array(data.shape[..<axis]))
            let inner = Shape.elementCount(Array(data.shape[(axis + 1)...]))
            try checkResultShape(Array(data.shape[..<axis]) + indices.shape + Array(data.shape[(axis + 1)...]), node)
            var values: [Double] = []
            for o in 0..<outer {
                for raw in indices.integers {
                    let i = raw < 0 ? raw + n : raw
                    guard i >= 0, i < n else { throw node.shapeMismatch("index \(raw) out of range for axis size \(n)") }
                    let base = (o * n + i) * inner
                    values.append(contentsOf: data.values[base..<(base + inner)])
                }
            }
            let shape = Array(data.shape[..<axis]) + indices.shape + Array(data.shape[(axis + 1)...])
            return [Constant(shape: shape, values: values, isInteger: data.isInteger)]
        },
        "Reshape": { node, c in
            let requested = node.opset < 5 ? (try node.ints("shape") ?? []) : c[1].integers
            let shape = try resolveReshape(requested, input: c[0].shape, allowZero: try node.int("allowzero", default: 0) != 0, node: node)
            return [reshaped(c[0], shape)]
        },
        "Flatten": { node, c in
            let axis = try node.axis(try node.int("axis", default: 1), rank: c[0].rank + 1)
            return [reshaped(c[0], [Shape.elementCount(Array(c[0].shape[..<axis])), Shape.elementCount(Array(c[0].shape[axis...]))])]
        },
        "Transpose": { node, c in
            let x = c[0]
            let perm = try node.ints("perm") ?? Array((0..<x.rank).reversed())
            guard Set(perm) == Set(0..<x.rank), perm.count == x.rank else { throw node.invalidAttribute("perm", "\(perm) is not a permutation") }
            let outShape = perm.map { x.shape[$0] }
            let inStrides = Shape.strides(x.shape)
            var values = [Double](repeating: 0, count: x.elementCount)
            var coordinate = [Int](repeating: 0, count: x.rank)
            for flat in 0..<values.count {
                var source = 0
                for axis in 0..<x.rank { source += coordinate[axis] * inStrides[perm[axis]] }
                values[flat] = x.values[source]
                Shape.advance(&coordinate, within: outShape)
            }
            return [Constant(shape: outShape, values: values, isInteger: x.isInteger)]
        },
        "Slice": { node, c in
            let x = c[0]
            let starts: [Int], ends: [Int], axesList: [Int]?, steps: [Int]?
            if node.opset < 10 {
                starts = try node.ints("starts") ?? []
                ends = try node.ints("ends") ?? []
                axesList = try node.ints("axes")
                steps = nil
            } else {
                starts = c[1].integers
                ends = c[2].integers
                axesList = c.count > 3 && c[3].elementCount > 0 ? c[3].integers : nil
                steps = c.count > 4 && c[4].elementCount > 0 ? c[4].integers : nil
            }
            let axes = try (axesList ?? Array(0..<starts.count)).map { try node.axis($0, rank: x.rank, attribute: "axes") }
            guard starts.count == axes.count, ends.count == axes.count, steps.map({ $0.count == axes.count }) ?? true else {
                throw node.shapeMismatch("starts/ends/axes/steps lengths differ")
            }
            guard Set(axes).count == axes.count else { throw node.shapeMismatch("axes \(axes) repeat an axis") }
            var ranges = x.shape.map { (start: 0, step: 1, count: $0) }
            for (i, axis) in axes.enumerated() {
                let n = x.shape[axis]
                let step = steps?[i] ?? 1
                guard step != 0 else { throw node.shapeMismatch("step 0") }
                func clampIndex(_ v: Int, _ lo: Int, _ hi: Int) -> Int {
                    let w = v < 0 ? (v < -n ? -1 : v + n) : v
                    return min(max(w, lo), hi)
                }
                // The number of indices s, s + step, … strictly before e (after e for a negative
                // step); computed from the span, which stays within [0, n + 1], so a step of ±Int.max
                // cannot overflow.
                let s: Int, span: Int
                if step > 0 {
                    s = clampIndex(starts[i], 0, n)
                    span = clampIndex(ends[i], 0, n) - s
                } else {
                    s = clampIndex(starts[i], -1, n - 1)
                    span = s - clampIndex(ends[i], -1, n - 1)
                }
                let count = span > 0 ? (span - 1) / Int(clamping: step.magnitude) + 1 : 0
                ranges[axis] = (s, step, count)
            }
            let outShape = ranges.map(\.count)
            let strides = Shape.strides(x.shape)
            var values: [Double] = []
            var coordinate = [Int](repeating: 0, count: x.rank)
            let total = Shape.elementCount(outShape)
            for _ in 0..<total {
                var source = 0
                for axis in 0..<x.rank { source += (ranges[axis].start + coordinate[axis] * ranges[axis].step) * strides[axis] }
                values.append(x.values[source])
                Shape.advance(&coordinate, within: outShape)
            }
            return [Constant(shape: outShape, values: values, isInteger: x.isInteger)]
        },
        "Range": { node, c in
            guard c.allSatisfy({ $0.elementCount == 1 }) else { throw node.shapeMismatch("start, limit and delta must be scalars") }
            let start = c[0].values[0], limit = c[1].values[0], delta = c[2].values[0]
            guard delta != 0 else { throw node.shapeMismatch("delta 0") }
            let steps = ((limit - start) / delta).rounded(.up)
            guard steps.isFinite else { throw node.shapeMismatch("start \(start), limit \(limit) and delta \(delta) give no finite range") }
            guard steps <= Double(maximumElementCount) else {
                throw Unsupported(reason: "folding this Range would produce \(steps) values, more than \(maximumElementCount)")
            }
            let count = steps > 0 ? Int(steps) : 0
            return [Constant(shape: [count], values: (0..<count).map { start + Double($0) * delta }, isInteger: c[0].isInteger)]
        },
    ]
}

import Transport

extension TwoPartySession {
    /// Argmax over the last axis: `logits` holds groups of `classes` consecutive values (one group
    /// per example); the result holds, per group, shares of the index of the largest signed value
    /// (the lowest index among equal maxima, like the reference `argmax`) and shares of that value.
    ///
    /// A tournament tree over each group, all groups advancing one level at a time:
    /// 1. Pair adjacent candidates (left has the lower indices); sel = 1{right > left}
    ///    = NOT 1{left ≥ right}, so ties keep the left, lower index.
    /// 2. One multiplexer batch moves both value and index: v = v_l + sel·(v_r − v_l),
    ///    i = i_l + sel·(i_r − i_l). An odd last candidate passes through.
    ///
    /// Indices start as public constants (the vendor's share holds them). Reveals nothing; rounds
    /// are ⌈log2 classes⌉ times those of one comparison and one multiplexer.
    public func argmax(_ logits: ArithmeticShare, classes: Int, range: ComparisonRange = .full) throws -> (index: ArithmeticShare, maximum: ArithmeticShare) {
        guard classes >= 1, logits.count % classes == 0 else {
            throw ProtocolError.invalidParameter(operation: "argmax", reason: "\(logits.count) logits do not split into groups of \(classes) classes")
        }
        guard classes < (1 << Swift.min(logits.bits - 1, 62)) else {
            throw ProtocolError.invalidParameter(operation: "argmax", reason: "\(classes) classes do not fit in the signed \(logits.bits)-bit ring")
        }
        let groups = logits.count / classes
        let bits = logits.bits, m = logits.mask
        var values: [[UInt64]] = (0..<groups).map { Array(logits.values[($0 * classes)..<(($0 + 1) * classes)]) }
        var indices: [[UInt64]] = Array(repeating: (0..<classes).map { party == .vendor ? UInt64($0) : 0 }, count: groups)
        var width = classes
        while width > 1 {
            let pairs = width / 2
            var left: [UInt64] = [], right: [UInt64] = [], leftIndex: [UInt64] = [], rightIndex: [UInt64] = []
            left.reserveCapacity(groups * pairs)
            right.reserveCapacity(groups * pairs)
            for g in 0..<groups {
                for p in 0..<pairs {
                    left.append(values[g][2 * p]); right.append(values[g][2 * p + 1])
                    leftIndex.append(indices[g][2 * p]); rightIndex.append(indices[g][2 * p + 1])
                }
            }
            let l = ArithmeticShare(bits: bits, values: left), r = ArithmeticShare(bits: bits, values: right)
            let keepLeft = try greaterOrEqual(l, r, range: range)
            let rightWins = keepLeft.not(party: party)
            let differences = ArithmeticShare(bits: bits, values: zip(right, left).map { ($0 &- $1) & m } + zip(rightIndex, leftIndex).map { ($0 &- $1) & m })
            let moved = try multiplex(BooleanShare(bits: rightWins.bits + rightWins.bits), differences)
            let total = groups * pairs
            for g in 0..<groups {
                var nextValues: [UInt64] = [], nextIndices: [UInt64] = []
                for p in 0..<pairs {
                    let t = g * pairs + p
                    nextValues.append((left[t] &+ moved.values[t]) & m)
                    nextIndices.append((leftIndex[t] &+ moved.values[total + t]) & m)
                }
                if width % 2 == 1 {
                    nextValues.append(values[g][width - 1])
                    nextIndices.append(indices[g][width - 1])
                }
                values[g] = nextValues
                indices[g] = nextIndices
            }
            width = (width + 1) / 2
        }
        return (ArithmeticShare(bits: bits, values: indices.map { $0[0] }), ArithmeticShare(bits: bits, values: values.map { $0[0] }))
    }
}

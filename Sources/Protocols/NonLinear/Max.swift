import Transport

/// What a comparison of two shared signed values may assume about its inputs.
public enum ComparisonRange: Sendable, Equatable, Codable {
    /// Exact for all signed ℓ-bit values (three MSB computations and one AND per comparison).
    case full
    /// Exact only when a − b does not wrap, e.g. when both values lie in [−2^(ℓ−2), 2^(ℓ−2));
    /// one DReLU of a − b per comparison (CrypTFlow2's max). The plan must guarantee the range.
    case halfRange
}

extension TwoPartySession {
    /// XOR shares of 1{a ≥ b} for the signed values of two shared tensors.
    ///
    /// `.full`:
    /// 1. One millionaire run gives the MSBs s_a, s_b, s_d of a, b and d = a − b (mod 2^ℓ).
    /// 2. If s_a = s_b, d does not wrap and a ≥ b ⇔ s_d = 0; otherwise a ≥ b ⇔ s_b = 1. So with
    ///    e = s_a ⊕ s_b: 1{a ≥ b} = e ∧ (s_b ⊕ s_d ⊕ 1) ⊕ s_d ⊕ 1 (one AND).
    ///
    /// `.halfRange`: DReLU(a − b).
    ///
    /// Reveals nothing; constant rounds for any batch size.
    public func greaterOrEqual(_ a: ArithmeticShare, _ b: ArithmeticShare, range: ComparisonRange = .full) throws -> BooleanShare {
        try a.checkCompatible(b, "compare")
        let d = try a.subtracting(b)
        switch range {
        case .halfRange:
            return try drelu(d)
        case .full:
            let n = a.count
            let msbs = try mostSignificantBit(ArithmeticShare.concatenating([a, b, d]))
            var e = [UInt8](repeating: 0, count: n), t = e, notSd = e
            let flip: UInt8 = party == .vendor ? 1 : 0
            for i in 0..<n {
                let sa = msbs.bits[i], sb = msbs.bits[n + i], sd = msbs.bits[2 * n + i]
                e[i] = sa ^ sb
                t[i] = sb ^ sd ^ flip
                notSd[i] = sd ^ flip
            }
            return try and(BooleanShare(bits: e), BooleanShare(bits: t)).xor(BooleanShare(bits: notSd))
        }
    }

    /// Shares of max(a, b), element by element (signed): b + 1{a ≥ b}·(a − b).
    public func max(_ a: ArithmeticShare, _ b: ArithmeticShare, range: ComparisonRange = .full) throws -> ArithmeticShare {
        try select(greaterOrEqual(a, b, range: range), a, b)
    }

    /// Max pooling as a tree of pairwise maxima: output o is the signed maximum of
    /// `x[windows[o][0]], x[windows[o][1]], …` (0 for an empty window, as in the reference).
    ///
    /// The window tables are public (they come from the public architecture). All windows advance
    /// one tree level at a time, so the rounds are ⌈log2(largest window)⌉ times those of `max`,
    /// independent of the number of windows. Reveals nothing.
    public func maxPool(_ x: ArithmeticShare, windows: [[Int]], range: ComparisonRange = .full) throws -> ArithmeticShare {
        for window in windows {
            for index in window where !(0..<x.count).contains(index) {
                throw ProtocolError.invalidParameter(operation: "max pool", reason: "window index \(index) is outside the input's \(x.count) elements")
            }
        }
        var candidates: [[UInt64]] = windows.map { $0.map { x.values[$0] } }
        while candidates.contains(where: { $0.count > 1 }) {
            var left: [UInt64] = [], right: [UInt64] = []
            for c in candidates where c.count > 1 {
                for p in 0..<(c.count / 2) {
                    left.append(c[2 * p])
                    right.append(c[2 * p + 1])
                }
            }
            let maxima = try max(ArithmeticShare(bits: x.bits, values: left), ArithmeticShare(bits: x.bits, values: right), range: range)
            var used = 0
            for o in candidates.indices where candidates[o].count > 1 {
                let c = candidates[o]
                var next = Array(maxima.values[used..<(used + c.count / 2)])
                used += c.count / 2
                if c.count % 2 == 1 { next.append(c[c.count - 1]) }
                candidates[o] = next
            }
        }
        return ArithmeticShare(bits: x.bits, values: candidates.map { $0.first ?? 0 })
    }

    /// Max pooling of `planes` planes of `planeSize` elements each with the same per-plane window
    /// table (input offsets within a plane, per output position): the output is planes × windows.
    public func maxPool(_ x: ArithmeticShare, planes: Int, planeSize: Int, windows: [[Int]], range: ComparisonRange = .full) throws -> ArithmeticShare {
        guard planes * planeSize == x.count else {
            throw ProtocolError.countMismatch(operation: "max pool", expected: planes * planeSize, actual: x.count)
        }
        var all: [[Int]] = []
        all.reserveCapacity(planes * windows.count)
        for p in 0..<planes { for w in windows { all.append(w.map { p * planeSize + $0 }) } }
        return try maxPool(x, windows: all, range: range)
    }
}

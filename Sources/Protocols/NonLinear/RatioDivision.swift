import Transport

extension TwoPartySession {
    /// Shares of ⌊2^k · a / b⌋ for shared integers 0 ≤ a ≤ b (element by element), k =
    /// `fractionBits`: restoring long division, one quotient bit per step.
    ///
    /// R = a; for j = 0 … k: (j > 0: R = 2R); t_j = 1{R ≥ b} (one DReLU of R − b); R −= t_j·b and
    /// q += t_j·2^(k−j) (one multiplexer moves both). Invariant: 0 ≤ R < 2b after doubling, so
    /// |R − b| < b. For b = 0 every bit is 1 and q = 2^(k+1) − 1, above every valid quotient: the
    /// opened value says "undefined" (see `OpenedRatio`).
    ///
    /// Requires 2b < 2^(ℓ−1) (`b` below 2^(ℓ−2)), which the caller's ring must guarantee.
    /// Reveals nothing; k + 1 sequential steps of one comparison and one multiplexer each.
    public func divideRatio(_ a: ArithmeticShare, by b: ArithmeticShare, fractionBits k: Int) throws -> ArithmeticShare {
        try a.checkCompatible(b, "ratio division")
        guard k >= 0, k + 2 < a.bits else {
            throw ProtocolError.invalidParameter(operation: "ratio division", reason: "\(k) fractional bits do not fit a \(a.bits)-bit ring")
        }
        let n = a.count, m = a.mask
        var remainder = a
        var quotient = ArithmeticShare.zeros(count: n, bits: a.bits)
        for j in 0...k {
            if j > 0 { remainder = remainder.multiplied(by: 2) }
            let bit = try greaterOrEqual(remainder, b, range: .halfRange)
            let weight = UInt64(1) << UInt64(k - j)
            let constant = [UInt64](repeating: party == .vendor ? weight & m : 0, count: n)
            let moved = try multiplex(BooleanShare(bits: bit.bits + bit.bits), ArithmeticShare(bits: a.bits, values: b.values + constant))
            remainder = try remainder.subtracting(ArithmeticShare(bits: a.bits, values: Array(moved.values[..<n])))
            quotient = try quotient.adding(ArithmeticShare(bits: a.bits, values: Array(moved.values[n...])))
        }
        return quotient
    }
}

import Transport

extension TwoPartySession {
    /// Division by a public constant d ≥ 1: shares of ⌊x / d⌋ of the signed value of x, exactly
    /// (the reference's `floorDivide`, e.g. average pooling's sum / window size).
    ///
    /// Let V = x + 2^(ℓ−1) (unsigned, the vendor adds the constant), v0 + v1 = V + w·2^ℓ,
    /// v_b = q_b·d + r_b, 2^ℓ = Q·d + R and 2^(ℓ−1) = Q'·d + R'. Then
    /// ⌊x / d⌋ = q0 + q1 − w·Q − Q' + ⌊T / d⌋ with T = r0 + r1 − w·R − R' ∈ (−2d, 2d), and
    /// ⌊T / d⌋ = 1{T ≥ d} + 1{T ≥ 0} + 1{T ≥ −d} − 2.
    /// 1. Millionaire on ℓ bits: w = 1{2^ℓ − 1 − v0 < v1}.
    /// 2. B2A of w over Z_2^64 (reduced to Z_2^ℓ for w·Q and to a small ring Z_2^k, 2^(k−1) > 3d,
    ///    for T, where T − θ never wraps).
    /// 3. One DReLU run on the three values T − d, T, T + d over Z_2^k.
    /// 4. B2A of the three bits over Z_2^ℓ and the local sum above.
    ///
    /// Reveals nothing; constant rounds for any batch size. Requires d < 2^61.
    public func divide(_ x: ArithmeticShare, by divisor: Int64) throws -> ArithmeticShare {
        try Self.checkRing(x.bits, "division")
        guard divisor >= 1, divisor < (1 << 61) else {
            throw ProtocolError.invalidParameter(operation: "division", reason: "divisor \(divisor) is outside 1..<2^61")
        }
        if divisor == 1 { return x }
        let l = x.bits, m = x.mask, n = x.count, d = UInt64(divisor)
        let half = UInt64(1) << UInt64(l - 1)
        // 2^ℓ = Q·d + R (computed without overflow for ℓ = 64), 2^(ℓ−1) = Q'·d + R'.
        let R = (m % d + 1) % d
        let Q = m / d &+ (R == 0 ? 1 : 0)
        let Qh = half / d, Rh = half % d
        let v = party == .vendor ? x.values.map { ($0 &+ half) & m } : x.values
        // Step 1.
        let wrapValues = party == .vendor ? v.map { m & ~$0 } : v
        let w = try compare([ComparisonJob(values: wrapValues, bits: l)])[0].less!
        // Step 2.
        let w64 = try toArithmetic(w, bits: 64)
        let k = (64 - (3 * d).leadingZeroBitCount) + 1
        let km = ringMask(k)
        // Step 3: shares of T − d, T, T + d over Z_2^k.
        var tValues = [UInt64](repeating: 0, count: 3 * n)
        for i in 0..<n {
            var t = (v[i] % d) &- w64.values[i] &* R
            if party == .vendor { t = t &- Rh }
            tValues[i] = (party == .vendor ? t &- d : t) & km
            tValues[n + i] = t & km
            tValues[2 * n + i] = (party == .vendor ? t &+ d : t) & km
        }
        let ge = try drelu(ArithmeticShare(bits: k, values: tValues))
        // Step 4.
        let g = try toArithmetic(ge, bits: l)
        var out = [UInt64](repeating: 0, count: n)
        for i in 0..<n {
            var r = (v[i] / d) &- w64.values[i] &* Q &+ g.values[i] &+ g.values[n + i] &+ g.values[2 * n + i]
            if party == .vendor { r = r &- Qh &- 2 }
            out[i] = r & m
        }
        return ArithmeticShare(bits: l, values: out)
    }
}

import Transport

extension TwoPartySession {
    /// Shares over Z_2^L of the signed values of x ∈ Z_2^ℓ (L > ℓ): the same integers in a wider
    /// ring, so that sums and differences that would wrap in ℓ bits do not.
    ///
    /// Let V = x + 2^(ℓ−1) ∈ [0, 2^ℓ) (the vendor adds the constant) with shares v0 + v1 = V + w·2^ℓ.
    /// 1. Millionaire on ℓ bits: w = 1{v0 + v1 ≥ 2^ℓ} = 1{2^ℓ − 1 − v0 < v1}.
    /// 2. B2A of w over Z_2^L.
    /// 3. Locally over Z_2^L: x = v0 + v1 − w·2^ℓ − 2^(ℓ−1).
    ///
    /// Reveals nothing; the rounds of one comparison and one conversion, for any count.
    public func extendSigned(_ x: ArithmeticShare, to wider: Int) throws -> ArithmeticShare {
        try Self.checkRing(x.bits, "sign extension")
        try Self.checkRing(wider, "sign extension")
        guard wider > x.bits else {
            throw ProtocolError.invalidParameter(operation: "sign extension", reason: "the new ring (\(wider) bits) must be wider than \(x.bits) bits")
        }
        if x.count == 0 { return ArithmeticShare(bits: wider, values: []) }
        let l = x.bits, m = x.mask, wm = ringMask(wider)
        let half = UInt64(1) << UInt64(l - 1)
        let v = party == .vendor ? x.values.map { ($0 &+ half) & m } : x.values
        let wrap = try compare([ComparisonJob(values: party == .vendor ? v.map { m & ~$0 } : v, bits: l)])[0].less!
        let w = try toArithmetic(wrap, bits: wider)
        let top = UInt64(1) << UInt64(l)
        return ArithmeticShare(bits: wider, values: (0..<x.count).map { i in
            var value = v[i] &- w.values[i] &* top
            if party == .vendor { value = value &- half }
            return value & wm
        })
    }
}

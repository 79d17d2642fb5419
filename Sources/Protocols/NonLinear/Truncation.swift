import Transport

extension TwoPartySession {
    /// Faithful truncation: shares of ⌊x / 2^s⌋ of the signed value of x, exactly (no error, any x
    /// in [−2^(ℓ−1), 2^(ℓ−1))), matching `FixedPointFormat.truncate`.
    ///
    /// Let u = x + 2^(ℓ−1) (the vendor adds the constant), an unsigned ℓ-bit value with
    /// ⌊x / 2^s⌋ = ⌊u / 2^s⌋ − 2^(ℓ−1−s). With u_b = H_b·2^s + L_b (L_b < 2^s) and
    /// u0 + u1 = u + w·2^ℓ: ⌊u / 2^s⌋ = H0 + H1 + c − w·2^(ℓ−s), where c = 1{L0 + L1 ≥ 2^s}.
    /// 1. One millionaire run: w = 1{2^ℓ − 1 − u0 < u1} (ℓ bits), and c = 1{2^s − 1 − L0 < L1}
    ///    read from the same tree when s is a power-of-two number of digits, else as a second
    ///    s-bit job in the same run.
    /// 2. B2A of w and c over Z_2^ℓ (one batch of correlated OTs).
    /// 3. Locally: H_b + c_b − w_b·2^(ℓ−s), and the vendor subtracts 2^(ℓ−1−s).
    ///
    /// Reveals nothing. Rounds: one millionaire run plus one OT batch, for any batch size.
    public func truncate(_ x: ArithmeticShare, shift s: Int) throws -> ArithmeticShare {
        try Self.checkRing(x.bits, "truncation")
        guard (0..<x.bits).contains(s) else {
            throw ProtocolError.invalidParameter(operation: "truncation", reason: "shift \(s) is outside 0..<\(x.bits)")
        }
        if s == 0 { return x }
        let l = x.bits, m = x.mask, lowMask = ringMask(s)
        let half = UInt64(1) << UInt64(l - 1)
        let u = party == .vendor ? x.values.map { ($0 &+ half) & m } : x.values
        var wrapJob = ComparisonJob(values: party == .vendor ? u.map { m & ~$0 } : u, bits: l)
        // The wrap job's low s bits are the carry job's inputs (2^s − 1 − L0 and L1): when s is a
        // power-of-two number of digits, its tree node over them is c (`prefixDigits`).
        let digitBits = leafDigitBits, digits = s / digitBits
        let wrap: BooleanShare, carry: BooleanShare
        if s % digitBits == 0, digits & (digits - 1) == 0, digits <= wrapJob.digits(width: digitBits) {
            wrapJob.prefixDigits = digits
            let shares = try compare([wrapJob])[0]
            (wrap, carry) = (shares.less!, shares.prefixLess!)
        } else {
            let carryJob = ComparisonJob(values: party == .vendor ? u.map { lowMask &- ($0 & lowMask) } : u.map { $0 & lowMask },
                                         bits: s)
            let shares = try compare([wrapJob, carryJob])
            (wrap, carry) = (shares[0].less!, shares[1].less!)
        }
        let n = x.count
        let bits = try toArithmetic(BooleanShare.concatenating([wrap, carry]), bits: l)
        let offset: UInt64 = party == .vendor ? UInt64(1) << UInt64(l - 1 - s) : 0
        var out = [UInt64](repeating: 0, count: n)
        for i in 0..<n {
            let w = bits.values[i], c = bits.values[n + i]
            out[i] = ((u[i] >> UInt64(s)) &+ c &- (w << UInt64(l - s)) &- offset) & m
        }
        return ArithmeticShare(bits: l, values: out)
    }

    /// Faithful truncation of a shared value known (by construction, e.g. a ReLU output) to lie in
    /// [0, 2^(ℓ−1)): shares of ⌊y / 2^s⌋.
    ///
    /// With MSB(y) = 0, the wrap bit of y0 + y1 is w = m0 ∨ m1 = m0 + m1 − m0·m1, where m_b is the
    /// top bit of y_b; so no ℓ-bit millionaire is needed:
    /// 1. Millionaire on s bits for the low carry c = 1{2^s − 1 − L0 < L1}.
    /// 2. One batch of correlated OTs gives shares of m0·m1 and of c0·c1, hence of w and of c (B2A).
    /// 3. Locally: H_b + c_b − w_b·2^(ℓ−s).
    ///
    /// - Warning: the result is wrong if some y is negative; use `truncate` unless the sign is known.
    public func truncateNonNegative(_ y: ArithmeticShare, shift s: Int) throws -> ArithmeticShare {
        try Self.checkRing(y.bits, "truncation")
        guard (0..<y.bits).contains(s) else {
            throw ProtocolError.invalidParameter(operation: "truncation", reason: "shift \(s) is outside 0..<\(y.bits)")
        }
        if s == 0 { return y }
        let lowMask = ringMask(s)
        let carryValues = party == .vendor ? y.values.map { lowMask &- ($0 & lowMask) } : y.values.map { $0 & lowMask }
        let carry = try compare([ComparisonJob(values: carryValues, bits: s)])[0].less!
        return try truncateAssumingNonNegative(y, shift: s, lowCarry: carry)
    }

    /// Shares of ⌊y / 2^s⌋ given shares of the low carry c = 1{L0 + L1 ≥ 2^s}, correct wherever
    /// y ≥ 0 (elsewhere garbage, e.g. for a multiplexer to zero): one batch of correlated OTs gives
    /// shares of m0·m1 and c0·c1, hence of w = m0 + m1 − m0·m1 and of c; then locally
    /// H_b + c_b − w_b·2^(ℓ−s).
    func truncateAssumingNonNegative(_ y: ArithmeticShare, shift s: Int, lowCarry carry: BooleanShare) throws -> ArithmeticShare {
        let l = y.bits, m = y.mask, n = y.count
        let top = UInt64(l - 1)
        let msbs = y.values.map { UInt8(($0 >> top) & 1) }
        let products = try crossProduct(msbs + carry.bits, bits: l)
        var out = [UInt64](repeating: 0, count: n)
        for i in 0..<n {
            let w = (UInt64(msbs[i]) &- products.values[i]) & m
            let c = (UInt64(carry.bits[i]) &- 2 &* products.values[n + i]) & m
            out[i] = ((y.values[i] >> UInt64(s)) &+ c &- (w << UInt64(l - s))) & m
        }
        return ArithmeticShare(bits: l, values: out)
    }
}

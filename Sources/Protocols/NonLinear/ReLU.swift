import Transport

extension TwoPartySession {
    /// ReLU: shares of max(x, 0) for the signed values of a shared tensor.
    ///
    /// 1. DReLU: shares of b = 1{x ≥ 0} (one millionaire run on the low ℓ−1 bits).
    /// 2. Multiplexer: shares of b·x (two correlated OTs).
    ///
    /// Reveals nothing. Rounds: constant for any batch size.
    public func relu(_ x: ArithmeticShare) throws -> ArithmeticShare {
        try multiplex(drelu(x), x)
    }

    /// ReLU and its DReLU bits (kept for a later use of the sign, e.g. a fused truncation).
    public func reluWithSign(_ x: ArithmeticShare) throws -> (relu: ArithmeticShare, nonNegative: BooleanShare) {
        let b = try drelu(x)
        return (try multiplex(b, x), b)
    }

    /// ReLU fused with the following faithful truncation: shares of ⌊max(x, 0) / 2^s⌋, which equals
    /// max(⌊x / 2^s⌋, 0) (floor is monotone and maps 0 to 0), so it matches the reference's
    /// truncate-then-ReLU and ReLU-then-truncate alike.
    ///
    /// With x_b = H_b·2^s + L_b and m_b the top bit of x_b: where x ≥ 0 (MSB(x) = 0) the wrap bit of
    /// x0 + x1 is w = m0 ∨ m1 = m0 + m1 − m0·m1 (`truncateNonNegative`), so
    /// ⌊x / 2^s⌋ = H0 + H1 + c − w·2^(ℓ−s) with the low carry c = 1{L0 + L1 ≥ 2^s}; where x < 0
    /// the multiplexer below zeroes whatever that formula gives.
    /// 1. One millionaire run: the DReLU's comparison of the low ℓ−1 bits, whose tree node over
    ///    the lowest s bits is c when s is a power-of-two number of digits (3-bit digits on silent
    ///    OT: s = 3, 6, 12, 24; `prefixDigits`), else a second s-bit job in the same run.
    /// 2. DReLU bit b = ¬(m0 ⊕ m1 ⊕ carry); one batch of correlated OTs gives shares of m0·m1 and
    ///    c0·c1, hence of w and c (B2A); locally t_b = H_b + c_b − w_b·2^(ℓ−s).
    /// 3. Multiplexer: b·t.
    ///
    /// Reveals nothing. Against ReLU followed by `truncateNonNegative`, this saves the s-bit
    /// millionaire and its rounds (at ℓ = 37, s = 12 on silent OT: 4 of 16 leaves, 18 of 76 COTs).
    public func reluTruncate(_ x: ArithmeticShare, shift s: Int) throws -> ArithmeticShare {
        try Self.checkRing(x.bits, "truncation")
        guard (0..<x.bits).contains(s) else {
            throw ProtocolError.invalidParameter(operation: "truncation", reason: "shift \(s) is outside 0..<\(x.bits)")
        }
        if s == 0 { return try relu(x) }
        let lowMask = ringMask(s)
        // Step 1.
        var job = lowCarryJob(x)
        let digitBits = leafDigitBits, digits = s / digitBits
        let carry: BooleanShare, lowCarry: BooleanShare
        if s % digitBits == 0, digits & (digits - 1) == 0, digits <= job.digits(width: digitBits) {
            job.prefixDigits = digits
            let shares = try compare([job])[0]
            (carry, lowCarry) = (shares.less!, shares.prefixLess!)
        } else {
            let low = party == .vendor ? x.values.map { lowMask &- ($0 & lowMask) } : x.values.map { $0 & lowMask }
            let shares = try compare([job, ComparisonJob(values: low, bits: s)])
            (carry, lowCarry) = (shares[0].less!, shares[1].less!)
        }
        // Step 2.
        let nonNegative = msb(x, carry: carry).not(party: party)
        let t = try truncateAssumingNonNegative(x, shift: s, lowCarry: lowCarry)
        // Step 3.
        return try multiplex(nonNegative, t)
    }
}

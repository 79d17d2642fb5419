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
    /// 1. ReLU as above: y = max(x, 0), known to be in [0, 2^(ℓ−1)).
    /// 2. Truncate y with `truncateNonNegative`, whose wrap bit costs one OT instead of an ℓ-bit
    ///    millionaire because the MSB of y is known to be 0.
    public func reluTruncate(_ x: ArithmeticShare, shift: Int) throws -> ArithmeticShare {
        try truncateNonNegative(relu(x), shift: shift)
    }
}

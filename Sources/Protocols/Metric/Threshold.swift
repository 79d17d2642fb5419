import Transport

extension TwoPartySession {
    /// XOR shares of 1{count ≥ threshold} for a shared count and a public threshold τ: DReLU of
    /// count − τ (exact while |count − τ| < 2^(ℓ−1)). Reveals nothing.
    public func atLeast(_ count: ArithmeticShare, threshold: Int64) throws -> BooleanShare {
        try drelu(count.adding(constant: -threshold, party: party))
    }

    /// Opens only whether count ≥ τ, to `recipient` (nil: both); non-recipients get nil.
    /// - Warning: reveals that one bit (and nothing else about the count) to the recipient(s).
    public func revealAtLeast(_ count: ArithmeticShare, threshold: Int64, to recipient: Party? = nil) throws -> Bool? {
        try open(atLeast(count, threshold: threshold), to: recipient).map { $0[0] == 1 }
    }
}

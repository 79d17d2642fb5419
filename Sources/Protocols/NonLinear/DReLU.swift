import Transport

extension TwoPartySession {
    /// The millionaire job whose output is the carry of the low ℓ−1 bits of x0 + x1: with
    /// x'_b = x_b mod 2^(ℓ−1), carry = 1{x'0 + x'1 ≥ 2^(ℓ−1)} = 1{2^(ℓ−1) − 1 − x'0 < x'1}.
    func lowCarryJob(_ x: ArithmeticShare) -> ComparisonJob {
        let low = ringMask(x.bits - 1)
        let values = party == .vendor ? x.values.map { low &- ($0 & low) } : x.values.map { $0 & low }
        return ComparisonJob(values: values, bits: x.bits - 1)
    }

    /// XOR shares of the most significant bit of x given shares of the low-bit carry:
    /// MSB(x) = msb(x0) ⊕ msb(x1) ⊕ carry.
    func msb(_ x: ArithmeticShare, carry: BooleanShare) -> BooleanShare {
        let top = UInt64(x.bits - 1)
        var out = carry.bits
        for i in out.indices { out[i] ^= UInt8((x.values[i] >> top) & 1) }
        return BooleanShare(bits: out)
    }

    /// XOR shares of MSB(x) (1 for negative signed values) of a shared tensor over Z_2^ℓ.
    ///
    /// 1. Millionaire on the low ℓ−1 bits (vendor: 2^(ℓ−1) − 1 − x'0, hospital: x'1) gives shares
    ///    of the carry into bit ℓ−1.
    /// 2. Each party XORs the top bit of its own share into its carry share.
    public func mostSignificantBit(_ x: ArithmeticShare) throws -> BooleanShare {
        try Self.checkRing(x.bits, "most significant bit")
        let carry = try compare([lowCarryJob(x)])[0].less!
        return msb(x, carry: carry)
    }

    /// DReLU: XOR shares of 1{x ≥ 0} for the signed values of a shared tensor (CrypTFlow2: the
    /// complement of the MSB, from a millionaire on the low ℓ−1 bits plus the two MSB shares).
    /// Reveals nothing. Rounds: those of one millionaire run, for any batch size.
    public func drelu(_ x: ArithmeticShare) throws -> BooleanShare {
        try mostSignificantBit(x).not(party: party)
    }
}

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
    ///
    /// Cost per element, both parties' bytes, large batches (q = ⌈(ℓ−1)/4⌉ leaves, A AND gates in
    /// the tree: ℓ = 37: q = 9, A = 12; ℓ = 64: q = 16, A = 26):
    ///
    /// | part | silent OT | IKNP + KK13 |
    /// | --- | --- | --- |
    /// | leaf 1-of-16 OTs: 4 d bits + 16 two-bit messages each | 36q bits (ℓ = 37: 40.5 B) | (256 + 32)q bits |
    /// | Boolean triples, one per AND | 2 random bit OTs each: only their COTs | ½ 1-of-16 OT each: 144 bits |
    /// | AND openings: 2 bits each way per AND | 4A bits (6 B) | 4A bits |
    /// | Ferret, amortised: 0.45 bits per COT, 4q + 2A COTs | 60 COTs (3.4 B) | — |
    ///
    /// Measured (`validate-inspect bench primitives`, ℓ = 37): silent 50.8 B (49.9 by the table;
    /// the rest is Ferret iterations counted as they start), IKNP 546 B; before the triples came
    /// from random bit OTs the silent figure had 27 B more (6 two-bit 1-of-16 OTs per element).
    /// The silent engine's CPU time goes mostly into Ferret's COTs (its LPN encoding alone is a
    /// third of the profile), so the number of COTs per element, 4q + 2A, bounds the throughput.
    public func drelu(_ x: ArithmeticShare) throws -> BooleanShare {
        try mostSignificantBit(x).not(party: party)
    }
}

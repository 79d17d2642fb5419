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
    /// Cost per element, both parties' bytes, large batches. IKNP uses 4-bit digits (q = ⌈(ℓ−1)/4⌉
    /// leaves), silent OT 3-bit digits (q = ⌈(ℓ−1)/3⌉, see `leafDigitBits`); A AND gates in the
    /// tree, in G groups sharing eq_hi, P of them pairs. ℓ = 37: IKNP q = 9, A = 12; silent q = 12,
    /// A = 18, G = 11, P = 7. ℓ = 64: silent q = 21, G = 20, P = 15.
    ///
    /// | part | silent OT (m = 3) | IKNP + KK13 (m = 4) |
    /// | --- | --- | --- |
    /// | leaf 1-of-2^m OTs: m d bits + 2^m two-bit messages each | 19q bits (ℓ = 37: 28.5 B) | (256 + 32)q bits |
    /// | Boolean triples | 2 random OTs per group: only their COTs | ½ 1-of-16 OT per AND: 144 bits each |
    /// | AND openings | 2(2G + P) bits (ℓ = 37: 7.3 B) | 4A bits |
    /// | Ferret, amortised: 0.45 bits per COT | 3q + 2G COTs (ℓ = 37: 58, 3.3 B) | — |
    ///
    /// By the table: silent 39.0 B at ℓ = 37. Measured (`validate-inspect bench primitives`, Ferret
    /// iterations counted as they start): silent 40.0 B at ℓ = 37 (48.7 B with 4-bit digits, in the
    /// same run 10 % faster), 70.0 B at ℓ = 64; IKNP 546 B (ℓ = 64: 1,057 B). The silent engine's
    /// CPU time goes mostly into Ferret's COTs (its LPN encoding alone is a third of the profile),
    /// so the COTs per element, 3q + 2G, bound the throughput.
    public func drelu(_ x: ArithmeticShare) throws -> BooleanShare {
        try mostSignificantBit(x).not(party: party)
    }
}

import Transport

extension TwoPartySession {
    /// Multiplexer: additive shares of b·x for a shared bit b = b0 ⊕ b1 and a shared value
    /// x = x0 + x1 over Z_2^ℓ (CrypTFlow2's OT-based multiplexer, with correlated OT).
    ///
    /// b·x_j = b_j·x_j + b_{1−j}·(1 − 2·b_j)·x_j, so for each party j's share:
    /// 1. The vendor is the COT sender with Δ = (1 − 2·b0)·x0 and gets r; the hospital, choosing
    ///    with b1, gets r + b1·Δ.
    /// 2. The hospital is the COT sender with Δ' = (1 − 2·b1)·x1 and gets r'; the vendor, choosing
    ///    with b0, gets r' + b0·Δ'.
    /// 3. Vendor: b0·x0 − r + (r' + b0·Δ'); hospital: (r + b1·Δ) + b1·x1 − r'.
    ///
    /// Reveals nothing: the OTs hide the choice bits and every received value is masked.
    /// Cost per element, both parties: two correlated OTs of ℓ bits, i.e. 2(1 + ℓ) bits and two
    /// COTs on silent OT (ℓ = 37: 9.5 B), 2(128 + ℓ) bits on IKNP; one round trip each way.
    public func multiplex(_ bit: BooleanShare, _ x: ArithmeticShare) throws -> ArithmeticShare {
        guard bit.count == x.count else { throw ProtocolError.countMismatch(operation: "multiplexer", expected: x.count, actual: bit.count) }
        let m = x.mask, n = x.count
        var out = [UInt64](repeating: 0, count: n)
        if n == 0 { return x }
        var deltas = [UInt64](repeating: 0, count: n)
        for i in 0..<n {
            let b = UInt64(bit.bits[i] & 1)
            deltas[i] = ((1 &- 2 &* b) &* x.values[i]) & m
            out[i] = (b &* x.values[i]) & m
        }
        let choices = bit.bits.map { $0 & 1 == 1 }
        if party == .vendor {
            let r = try ot.correlatedSend(deltas: deltas, bits: x.bits)
            let received = try ot.correlatedReceive(choices: choices, bits: x.bits)
            for i in 0..<n { out[i] = (out[i] &- r[i] &+ received[i]) & m }
        } else {
            let received = try ot.correlatedReceive(choices: choices, bits: x.bits)
            let r = try ot.correlatedSend(deltas: deltas, bits: x.bits)
            for i in 0..<n { out[i] = (out[i] &- r[i] &+ received[i]) & m }
        }
        return ArithmeticShare(bits: x.bits, values: out)
    }

    /// Shares of b ? x : y = y + b·(x − y) (one multiplexer).
    public func select(_ bit: BooleanShare, _ x: ArithmeticShare, _ y: ArithmeticShare) throws -> ArithmeticShare {
        try multiplex(bit, x.subtracting(y)).adding(y)
    }
}

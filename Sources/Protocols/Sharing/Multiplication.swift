import Transport

extension TwoPartySession {
    /// Shares of a·b, element by element, for shared a = a0 + a1 and b = b0 + b1 over Z_2^ℓ
    /// (Gilboa's OT-based product, on correlated OT).
    ///
    /// a·b = a0·b0 + a1·b1 + a0·b1 + a1·b0; each party computes its own product locally, and each
    /// cross term takes ℓ correlated OTs, one per bit of the receiver's share: for bit j the sender
    /// gives Δ = a_s·2^j and gets r_j, the receiver choosing with bit j of b_r gets r_j + b_r,j·Δ;
    /// the sender keeps −Σ r_j, the receiver Σ (r_j + b_r,j·Δ), which add to a_s·b_r.
    /// 1. The vendor sends (its a0), the hospital receives (bits of b1).
    /// 2. The hospital sends (its a1), the vendor receives (bits of b0).
    ///
    /// Reveals nothing: the OTs hide the choice bits and every received value is masked by r_j.
    /// Cost per element: 2ℓ correlated OTs of ℓ bits; one round trip each way.
    public func multiply(_ a: ArithmeticShare, _ b: ArithmeticShare) throws -> ArithmeticShare {
        guard a.count == b.count, a.bits == b.bits else {
            throw ProtocolError.countMismatch(operation: "multiplication", expected: a.count, actual: b.count)
        }
        let n = a.count, bits = a.bits, m = a.mask
        if n == 0 { return a }
        var out = (0..<n).map { (a.values[$0] &* b.values[$0]) & m }
        var deltas = [UInt64](repeating: 0, count: n * bits)
        var choices = [Bool](repeating: false, count: n * bits)
        for i in 0..<n {
            for j in 0..<bits {
                deltas[i * bits + j] = (a.values[i] << UInt64(j)) & m
                choices[i * bits + j] = (b.values[i] >> UInt64(j)) & 1 == 1
            }
        }
        func send() throws {
            let r = try ot.correlatedSend(deltas: deltas, bits: bits)
            for i in 0..<n { for j in 0..<bits { out[i] = (out[i] &- r[i * bits + j]) & m } }
        }
        func receive() throws {
            let y = try ot.correlatedReceive(choices: choices, bits: bits)
            for i in 0..<n { for j in 0..<bits { out[i] = (out[i] &+ y[i * bits + j]) & m } }
        }
        if party == .vendor {
            try send()
            try receive()
        } else {
            try receive()
            try send()
        }
        return ArithmeticShare(bits: bits, values: out)
    }
}

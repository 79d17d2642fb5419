import Transport

extension TwoPartySession {
    /// Additive shares over Z_2^bits of a0·a1, where the vendor holds the private bits a0 and the
    /// hospital the private bits a1 (each passes its own `bits`).
    ///
    /// 1. One correlated OT per bit, vendor as sender with Δ = a0: the vendor gets a random x, the
    ///    hospital, choosing with a1, gets x + a1·a0.
    /// 2. Vendor's share: −x; hospital's share: x + a0·a1.
    ///
    /// Reveals nothing (the OT hides a1 from the vendor; x masks a0 from the hospital).
    func crossProduct(_ mine: [UInt8], bits: Int) throws -> ArithmeticShare {
        let m = ringMask(bits)
        if mine.isEmpty { return ArithmeticShare(bits: bits, values: []) }
        if party == .vendor {
            let x = try ot.correlatedSend(deltas: mine.map { UInt64($0 & 1) }, bits: bits)
            return ArithmeticShare(bits: bits, values: x.map { (0 &- $0) & m })
        } else {
            let y = try ot.correlatedReceive(choices: mine.map { $0 & 1 == 1 }, bits: bits)
            return ArithmeticShare(bits: bits, values: y.map { $0 & m })
        }
    }

    /// Converts XOR-shared bits b = b0 ⊕ b1 into additive shares of b over Z_2^bits (B2A):
    /// b = b0 + b1 − 2·b0·b1, the product from `crossProduct` (one correlated OT per bit).
    /// Reveals nothing. Cost per bit: 1 + `bits` bits and one COT on silent OT, 128 + `bits` on IKNP.
    public func toArithmetic(_ share: BooleanShare, bits: Int) throws -> ArithmeticShare {
        try Self.checkRing(bits, "Boolean-to-arithmetic conversion")
        var p = try crossProduct(share.bits, bits: bits)
        let m = ringMask(bits)
        for i in p.values.indices { p.values[i] = (UInt64(share.bits[i] & 1) &- 2 &* p.values[i]) & m }
        return p
    }
}

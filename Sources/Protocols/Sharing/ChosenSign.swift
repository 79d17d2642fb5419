import Transport

extension TwoPartySession {
    /// Shares of (−1)^n_i · x_i for a shared tensor x = x0 + x1 over Z_2^ℓ, where the vendor alone
    /// holds the bits n (`negate`, one per element; the hospital passes nil). A BatchNorm's sign
    /// before a ReLU, once its magnitude has been folded into the next convolution
    /// (`Graph.foldScalesThroughReLUs`).
    ///
    /// (−1)^n·x = (1 − 2n)·x0 + x1 − 2n·x1, and n·x1 is a product of the vendor's bit and the
    /// hospital's value:
    /// 1. One correlated OT per element, the hospital as sender with Δ = x1: it gets r, the
    ///    vendor, choosing with n, gets r + n·x1.
    /// 2. Hospital's share: x1 + 2r; vendor's share: (1 − 2n)·x0 − 2(r + n·x1).
    ///
    /// Reveals nothing: the hospital's view of a correlated OT is independent of the choices, and
    /// the vendor receives x1 masked by r, uniform to it. Cost per element: one COT and ℓ bits from
    /// the hospital to the vendor on silent OT (ℓ = 37: 4.75 B), 128 + ℓ bits on IKNP; one message.
    public func negate(_ x: ArithmeticShare, where negate: [Bool]?) throws -> ArithmeticShare {
        try Self.checkRing(x.bits, "signed shift")
        let m = x.mask, n = x.count
        if n == 0 { return x }
        var out = x.values
        if party == .vendor {
            guard let negate, negate.count == n else {
                throw ProtocolError.countMismatch(operation: "signed shift", expected: n, actual: negate?.count ?? 0)
            }
            let received = try ot.correlatedReceive(choices: negate, bits: x.bits)
            for i in 0..<n {
                let kept = negate[i] ? (0 &- out[i]) : out[i]
                out[i] = (kept &- 2 &* received[i]) & m
            }
        } else {
            let r = try ot.correlatedSend(deltas: x.values, bits: x.bits)
            for i in 0..<n { out[i] = (out[i] &+ 2 &* r[i]) & m }
        }
        return ArithmeticShare(bits: x.bits, values: out)
    }
}

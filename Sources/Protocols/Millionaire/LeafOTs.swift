import Transport

extension TwoPartySession {
    /// Bits per digit m of the millionaires' protocol on this session's OT engine: 3 on an engine
    /// with cheap random bit OTs (silent OT), 4 otherwise (IKNP with Kolesnikov–Kumaresan).
    ///
    /// A leaf costs m d bits plus 2·2^m message bits, and each of the ⌈b/m⌉ − 1 tree combinations
    /// costs one group of AND openings (3 bits each way for a pair, 2 for the lowest) plus its
    /// triples. On silent OT (0.45 bits per COT, triples from two COTs per group) for the
    /// b = ℓ − 1 = 36 bits of a DReLU at ℓ = 37, both parties' bytes:
    ///
    /// | m | leaves | tree groups (pairs) | leaf bits | openings | COTs | total |
    /// | --- | --- | --- | --- | --- | --- | --- |
    /// | 2 | 18 | 17 (12) | 180 | 92 | 70 | 37.9 B, one more AND round |
    /// | 3 | 12 | 11 (7) | 228 | 58 | 58 | 39.0 B |
    /// | 4 | 9 | 8 (4) | 324 | 40 | 52 | 48.4 B |
    ///
    /// m = 3 keeps m = 4's ⌈log2 q⌉ = 4 AND rounds at 36 bits and sends a fifth less; m = 2 saves
    /// another 3 % for one more round and 20 % more COTs (the silent engine's CPU time). On IKNP
    /// every OT costs 128 bits or more, so fewer, wider leaves win (m = 4, CrypTFlow2's choice).
    var leafDigitBits: Int { triplesFromRandomOTs ? 3 : 4 }

    /// The leaves of one millionaire run on 1-of-2^m OTs (m = `digitBits`, 2^m ≤ 32), each party the
    /// sender of half of them so that both cores hash at the same time; the Boolean triples of the
    /// tree are made separately (`correlatedTriples`). This is the silent engine's path;
    /// `sixteenWayOTs` makes leaves and triples together for m = 4 on IKNP.
    ///
    /// Who holds what: `leafDigits[t]` is this party's digit of leaf t (the vendor's digits of x,
    /// the hospital's of y); leaves 0 ..< L/2 have the vendor as sender, the rest the hospital.
    ///
    /// 1. As sender of a leaf with digit d, draw random bits (lt⁰, eq⁰) and offer, for every
    ///    possible digit v of the peer, the 2-bit message (lt⁰ ⊕ 1{x_k < y_k}, eq⁰ ⊕ 1{x_k = y_k})
    ///    with the peer's digit set to v (the vendor holds x_k = d, the hospital y_k = d).
    /// 2. One `chosenExchange1ofN` call (2·2^m bits per leaf, plus m d bits the other way); as
    ///    receiver choose the own digit.
    /// 3. The sender keeps (lt⁰, eq⁰), the receiver the received message.
    ///
    /// Returns the leaf shares as lt | eq << 1 per leaf. Reveals nothing: the OT hides the
    /// receiver's digits, and every received message is masked by the sender's fresh bits.
    func leafOTs(leafDigits: [UInt8], digitBits m: Int) throws -> [UInt8] {
        precondition((1...5).contains(m), "leafOTs: digit width \(m) outside 1...5")
        let n = 1 << m, messageBits = 2 * n
        let leafCount = leafDigits.count, vendorLeaves = leafCount / 2
        if leafCount == 0 { return [] }
        let iAmVendor = party == .vendor
        let myLeaves = iAmVendor ? 0..<vendorLeaves : vendorLeaves..<leafCount
        let peerLeaves = iAmVendor ? vendorLeaves..<leafCount : 0..<vendorLeaves
        let digitMask = UInt8(n - 1)

        // The message tables by own digit d: bits 2v, 2v + 1 for the peer's digit v.
        let table: [UInt64] = (0..<n).map { d in
            var t: UInt64 = 0
            for v in 0..<n {
                let less = iAmVendor ? d < v : v < d
                t |= UInt64(less ? 1 : 0) << UInt64(2 * v) | UInt64(d == v ? 2 : 0) << UInt64(2 * v)
            }
            return t
        }
        let fieldMask: UInt64 = messageBits == 64 ? .max : (UInt64(1) << UInt64(messageBits)) - 1
        let replicated: [UInt64] = (0..<4).map { (UInt64($0) &* 0x5555_5555_5555_5555) & fieldMask }

        // Step 1.
        let random = prg.words((2 * myLeaves.count + 63) / 64)
        var leaves = [UInt8](repeating: 0, count: leafCount)
        var packed = [UInt64](repeating: 0, count: (myLeaves.count * messageBits + 63) / 64)
        packed.withUnsafeMutableBufferPointer { packed in
            leaves.withUnsafeMutableBufferPointer { leaves in
                leafDigits.withUnsafeBufferPointer { digits in
                    for e in 0..<myLeaves.count {
                        let t = myLeaves.lowerBound + e
                        let r = Int((random[(2 * e) >> 6] >> UInt64((2 * e) & 63)) & 3)
                        leaves[t] = UInt8(r)
                        let message = table[Int(digits[t] & digitMask)] ^ replicated[r]
                        let at = e * messageBits
                        packed[at >> 6] |= message << UInt64(at & 63)
                    }
                }
            }
        }

        // Step 2.
        let choices = peerLeaves.map { leafDigits[$0] & digitMask }
        let received = try ot.chosenExchange1ofN(packedMessages: packed, sendCount: myLeaves.count, choices: choices,
                                                 n: n, bits: 2, party: party)

        // Step 3.
        for e in 0..<peerLeaves.count { leaves[peerLeaves.lowerBound + e] = UInt8(truncatingIfNeeded: received[e] & 3) }
        return leaves
    }
}

import Transport

/// One party's share of a batch of Boolean multiplication (Beaver) triples, bit-packed:
/// (a0 ⊕ a1) ∧ (b0 ⊕ b1) = c0 ⊕ c1 for every bit position. Both parties' triples are uniformly
/// random and each party's share reveals nothing about the other's.
struct BooleanTriples {
    var a: [UInt64]
    var b: [UInt64]
    var c: [UInt64]
    /// Number of triples (bits), a multiple of 64.
    var count: Int { a.count * 64 }
}

/// Groups of Boolean triples sharing their first operand, bit-packed: for group bit i (word
/// i / 64 of `a`) and j < `width`, (a0 ⊕ a1) ∧ (b_j0 ⊕ b_j1) = c_j0 ⊕ c_j1, with b_j and c_j in
/// plane j (words j·W ..< (j + 1)·W, W = a.count).
struct CorrelatedTriples {
    var width: Int
    var a: [UInt64]
    var b: [UInt64]
    var c: [UInt64]
    var words: Int { a.count }
}

/// 32-bit tables of 1-of-16 OT messages with 2-bit values: bits 2v, 2v + 1 hold the message offered
/// for choice v (value v of the packed wire layout).
enum SixteenWayTables {
    /// Leaves of the millionaires' protocol, sender holding x's digit d (the vendor): bit 2v set
    /// iff d < v, bit 2v + 1 set iff d = v.
    static let senderHoldsX: [UInt32] = (0..<16).map { d in
        var t: UInt32 = 0
        for v in 0..<16 { t |= (d < v ? 1 : 0) << UInt32(2 * v) | (d == v ? 2 : 0) << UInt32(2 * v) }
        return t
    }

    /// Leaves, sender holding y's digit d (the hospital): bit 2v set iff v < d, bit 2v + 1 iff v = d.
    static let senderHoldsY: [UInt32] = (0..<16).map { d in
        var t: UInt32 = 0
        for v in 0..<16 { t |= (v < d ? 1 : 0) << UInt32(2 * v) | (v == d ? 2 : 0) << UInt32(2 * v) }
        return t
    }

    /// The 2-bit value r offered for every choice.
    static let replicated: [UInt32] = (0..<4).map { UInt32($0) &* 0x5555_5555 }

    /// Triple generation, indexed by the sender's bits a0 | b0 << 1 | c0 << 2 | a0' << 3 | b0' << 4 |
    /// c0' << 5: for choice v = (a1, b1, a1', b1') (bits 0–3 of v) the message is
    /// (c0 ⊕ (a0 ⊕ a1)(b0 ⊕ b1), c0' ⊕ (a0' ⊕ a1')(b0' ⊕ b1')).
    static let triples: [UInt32] = (0..<64).map { (key: Int) -> UInt32 in
        let a0 = key & 1, b0 = (key >> 1) & 1, c0 = (key >> 2) & 1
        let a0p = (key >> 3) & 1, b0p = (key >> 4) & 1, c0p = (key >> 5) & 1
        var t: UInt32 = 0
        for v in 0..<16 {
            let first = c0 ^ ((a0 ^ (v & 1)) & (b0 ^ ((v >> 1) & 1)))
            let second = c0p ^ ((a0p ^ ((v >> 2) & 1)) & (b0p ^ ((v >> 3) & 1)))
            t |= UInt32(first | second << 1) << UInt32(2 * v)
        }
        return t
    }
}

extension TwoPartySession {
    /// Whether this session makes its Boolean triples from random bit OTs (two per triple) rather
    /// than from 1-of-16 OTs (two triples per OT). The choice is the OT engine's cost model: a
    /// 1-of-16 OT of 2-bit messages sends at least 4 + 32 bits besides the engine's own cost, i.e.
    /// at least 18 bits per triple, and two random bit OTs cost 2·`bitsPerRandomBitOT` bits. IKNP:
    /// 2·128 bits (so 1-of-16 OTs, about 144 bits per triple with Kolesnikov–Kumaresan); silent OT:
    /// 2·0.45 bits (Cheetah's triples from silent COTs).
    var triplesFromRandomOTs: Bool { 2 * ot.bitsPerRandomBitOT < 18 }

    /// Generates at least `count` Boolean triples (rounded up to a multiple of 128): from random bit
    /// OTs (`triplesFromRandomBitOTs`) or from 1-of-16 OTs (`sixteenWayOTs(leafDigits:tripleCount:)`),
    /// whichever the engine makes cheaper (`triplesFromRandomOTs`).
    func booleanTriples(count: Int) throws -> BooleanTriples {
        if triplesFromRandomOTs { return try triplesFromRandomBitOTs(count: count) }
        return try sixteenWayOTs(leafDigits: [], tripleCount: count).triples
    }

    /// Boolean triples from two random bit OTs per triple: `correlatedTriples(count:width:)` with
    /// width 1.
    func triplesFromRandomBitOTs(count: Int) throws -> BooleanTriples {
        let t = try correlatedTriples(count: (count + 127) / 128 * 128, width: 1)
        return BooleanTriples(a: t.a, b: t.b, c: t.c)
    }

    /// `count` groups of `width` Boolean triples that share their first operand,
    /// (a ⊕ a')(b_j ⊕ b'_j) = c_j ⊕ c'_j for j < width, from two random OTs of `width`-bit
    /// messages per group, one in each direction (the Gilboa-style product over GF(2) that Cheetah
    /// builds on silent random OT; sharing a is what lets the millionaire's tree open eq_hi ⊕ a
    /// once for its two ANDs).
    ///
    /// 1. The vendor is the sender of `count` random OTs (messages m0, m1, `width` bits); the
    ///    hospital receives with random choices u_h and gets m_{u_h}. Then the other way: the
    ///    hospital sends (n0, n1), the vendor receives with choices u_v and gets n_{u_v}. Nothing
    ///    is sent beyond the OTs themselves.
    /// 2. Vendor: a_v = u_v, b_v = m0 ⊕ m1; hospital: a_h = u_h, b_h = n0 ⊕ n1 (`width` bits each).
    ///    As m_{u_h} = m0 ⊕ a_h·b_v, the pair (m0, m_{u_h}) shares a_h·b_v; (n_{u_v}, n0) shares a_v·b_h.
    /// 3. c_v = a_v·b_v ⊕ m0 ⊕ n_{u_v}, c_h = a_h·b_h ⊕ m_{u_h} ⊕ n0; so c_v ⊕ c_h = (a_v ⊕ a_h)(b_v ⊕ b_h).
    ///
    /// Who holds what: each party its shares, all uniformly random to the other (the choices never
    /// leave the engine; m0, m1 are independent hash outputs of which the receiver sees one).
    /// Cost per group: two random OTs, on silent OT two COTs (about 0.9 bits) whatever the width;
    /// no round trip of its own.
    func correlatedTriples(count: Int, width: Int) throws -> CorrelatedTriples {
        let words = (count + 63) / 64
        if words == 0 { return CorrelatedTriples(width: width, a: [], b: [], c: []) }
        let t = words * 64
        // Step 1.
        let sent: (m0: [UInt64], m1: [UInt64]), received: (choices: [UInt64], messages: [UInt64])
        if party == .vendor {
            sent = try ot.randomBitSend(count: t, width: width)
            received = try ot.randomBitReceive(count: t, width: width)
        } else {
            received = try ot.randomBitReceive(count: t, width: width)
            sent = try ot.randomBitSend(count: t, width: width)
        }
        // Steps 2–3.
        let a = received.choices
        var b = [UInt64](repeating: 0, count: words * width), c = b
        for e in 0..<(words * width) {
            b[e] = sent.m0[e] ^ sent.m1[e]
            c[e] = (a[e % words] & b[e]) ^ sent.m0[e] ^ received.messages[e]
        }
        return CorrelatedTriples(width: width, a: a, b: b, c: c)
    }

    /// The 1-of-16 OTs of one millionaire run — the leaves and the Boolean triples of its tree — in
    /// one call, each party the sender of half of them so that both cores hash at the same time.
    ///
    /// Who holds what: `leafDigits[t]` is this party's digit of leaf t (the vendor's digits of x,
    /// the hospital's of y). Leaves 0 ..< L/2 and triple OTs 0 ..< T_v have the vendor as sender,
    /// the rest the hospital (T_v = half of the T triple OTs, rounded to whole words).
    ///
    /// 1. Draw the random triple bits a, b (both parties) and c (used where this party is the sender);
    ///    the leaf sender draws a random 2-bit (lt⁰, eq⁰) per leaf.
    /// 2. As sender of a leaf with digit d, offer for every possible digit v of the peer the 2-bit
    ///    message (lt⁰ ⊕ 1{x_k < y_k}, eq⁰ ⊕ 1{x_k = y_k}) evaluated at the peer's digit v (the
    ///    vendor holds x_k = d, the hospital holds y_k = d). As sender of triple OT i (producing
    ///    triples i and i + T), offer (c0 ⊕ (a0 ⊕ a1)(b0 ⊕ b1), c0' ⊕ (a0' ⊕ a1')(b0' ⊕ b1')) for
    ///    every v = (a1, b1, a1', b1').
    /// 3. One `chosenExchange1ofN` call; as receiver choose the own digit, or the own triple bits.
    /// 4. Leaf shares: the sender keeps (lt⁰, eq⁰), the receiver the received message; triple c
    ///    bits of received OTs come from the messages.
    ///
    /// Returns the leaf shares as lt | eq << 1 per leaf. Reveals nothing: the OT hides the
    /// receiver's digits and bits; every received message is masked by the sender's fresh bits.
    func sixteenWayOTs(leafDigits: [UInt8], tripleCount: Int) throws -> (leaves: [UInt8], triples: BooleanTriples) {
        let words = (tripleCount + 127) / 128 * 2
        let half = words * 32                    // triple OTs: T, a multiple of 64
        let vendorTriples = half / 128 * 64      // T_v, whole words
        let leafCount = leafDigits.count, vendorLeaves = leafCount / 2
        if leafCount == 0 && half == 0 { return ([], BooleanTriples(a: [], b: [], c: [])) }
        let iAmVendor = party == .vendor
        let myLeaves = iAmVendor ? 0..<vendorLeaves : vendorLeaves..<leafCount
        let peerLeaves = iAmVendor ? vendorLeaves..<leafCount : 0..<vendorLeaves
        let myTriples = iAmVendor ? 0..<vendorTriples : vendorTriples..<half
        let peerTriples = iAmVendor ? vendorTriples..<half : 0..<vendorTriples

        // Step 1.
        let a = prg.words(words), b = prg.words(words)
        var c = prg.words(words)
        let leafRandom = prg.words((2 * myLeaves.count + 63) / 64)
        var leaves = [UInt8](repeating: 0, count: leafCount)
        /// Bit i of a bit vector.
        @inline(__always) func bit(_ w: UnsafeBufferPointer<UInt64>, _ i: Int) -> UInt64 { (w[i >> 6] >> UInt64(i & 63)) & 1 }

        // Step 2: 32 bits (16 two-bit messages) per instance, my leaves first, then my triple OTs.
        let sendCount = myLeaves.count + myTriples.count
        var packed = [UInt64](repeating: 0, count: (sendCount + 1) / 2)
        let leafTable = iAmVendor ? SixteenWayTables.senderHoldsX : SixteenWayTables.senderHoldsY
        packed.withUnsafeMutableBufferPointer { packed in
            leaves.withUnsafeMutableBufferPointer { leaves in
                leafDigits.withUnsafeBufferPointer { digits in
                    leafTable.withUnsafeBufferPointer { table in
                        SixteenWayTables.replicated.withUnsafeBufferPointer { replicated in
                            leafRandom.withUnsafeBufferPointer { random in
                                for e in 0..<myLeaves.count {
                                    let t = myLeaves.lowerBound + e
                                    let r = Int((random[(2 * e) >> 6] >> UInt64((2 * e) & 63)) & 3)
                                    leaves[t] = UInt8(r)
                                    let message = table[Int(digits[t] & 15)] ^ replicated[r]
                                    packed[e >> 1] |= UInt64(message) << UInt64(32 * (e & 1))
                                }
                            }
                        }
                    }
                }
            }
            SixteenWayTables.triples.withUnsafeBufferPointer { table in
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        c.withUnsafeBufferPointer { c in
                            var e = myLeaves.count
                            for i in myTriples {
                                let j = i + half
                                let key = bit(a, i) | bit(b, i) << 1 | bit(c, i) << 2 | bit(a, j) << 3 | bit(b, j) << 4 | bit(c, j) << 5
                                packed[e >> 1] |= UInt64(table[Int(key)]) << UInt64(32 * (e & 1))
                                e += 1
                            }
                        }
                    }
                }
            }
        }

        // Step 3: choices, the peer's leaves first, then the peer's triple OTs.
        var choices = [UInt8](repeating: 0, count: peerLeaves.count + peerTriples.count)
        choices.withUnsafeMutableBufferPointer { choices in
            leafDigits.withUnsafeBufferPointer { digits in
                for e in 0..<peerLeaves.count { choices[e] = digits[peerLeaves.lowerBound + e] & 15 }
            }
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    var e = peerLeaves.count
                    for i in peerTriples {
                        let j = i + half
                        choices[e] = UInt8(truncatingIfNeeded: bit(a, i) | bit(b, i) << 1 | bit(a, j) << 2 | bit(b, j) << 3)
                        e += 1
                    }
                }
            }
        }
        let received = try ot.chosenExchange1ofN(packedMessages: packed, sendCount: sendCount, choices: choices,
                                                 n: 16, bits: 2, party: party)

        // Step 4.
        received.withUnsafeBufferPointer { received in
            leaves.withUnsafeMutableBufferPointer { leaves in
                for e in 0..<peerLeaves.count { leaves[peerLeaves.lowerBound + e] = UInt8(truncatingIfNeeded: received[e] & 3) }
            }
            if !peerTriples.isEmpty {
                c.withUnsafeMutableBufferPointer { c in
                    for w in (peerTriples.lowerBound / 64)..<(peerTriples.upperBound / 64) {
                        c[w] = 0
                        c[w + half / 64] = 0
                    }
                    var e = peerLeaves.count
                    for i in peerTriples {
                        let m = received[e], j = i + half
                        c[i >> 6] |= (m & 1) << UInt64(i & 63)
                        c[j >> 6] |= ((m >> 1) & 1) << UInt64(j & 63)
                        e += 1
                    }
                }
            }
        }
        return (leaves, BooleanTriples(a: a, b: b, c: c))
    }

    /// Shares of x ∧ y for bit-packed shared bits, consuming triples starting at word `offset`.
    ///
    /// 1. Each party opens d = x ⊕ a and e = y ⊕ b (uniformly random: a, b are fresh).
    /// 2. z = c ⊕ (d∧b) ⊕ (e∧a), and the vendor also XORs d∧e.
    func andPacked(_ x: [UInt64], _ y: [UInt64], triples: BooleanTriples, offset: Int) throws -> [UInt64] {
        let words = x.count
        var mine = [UInt64](repeating: 0, count: 2 * words)
        for w in 0..<words {
            mine[w] = x[w] ^ triples.a[offset + w]
            mine[words + w] = y[w] ^ triples.b[offset + w]
        }
        let theirs = try exchange(mine)
        let leader: UInt64 = isLeader ? .max : 0
        var z = [UInt64](repeating: 0, count: words)
        for w in 0..<words {
            let d = mine[w] ^ theirs[w], e = mine[words + w] ^ theirs[words + w]
            z[w] = triples.c[offset + w] ^ (d & triples.b[offset + w]) ^ (e & triples.a[offset + w]) ^ (d & e & leader)
        }
        return z
    }

    /// Shares of x ∧ y for shared bits (element by element).
    ///
    /// 1. Generate triples (1-of-16 OT, two triples per instance).
    /// 2. Open d = x ⊕ a, e = y ⊕ b (one round trip) and combine locally.
    public func and(_ x: BooleanShare, _ y: BooleanShare) throws -> BooleanShare {
        guard x.count == y.count else { throw ProtocolError.countMismatch(operation: "and", expected: x.count, actual: y.count) }
        let triples = try booleanTriples(count: x.count)
        let z = try andPacked(BitPacking.pack(x.bits), BitPacking.pack(y.bits), triples: triples, offset: 0)
        return BooleanShare(bits: BitPacking.unpack(z, count: x.count))
    }
}

import Transport

/// One party's share of a batch of Boolean multiplication (Beaver) triples, bit-packed:
/// (a0 ⊕ a1) ∧ (b0 ⊕ b1) = c0 ⊕ c1 for every bit position. Both parties' triples are uniformly
/// random and each party's share reveals nothing about the other's.
struct BooleanTriples {
    var a: [UInt64]
    var b: [UInt64]
    var c: [UInt64]
    /// Number of triples (bits), a multiple of 128.
    var count: Int { a.count * 64 }
}

extension TwoPartySession {
    /// Generates at least `count` Boolean triples (rounded up to a multiple of 128), two per 1-of-16
    /// OT of 2-bit messages (CrypTFlow2's triple generation; with Kolesnikov–Kumaresan OT about
    /// 36 bytes per pair of triples, versus 64 bytes for two random OTs per triple).
    ///
    /// 1. The vendor draws random bits (a0, b0, c0) and (a0', b0', c0') for the two triples of each
    ///    OT instance; the hospital draws random (a1, b1, a1', b1').
    /// 2. 1-of-16 OT, vendor as sender: for each possible choice v = (a1, b1, a1', b1') the vendor
    ///    offers the 2-bit message (c0 ⊕ (a0 ⊕ a1)(b0 ⊕ b1), c0' ⊕ (a0' ⊕ a1')(b0' ⊕ b1')); the
    ///    hospital chooses with its own bits and gets (c1, c1').
    ///
    /// Reveals nothing: the OT hides the hospital's bits, and c0, c0' mask what it receives.
    func booleanTriples(count: Int) throws -> BooleanTriples {
        let words = (count + 127) / 128 * 2
        let n = words * 64, half = n / 2
        if n == 0 { return BooleanTriples(a: [], b: [], c: []) }
        let a = prg.words(words), b = prg.words(words)
        @inline(__always) func bit(_ w: [UInt64], _ i: Int) -> UInt64 { (w[i >> 6] >> UInt64(i & 63)) & 1 }
        if party == .vendor {
            let c = prg.words(words)
            var messages = [UInt64](repeating: 0, count: half * 16)
            messages.withUnsafeMutableBufferPointer { msg in
                for i in 0..<half {
                    let j = i + half
                    let a0 = bit(a, i), b0 = bit(b, i), c0 = bit(c, i)
                    let a0p = bit(a, j), b0p = bit(b, j), c0p = bit(c, j)
                    for v in 0..<UInt64(16) {
                        let first = c0 ^ ((a0 ^ (v & 1)) & (b0 ^ ((v >> 1) & 1)))
                        let second = c0p ^ ((a0p ^ ((v >> 2) & 1)) & (b0p ^ ((v >> 3) & 1)))
                        msg[16 * i + Int(v)] = first | (second << 1)
                    }
                }
            }
            try ot.chosenSend1ofN(messages: messages, n: 16, bits: 2)
            return BooleanTriples(a: a, b: b, c: c)
        } else {
            var choices = [UInt8](repeating: 0, count: half)
            for i in 0..<half {
                let j = i + half
                choices[i] = UInt8(bit(a, i) | (bit(b, i) << 1) | (bit(a, j) << 2) | (bit(b, j) << 3))
            }
            let received = try ot.chosenReceive1ofN(choices: choices, n: 16, bits: 2)
            var c = [UInt64](repeating: 0, count: words)
            for i in 0..<half {
                c[i >> 6] |= (received[i] & 1) << UInt64(i & 63)
                let j = i + half
                c[j >> 6] |= ((received[i] >> 1) & 1) << UInt64(j & 63)
            }
            return BooleanTriples(a: a, b: b, c: c)
        }
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

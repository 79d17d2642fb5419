import Transport

/// One batch of private comparisons inside a millionaires' protocol run: the vendor holds x, the
/// hospital holds y (both `bits`-bit unsigned), and the outputs are XOR shares of 1{x < y} and/or
/// 1{x = y}.
struct ComparisonJob {
    /// This party's inputs (x at the vendor, y at the hospital), each < 2^bits.
    var values: [UInt64]
    var bits: Int
    var wantLess: Bool = true
    var wantEqual: Bool = false

    var digits: Int { max(1, (bits + 3) / 4) }
}

/// The shares a comparison job produces.
struct ComparisonShares {
    var less: BooleanShare?
    var equal: BooleanShare?
}

extension TwoPartySession {
    /// Millionaires' comparison of private inputs: the vendor holds x, the hospital holds y (each
    /// `bits`-bit unsigned, given as this party's `values`), and both get XOR shares of 1{x < y}.
    /// Reveals nothing to either party. See `compare(_:)` for the steps.
    public func lessThan(_ values: [UInt64], bits: Int) throws -> BooleanShare {
        try compare([ComparisonJob(values: values, bits: bits)])[0].less!
    }

    /// Private equality: XOR shares of 1{x = y} for the vendor's x and the hospital's y.
    public func equal(_ values: [UInt64], bits: Int) throws -> BooleanShare {
        try compare([ComparisonJob(values: values, bits: bits, wantLess: false, wantEqual: true)])[0].equal!
    }

    /// The millionaires' protocol of CrypTFlow2 with 4-bit digits (m = 4), run for several jobs in
    /// lockstep so that all of them share the same rounds.
    ///
    /// 1. Split x and y into 4-bit digits x_k, y_k (k = 0 least significant; q = ⌈bits/4⌉ digits).
    /// 2. Count the Boolean triples the tree below needs.
    /// 3. One 1-of-16 OT per digit, together with the triples' OTs in one exchange
    ///    (`sixteenWayOTs`; on an engine with cheap random bit OTs, e.g. silent OT, the triples come
    ///    from those instead, `triplesFromRandomBitOTs`), each party the sender of half: the sender draws random bits
    ///    (lt⁰_k, eq⁰_k) and offers, for every possible digit v of the peer, the 2-bit message
    ///    (lt⁰_k ⊕ 1{x_k < y_k}, eq⁰_k ⊕ 1{x_k = y_k}) with the peer's digit set to v; the receiver
    ///    chooses its own digit. Now lt_k = 1{x_k < y_k} and eq_k = 1{x_k = y_k} are XOR-shared.
    /// 4. Combine adjacent digits up a binary tree, one round trip per level for all jobs, on bit
    ///    rows (one word holds a node of 64 elements):
    ///    lt = lt_hi ⊕ (eq_hi ∧ lt_lo), eq = eq_hi ∧ eq_lo (the XOR is exact because lt_hi and
    ///    eq_hi exclude each other). The eq of the lowest node is only computed if asked for.
    ///
    /// Rounds: those of the OT exchange plus ⌈log2 q⌉ AND rounds, independent of the batch size
    /// (the IKNP engine adds two round trips per 2^20 OT instances each way, i.e. beyond about
    /// 2^17 elements at ℓ = 37).
    /// Memory: messages are packed (4 bytes per digit); the engine keeps up to 2^20 U rows
    /// (32 MiB) per direction. Cost: each AND row is padded to whole 64-bit words per job, so
    /// batches much smaller than 64 elements pay for up to 64 triples per AND row.
    /// Reveals nothing: the OT hides y_k from the vendor and the hospital's outputs are masked by
    /// the vendor's random bits; AND openings are masked by fresh triples.
    func compare(_ jobs: [ComparisonJob]) throws -> [ComparisonShares] {
        for job in jobs {
            guard (1...64).contains(job.bits) else {
                throw ProtocolError.invalidParameter(operation: "millionaire", reason: "input width \(job.bits) is outside 1...64")
            }
        }
        // Step 2: the tree works on bit rows, one per digit position and job: row k of a job holds
        // bit i = the share of node k of element i, in `words(job)` words (padding bits are junk
        // that no output reads). Count the AND words of every level, then make the triples.
        let rowWords = jobs.map { ($0.values.count + 63) / 64 }
        var levelWords: [Int] = []
        do {
            var cur = jobs.map(\.digits)
            while cur.contains(where: { $0 > 1 }) {
                var w = 0
                for (j, job) in jobs.enumerated() where cur[j] > 1 {
                    let pairs = cur[j] / 2
                    w += ((job.wantLess ? pairs : 0) + (job.wantEqual ? pairs : pairs - 1)) * rowWords[j]
                    cur[j] = (cur[j] + 1) / 2
                }
                levelWords.append(w)
            }
        }
        let tripleWords = levelWords.reduce(0, +)

        // Step 3: this party's digits of every leaf (x_k at the vendor, y_k at the hospital),
        // then the leaves and the triples in one 1-of-16 OT exchange.
        let instances = jobs.reduce(0) { $0 + $1.values.count * $1.digits }
        var digits = [UInt8](repeating: 0, count: instances)
        digits.withUnsafeMutableBufferPointer { digits in
            var t = 0
            for job in jobs {
                let inputMask = ringMask(job.bits)
                for value in job.values {
                    let v = value & inputMask
                    for k in 0..<job.digits {
                        digits[t] = UInt8(truncatingIfNeeded: (v >> UInt64(4 * k)) & 15)
                        t += 1
                    }
                }
            }
        }
        let leaves: [UInt8], triples: BooleanTriples
        if triplesFromRandomOTs {
            leaves = try sixteenWayOTs(leafDigits: digits, tripleCount: 0).leaves
            triples = try triplesFromRandomBitOTs(count: tripleWords * 64)
        } else {
            (leaves, triples) = try sixteenWayOTs(leafDigits: digits, tripleCount: tripleWords * 64)
        }

        // The leaves as bit rows: row k of job j (digit k) is words k·W ..< (k + 1)·W of lt[j] and
        // eq[j], W = rowWords[j].
        var lt: [[UInt64]] = [], eq: [[UInt64]] = []
        leaves.withUnsafeBufferPointer { leaves in
            var t = 0
            for (j, job) in jobs.enumerated() {
                let w = rowWords[j], q = job.digits
                var ltRows = [UInt64](repeating: 0, count: q * w), eqRows = ltRows
                ltRows.withUnsafeMutableBufferPointer { l in
                    eqRows.withUnsafeMutableBufferPointer { e in
                        for i in 0..<job.values.count {
                            let word = i >> 6, bit = UInt64(i & 63)
                            for k in 0..<q {
                                let leaf = UInt64(leaves[t])
                                l[k * w + word] |= (leaf & 1) << bit
                                e[k * w + word] |= (leaf >> 1) << bit
                                t += 1
                            }
                        }
                    }
                }
                lt.append(ltRows)
                eq.append(eqRows)
            }
        }

        // Step 4: the tree, one AND round per level for all jobs.
        var cur = jobs.map(\.digits)
        var tripleOffset = 0
        for levelCount in levelWords {
            // AND operands: for every job and pair p (lo = 2p, hi = 2p + 1), eq_hi ∧ lt_lo (if the
            // job wants `less`) and eq_hi ∧ eq_lo (if it wants `equal`, or p > 0).
            var xs = [UInt64](), ys = [UInt64]()
            xs.reserveCapacity(levelCount)
            ys.reserveCapacity(levelCount)
            for (j, job) in jobs.enumerated() where cur[j] > 1 {
                let w = rowWords[j]
                for p in 0..<(cur[j] / 2) {
                    let lo = 2 * p * w, hi = lo + w
                    if job.wantLess { xs += eq[j][hi..<(hi + w)]; ys += lt[j][lo..<(lo + w)] }
                    if job.wantEqual || p != 0 { xs += eq[j][hi..<(hi + w)]; ys += eq[j][lo..<(lo + w)] }
                }
            }
            precondition(xs.count == levelCount, "millionaire: AND count mismatch")
            let z = try andPacked(xs, ys, triples: triples, offset: tripleOffset)
            tripleOffset += levelCount
            var used = 0
            for (j, job) in jobs.enumerated() where cur[j] > 1 {
                let c = cur[j], pairs = c / 2, w = rowWords[j], next = (c + 1) / 2
                var newLt = [UInt64](repeating: 0, count: next * w), newEq = newLt
                newLt.withUnsafeMutableBufferPointer { nl in
                    newEq.withUnsafeMutableBufferPointer { ne in
                        lt[j].withUnsafeBufferPointer { l in
                            eq[j].withUnsafeBufferPointer { e in
                                z.withUnsafeBufferPointer { z in
                                    for p in 0..<pairs {
                                        // lt = lt_hi ⊕ (eq_hi ∧ lt_lo), eq = eq_hi ∧ eq_lo. (The lowest
                                        // eq is left 0 when not wanted: nothing reads it.)
                                        let hi = (2 * p + 1) * w
                                        if job.wantLess {
                                            for k in 0..<w { nl[p * w + k] = l[hi + k] ^ z[used + k] }
                                            used += w
                                        }
                                        if job.wantEqual || p != 0 {
                                            for k in 0..<w { ne[p * w + k] = z[used + k] }
                                            used += w
                                        }
                                    }
                                    if c % 2 == 1 {
                                        let last = (c - 1) * w
                                        for k in 0..<w {
                                            nl[pairs * w + k] = l[last + k]
                                            ne[pairs * w + k] = e[last + k]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                lt[j] = newLt
                eq[j] = newEq
                cur[j] = next
            }
        }
        return jobs.indices.map { j in
            let n = jobs[j].values.count
            return ComparisonShares(less: jobs[j].wantLess ? BooleanShare(bits: BitPacking.unpack(lt[j], count: n)) : nil,
                                    equal: jobs[j].wantEqual ? BooleanShare(bits: BitPacking.unpack(eq[j], count: n)) : nil)
        }
    }
}

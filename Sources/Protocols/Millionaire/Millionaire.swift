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
    /// Also return shares of 1{x mod 2^(m·k) < y mod 2^(m·k)} for the lowest k = `prefixDigits`
    /// digits (k a power of two, at most the job's digit count): the tree's node 0 after log2 k
    /// levels, at no extra cost (e.g. a truncation's low carry inside a DReLU's comparison).
    var prefixDigits: Int? = nil

    /// Leaves of the job with m-bit digits: ⌈bits/m⌉.
    func digits(width m: Int) -> Int { max(1, (bits + m - 1) / m) }
}

/// One group of ANDs of a millionaire tree level that share their first operand x = eq_hi of
/// pair `pair` of job `job`: y is lt_lo (true) or eq_lo (false) for each entry of `ys`; the group
/// uses triple words `tripleWord ..<` + the job's row words, plane k for ys[k].
struct AndGroup {
    var job: Int
    var pair: Int
    var tripleWord: Int
    var ys: [Bool]
}

/// The shares a comparison job produces.
struct ComparisonShares {
    var less: BooleanShare?
    var equal: BooleanShare?
    /// The comparison of the lowest `prefixDigits` digits, when asked for.
    var prefixLess: BooleanShare?
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

    /// The millionaires' protocol of CrypTFlow2 with m-bit digits (`leafDigitBits`: m = 4 on IKNP,
    /// m = 3 on silent OT), run for several jobs in lockstep so that all of them share the same rounds.
    ///
    /// 1. Split x and y into m-bit digits x_k, y_k (k = 0 least significant; q = ⌈bits/m⌉ digits).
    /// 2. Count the Boolean triples the tree below needs.
    /// 3. One 1-of-2^m OT per digit: on IKNP (m = 4) together with the triples' OTs in one exchange
    ///    (`sixteenWayOTs`); on an engine with cheap random bit OTs, e.g. silent OT, the leaves alone
    ///    (`leafOTs`) and the triples from random bit OTs (`correlatedTriples`); each party the sender of half: the sender draws random bits
    ///    (lt⁰_k, eq⁰_k) and offers, for every possible digit v of the peer, the 2-bit message
    ///    (lt⁰_k ⊕ 1{x_k < y_k}, eq⁰_k ⊕ 1{x_k = y_k}) with the peer's digit set to v; the receiver
    ///    chooses its own digit. Now lt_k = 1{x_k < y_k} and eq_k = 1{x_k = y_k} are XOR-shared.
    /// 4. Combine adjacent digits up a binary tree, one round trip per level for all jobs, on bit
    ///    rows (one word holds a node of 64 elements):
    ///    lt = lt_hi ⊕ (eq_hi ∧ lt_lo), eq = eq_hi ∧ eq_lo (the XOR is exact because lt_hi and
    ///    eq_hi exclude each other). The eq of the lowest node is only computed if asked for.
    ///    With correlated triples (silent OT) a pair's two ANDs share their triple's a, so
    ///    eq_hi ⊕ a is opened once for both (`andGroups`): 3 opened bits instead of 4 per pair.
    ///
    /// Triples and COTs on silent OT: one group of two COTs per pair and level (two ANDs or one),
    /// e.g. 11 groups (22 COTs) for the 18 ANDs of ℓ − 1 = 36 bits in 3-bit digits, besides the
    /// leaves' 36 COTs.
    ///
    /// Rounds: those of the OT exchange plus ⌈log2 q⌉ AND rounds, independent of the batch size
    /// (the IKNP engine adds two round trips per 2^20 OT instances each way, i.e. beyond about
    /// 2^17 elements at ℓ = 37).
    /// Memory: messages are packed (2·2^m bits per digit); the engine keeps up to 2^20 U rows
    /// (32 MiB) per direction. Cost: each AND row is padded to whole 64-bit words per job, so
    /// batches much smaller than 64 elements pay for up to 64 triples per AND row.
    /// Reveals nothing: the OT hides y_k from the vendor and the hospital's outputs are masked by
    /// the vendor's random bits; AND openings are masked by fresh triples.
    func compare(_ jobs: [ComparisonJob]) throws -> [ComparisonShares] {
        let m = leafDigitBits, digitMask = UInt64(1 << m) - 1
        let digitCounts = jobs.map { $0.digits(width: m) }
        for (job, count) in zip(jobs, digitCounts) {
            guard (1...64).contains(job.bits) else {
                throw ProtocolError.invalidParameter(operation: "millionaire", reason: "input width \(job.bits) is outside 1...64")
            }
            if let k = job.prefixDigits, !job.wantLess || k < 1 || k > count || k & (k - 1) != 0 {
                throw ProtocolError.invalidParameter(operation: "millionaire", reason: "a prefix of \(k) digits out of \(count) is not a power of two within them, or the job does not compute less-than")
            }
        }
        // Step 2: the tree works on bit rows, one per digit position and job: row k of a job holds
        // bit i = the share of node k of element i, in `words(job)` words (padding bits are junk
        // that no output reads). Count the triple words of every level, then make the triples.
        // An AND group is one pair's ANDs that share x = eq_hi: one group of both when the triples
        // come in correlated pairs (width 2), one group per AND otherwise.
        let width = triplesFromRandomOTs ? 2 : 1
        let rowWords = jobs.map { ($0.values.count + 63) / 64 }
        var levelWords: [Int] = []
        do {
            var cur = digitCounts
            while cur.contains(where: { $0 > 1 }) {
                var w = 0
                for (j, job) in jobs.enumerated() where cur[j] > 1 {
                    for p in 0..<(cur[j] / 2) {
                        let ands = (job.wantLess ? 1 : 0) + (job.wantEqual || p != 0 ? 1 : 0)
                        w += (width == 2 ? Swift.min(ands, 1) : ands) * rowWords[j]
                    }
                    cur[j] = (cur[j] + 1) / 2
                }
                levelWords.append(w)
            }
        }
        let tripleWords = levelWords.reduce(0, +)

        // Step 3: this party's digits of every leaf (x_k at the vendor, y_k at the hospital),
        // then the leaves and the triples in one 1-of-16 OT exchange.
        let instances = zip(jobs, digitCounts).reduce(0) { $0 + $1.0.values.count * $1.1 }
        var digits = [UInt8](repeating: 0, count: instances)
        digits.withUnsafeMutableBufferPointer { digits in
            var t = 0
            for (job, count) in zip(jobs, digitCounts) {
                let inputMask = ringMask(job.bits)
                for value in job.values {
                    let v = value & inputMask
                    for k in 0..<count {
                        digits[t] = UInt8(truncatingIfNeeded: (v >> UInt64(m * k)) & digitMask)
                        t += 1
                    }
                }
            }
        }
        let leaves: [UInt8], triples: CorrelatedTriples
        if width == 2 {
            leaves = try leafOTs(leafDigits: digits, digitBits: m)
            triples = try correlatedTriples(count: tripleWords * 64, width: 2)
        } else {
            let made = try sixteenWayOTs(leafDigits: digits, tripleCount: tripleWords * 64)
            leaves = made.leaves
            triples = CorrelatedTriples(width: 1, a: made.triples.a, b: made.triples.b, c: made.triples.c)
        }

        // The leaves as bit rows: row k of job j (digit k) is words k·W ..< (k + 1)·W of lt[j] and
        // eq[j], W = rowWords[j].
        var lt: [[UInt64]] = [], eq: [[UInt64]] = []
        leaves.withUnsafeBufferPointer { leaves in
            var t = 0
            for (j, job) in jobs.enumerated() {
                let w = rowWords[j], q = digitCounts[j]
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

        // Step 4: the tree, one AND round per level for all jobs. Node 0 after L levels covers the
        // lowest 2^L digits: that is where a prefix comparison is read.
        var cur = digitCounts
        var tripleOffset = 0
        var prefixes: [Int: [UInt64]] = [:]
        func capturePrefixes(level: Int) {
            for (j, job) in jobs.enumerated() where job.prefixDigits == 1 << level {
                prefixes[j] = Array(lt[j][0..<rowWords[j]])
            }
        }
        capturePrefixes(level: 0)
        for (level, levelCount) in levelWords.enumerated() {
            // AND groups: for every job and pair p (lo = 2p, hi = 2p + 1), x = eq_hi with the
            // operands y: lt_lo (if the job wants `less`) and eq_lo (if it wants `equal`, or p > 0).
            var groups: [AndGroup] = []
            var t = tripleOffset
            for (j, job) in jobs.enumerated() where cur[j] > 1 {
                for p in 0..<(cur[j] / 2) {
                    var ys: [Bool] = []            // true: lt_lo, false: eq_lo
                    if job.wantLess { ys.append(true) }
                    if job.wantEqual || p != 0 { ys.append(false) }
                    let split = width == 2 ? [ys] : ys.map { [$0] }
                    for part in split where !part.isEmpty {
                        groups.append(AndGroup(job: j, pair: p, tripleWord: t, ys: part))
                        t += rowWords[j]
                    }
                }
            }
            precondition(t - tripleOffset == levelCount, "millionaire: AND count mismatch")
            tripleOffset = t
            let (zLess, zEqual) = try andGroups(groups, lt: lt, eq: eq, rowWords: rowWords, triples: triples)
            for (j, job) in jobs.enumerated() where cur[j] > 1 {
                let c = cur[j], pairs = c / 2, w = rowWords[j], next = (c + 1) / 2
                var newLt = [UInt64](repeating: 0, count: next * w), newEq = newLt
                for p in 0..<pairs {
                    // lt = lt_hi ⊕ (eq_hi ∧ lt_lo), eq = eq_hi ∧ eq_lo. (The lowest eq is left 0 when
                    // not wanted: nothing reads it.)
                    let hi = (2 * p + 1) * w
                    if job.wantLess, let z = zLess[j]?[p] { for k in 0..<w { newLt[p * w + k] = lt[j][hi + k] ^ z[k] } }
                    if let z = zEqual[j]?[p] { for k in 0..<w { newEq[p * w + k] = z[k] } }
                }
                if c % 2 == 1 {
                    let last = (c - 1) * w
                    for k in 0..<w {
                        newLt[pairs * w + k] = lt[j][last + k]
                        newEq[pairs * w + k] = eq[j][last + k]
                    }
                }
                lt[j] = newLt
                eq[j] = newEq
                cur[j] = next
            }
            capturePrefixes(level: level + 1)
        }
        return jobs.indices.map { j in
            let n = jobs[j].values.count
            return ComparisonShares(less: jobs[j].wantLess ? BooleanShare(bits: BitPacking.unpack(lt[j], count: n)) : nil,
                                    equal: jobs[j].wantEqual ? BooleanShare(bits: BitPacking.unpack(eq[j], count: n)) : nil,
                                    prefixLess: prefixes[j].map { BooleanShare(bits: BitPacking.unpack($0, count: n)) })
        }
    }

    /// Shares of the ANDs of one tree level, in one round trip: for every group, eq_hi ∧ y for
    /// each of its operands y, with the group's triples (a; b_k; c_k) sharing a.
    ///
    /// 1. Open d = eq_hi ⊕ a once per group and e_k = y_k ⊕ b_k per operand (uniformly random:
    ///    a and b_k are fresh); the vendor sends first.
    /// 2. z_k = c_k ⊕ (d ∧ b_k) ⊕ (e_k ∧ a), and the vendor also XORs d ∧ e_k.
    ///
    /// Returns, per job, the products by pair: lt_lo products in the first, eq_lo in the second.
    func andGroups(_ groups: [AndGroup], lt: [[UInt64]], eq: [[UInt64]], rowWords: [Int], triples: CorrelatedTriples) throws
        -> (less: [Int: [Int: [UInt64]]], equal: [Int: [Int: [UInt64]]]) {
        let planeWords = triples.words
        // Step 1.
        var mine: [UInt64] = []
        mine.reserveCapacity(groups.reduce(0) { $0 + (1 + $1.ys.count) * rowWords[$1.job] })
        for g in groups {
            let w = rowWords[g.job], lo = 2 * g.pair * w, hi = lo + w
            for k in 0..<w { mine.append(eq[g.job][hi + k] ^ triples.a[g.tripleWord + k]) }
            for (plane, isLess) in g.ys.enumerated() {
                let y = isLess ? lt[g.job] : eq[g.job], b = plane * planeWords + g.tripleWord
                for k in 0..<w { mine.append(y[lo + k] ^ triples.b[b + k]) }
            }
        }
        let theirs = try exchange(mine)
        // Step 2.
        let leader: UInt64 = isLeader ? .max : 0
        var less: [Int: [Int: [UInt64]]] = [:], equal: [Int: [Int: [UInt64]]] = [:]
        var at = 0
        for g in groups {
            let w = rowWords[g.job]
            let d = (0..<w).map { mine[at + $0] ^ theirs[at + $0] }
            at += w
            for (plane, isLess) in g.ys.enumerated() {
                let b = plane * planeWords + g.tripleWord
                var z = [UInt64](repeating: 0, count: w)
                for k in 0..<w {
                    let e = mine[at + k] ^ theirs[at + k]
                    z[k] = triples.c[b + k] ^ (d[k] & triples.b[b + k]) ^ (e & triples.a[g.tripleWord + k]) ^ (d[k] & e & leader)
                }
                at += w
                if isLess { less[g.job, default: [:]][g.pair] = z } else { equal[g.job, default: [:]][g.pair] = z }
            }
        }
        return (less, equal)
    }
}

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
    /// 2. Generate all Boolean triples the tree below needs (1-of-16 OT, two per instance).
    /// 3. One batched 1-of-16 OT per digit, vendor as sender: the vendor draws random bits
    ///    (lt⁰_k, eq⁰_k) and offers, for every possible digit v of the hospital, the 2-bit message
    ///    (lt⁰_k ⊕ 1{x_k < v}, eq⁰_k ⊕ 1{x_k = v}); the hospital chooses v = y_k. Now
    ///    lt_k = 1{x_k < y_k} and eq_k = 1{x_k = y_k} are XOR-shared.
    /// 4. Combine adjacent digits up a binary tree, one round trip per level for all jobs:
    ///    lt = lt_hi ⊕ (eq_hi ∧ lt_lo), eq = eq_hi ∧ eq_lo (the XOR is exact because lt_hi and
    ///    eq_hi exclude each other). The eq of the lowest node is only computed if asked for.
    ///
    /// Rounds: those of the OT calls plus ⌈log2 q⌉ AND rounds, independent of the batch size (the
    /// OT engine may add its own per-chunk round trips for very large batches).
    /// Memory: the 1-of-16 OT interface takes one 64-bit word per message, 128 bytes per digit and
    /// element at the vendor; an engine should split very large tensors (say > 2^18 elements at
    /// ℓ = 64) into several calls.
    /// Reveals nothing: the OT hides y_k from the vendor and the hospital's outputs are masked by
    /// the vendor's random bits; AND openings are masked by fresh triples.
    func compare(_ jobs: [ComparisonJob]) throws -> [ComparisonShares] {
        for job in jobs {
            guard (1...64).contains(job.bits) else {
                throw ProtocolError.invalidParameter(operation: "millionaire", reason: "input width \(job.bits) is outside 1...64")
            }
        }
        // Step 2: count the ANDs of every tree level, then make the triples in one go.
        var levelCounts: [Int] = []
        do {
            var cur = jobs.map(\.digits)
            while cur.contains(where: { $0 > 1 }) {
                var n = 0
                for (j, job) in jobs.enumerated() where cur[j] > 1 {
                    let pairs = cur[j] / 2
                    let perElement = (job.wantLess ? pairs : 0) + (job.wantEqual ? pairs : pairs - 1)
                    n += perElement * job.values.count
                    cur[j] = (cur[j] + 1) / 2
                }
                levelCounts.append(n)
            }
        }
        let tripleWords = levelCounts.reduce(0) { $0 + ($1 + 63) / 64 }
        let triples = try booleanTriples(count: tripleWords * 64)

        // Step 3: the leaves by 1-of-16 OT.
        let instances = jobs.reduce(0) { $0 + $1.values.count * $1.digits }
        var lt = [UInt8](repeating: 0, count: instances)
        var eq = [UInt8](repeating: 0, count: instances)
        if party == .vendor {
            let random = prg.words((2 * instances + 63) / 64)
            var messages = [UInt64](repeating: 0, count: instances * 16)
            messages.withUnsafeMutableBufferPointer { msg in
                var t = 0
                for job in jobs {
                    let q = job.digits
                    let inputMask = ringMask(job.bits)
                    for x in job.values {
                        let xv = x & inputMask
                        for k in 0..<q {
                            let digit = (xv >> UInt64(4 * k)) & 15
                            let r = (random[(2 * t) >> 6] >> UInt64((2 * t) & 63)) & 3
                            lt[t] = UInt8(r & 1)
                            eq[t] = UInt8(r >> 1)
                            let base = t * 16
                            for v in 0..<UInt64(16) {
                                let less: UInt64 = digit < v ? 1 : 0
                                let same: UInt64 = digit == v ? 2 : 0
                                msg[base + Int(v)] = r ^ less ^ same
                            }
                            t += 1
                        }
                    }
                }
            }
            try ot.chosenSend1ofN(messages: messages, n: 16, bits: 2)
        } else {
            var choices = [UInt8](repeating: 0, count: instances)
            var t = 0
            for job in jobs {
                let inputMask = ringMask(job.bits)
                for y in job.values {
                    let yv = y & inputMask
                    for k in 0..<job.digits {
                        choices[t] = UInt8((yv >> UInt64(4 * k)) & 15)
                        t += 1
                    }
                }
            }
            let received = try ot.chosenReceive1ofN(choices: choices, n: 16, bits: 2)
            for t in 0..<instances {
                lt[t] = UInt8(received[t] & 1)
                eq[t] = UInt8((received[t] >> 1) & 1)
            }
        }

        // Split the leaves per job.
        var jobLt: [[UInt8]] = [], jobEq: [[UInt8]] = []
        var start = 0
        for job in jobs {
            let n = job.values.count * job.digits
            jobLt.append(Array(lt[start..<(start + n)]))
            jobEq.append(Array(eq[start..<(start + n)]))
            start += n
        }

        // Step 4: the tree.
        var cur = jobs.map(\.digits)
        var tripleOffset = 0
        for levelCount in levelCounts {
            var xs = [UInt8](), ys = [UInt8]()
            xs.reserveCapacity(levelCount)
            ys.reserveCapacity(levelCount)
            for (j, job) in jobs.enumerated() where cur[j] > 1 {
                let c = cur[j], pairs = c / 2
                jobLt[j].withUnsafeBufferPointer { l in
                    jobEq[j].withUnsafeBufferPointer { e in
                        for i in 0..<job.values.count {
                            let base = i * c
                            for p in 0..<pairs {
                                let lo = base + 2 * p, hi = lo + 1
                                if job.wantLess { xs.append(e[hi]); ys.append(l[lo]) }
                                if job.wantEqual || p != 0 { xs.append(e[hi]); ys.append(e[lo]) }
                            }
                        }
                    }
                }
            }
            precondition(xs.count == levelCount, "millionaire: AND count mismatch")
            let z = try andPacked(BitPacking.pack(xs), BitPacking.pack(ys), triples: triples, offset: tripleOffset)
            tripleOffset += (levelCount + 63) / 64
            let products = BitPacking.unpack(z, count: levelCount)
            var used = 0
            for (j, job) in jobs.enumerated() where cur[j] > 1 {
                let c = cur[j], pairs = c / 2, next = (c + 1) / 2
                let n = job.values.count
                var newLt = [UInt8](repeating: 0, count: n * next)
                var newEq = [UInt8](repeating: 0, count: n * next)
                for i in 0..<n {
                    let base = i * c, newBase = i * next
                    for p in 0..<pairs {
                        let lo = base + 2 * p, hi = lo + 1
                        if job.wantLess {
                            newLt[newBase + p] = jobLt[j][hi] ^ products[used]
                            used += 1
                        }
                        if job.wantEqual || p != 0 {
                            newEq[newBase + p] = products[used]
                            used += 1
                        }
                    }
                    if c % 2 == 1 {
                        newLt[newBase + pairs] = jobLt[j][base + c - 1]
                        newEq[newBase + pairs] = jobEq[j][base + c - 1]
                    }
                }
                jobLt[j] = newLt
                jobEq[j] = newEq
                cur[j] = next
            }
        }
        return jobs.indices.map { j in
            ComparisonShares(less: jobs[j].wantLess ? BooleanShare(bits: jobLt[j]) : nil,
                             equal: jobs[j].wantEqual ? BooleanShare(bits: jobEq[j]) : nil)
        }
    }
}

import Transport

/// The hospital's labels for the clinical metrics, row-major (`findings` entries per image):
/// 1 positive, 0 negative, −1 not labelled (left out of that finding's metric). Everything derived
/// from them alone (the numbers of positives and negatives) the hospital computes in the clear and
/// enters as its share; the vendor's share of such a value is 0.
struct FindingLabels {
    let values: [Int]
    let images: Int
    let findings: Int

    func label(image i: Int, finding c: Int) -> Int { values[i * findings + c] }
    func positives(_ c: Int) -> Int { (0..<images).filter { label(image: $0, finding: c) == 1 }.count }
    func negatives(_ c: Int) -> Int { (0..<images).filter { label(image: $0, finding: c) == 0 }.count }
}

extension TwoPartySession {
    /// The ring the AUROC stage works in for `images` images and ℓ-bit scores: wide enough for the
    /// sort keys 2x + t + 2^(ℓ+1) (differences below 2^(ℓ+2)) and for 2·(2PN) ≤ N² + … in the
    /// division with k fractional bits: max(ℓ + 3, 2·⌈log2(N + 1)⌉ + 4, k + 4) bits.
    public static func aurocRingBits(scoreBits: Int, images: Int, fractionBits k: Int) -> Int {
        Swift.max(scoreBits + 3, 2 * (64 - UInt64(images).leadingZeroBitCount) + 4, k + 4)
    }

    func checkedLabels(_ labels: [Int]?, images: Int, findings: Int, operation: String) throws -> FindingLabels? {
        guard party == .hospital else { return nil }
        guard let labels, labels.count == images * findings else {
            throw ProtocolError.countMismatch(operation: operation, expected: images * findings, actual: labels?.count ?? 0)
        }
        if let bad = labels.firstIndex(where: { !(-1...1).contains($0) }) {
            throw ProtocolError.invalidParameter(operation: operation, reason:
                "the label of finding \(bad % findings) of example \(bad / findings) is \(labels[bad]), not 1, 0 or -1")
        }
        return FindingLabels(values: labels, images: images, findings: findings)
    }

    /// Shares of every finding's AUROC quotient ⌊2^k · AUROC⌋ (k = `fractionBits`), where AUROC is
    /// the exact Mann–Whitney statistic U / (P·N) of the shared scores (ties count ½) over the
    /// labelled images; 2^(k+1) − 1 for a finding without positives or negatives.
    ///
    /// `scores` holds `findings` ℓ-bit signed scores per image (row-major); the hospital passes its
    /// labels (row-major, 1 / 0 / −1), the vendor nil.
    ///
    /// 1. Widen the scores to L = `aurocRingBits` bits (`extendSigned`).
    /// 2. Per finding, two lists of n = 2^⌈log2 N⌉ keys, sorted ascending with the positive bit as
    ///    payload (`sortAscending`, all 2C lists in lockstep): A with key 2x + 1{positive},
    ///    B with key 2x + 1{negative} (so at equal scores A puts negatives first, B positives);
    ///    unlabelled images and the padding get + 2^(ℓ+1), above every labelled key, so the
    ///    labelled images take positions 0 … N_c − 1. The hospital adds these label terms to its
    ///    share.
    /// 3. With i_p a positive's position, Σ i_p = #(n before p) + P(P − 1)/2 over the positives, so
    ///    Σ_A i_p + Σ_B i_p − P(P − 1) = #{s_n ≤ s_p} + #{s_n < s_p} = 2U: a local sum of public
    ///    positions times shared bits; the hospital subtracts P(P − 1).
    /// 4. `divideRatio`(2U, 2PN): the hospital enters 2PN.
    ///
    /// Reveals nothing; opening the quotients reveals the AUROCs (and whether a finding has both
    /// positives and negatives). Cost: 2C sorts of n keys, n·log n·(log n + 1)/4 compare-exchanges
    /// each, in log n·(log n + 1)/2 layers, then k + 1 division steps: N log² N per finding.
    public func aurocQuotients(scores: ArithmeticShare, labels: [Int]?, images: Int, findings: Int,
                               fractionBits k: Int) throws -> ArithmeticShare {
        guard images >= 1, findings >= 1, scores.count == images * findings else {
            throw ProtocolError.countMismatch(operation: "AUROC", expected: images * Swift.max(findings, 1), actual: scores.count)
        }
        let wide = Self.aurocRingBits(scoreBits: scores.bits, images: images, fractionBits: k)
        guard wide <= 64, images < (1 << 24) else {
            throw ProtocolError.invalidParameter(operation: "AUROC", reason: "\(images) images of \(scores.bits)-bit scores need a \(wide)-bit ring; at most 64")
        }
        let labelled = try checkedLabels(labels, images: images, findings: findings, operation: "AUROC")
        let x = try extendSigned(scores, to: wide)
        let m = x.mask
        var length = 1
        while length < images { length *= 2 }
        let excluded = UInt64(1) << UInt64(scores.bits + 1)
        // Lists 0..<C: order A; C..<2C: order B.
        var keys = [UInt64](repeating: 0, count: 2 * findings * length)
        var positive = keys
        for order in 0..<2 {
            for c in 0..<findings {
                let base = (order * findings + c) * length
                for i in 0..<length {
                    var key: UInt64 = i < images ? (2 &* x.values[i * findings + c]) & m : 0
                    if let labelled {
                        let label = i < images ? labelled.label(image: i, finding: c) : -1
                        switch label {
                        case 1: key &+= order == 0 ? 1 : 0; positive[base + i] = 1
                        case 0: key &+= order == 0 ? 0 : 1
                        default: key &+= excluded
                        }
                    }
                    keys[base + i] = key & m
                }
            }
        }
        var numerator = try sortedPositiveRanks(keys: ArithmeticShare(bits: wide, values: keys),
                                                positive: ArithmeticShare(bits: wide, values: positive), findings: findings, length: length)
        var denominator = [UInt64](repeating: 0, count: findings)
        for c in 0..<findings {
            var sum = numerator[c]
            if let labelled {
                let p = UInt64(labelled.positives(c)), n = UInt64(labelled.negatives(c))
                sum = sum &- p &* (p &- 1)
                denominator[c] = (2 &* p &* n) & m
            }
            numerator[c] = sum & m
        }
        return try divideRatio(ArithmeticShare(bits: wide, values: numerator), by: ArithmeticShare(bits: wide, values: denominator),
                               fractionBits: k)
    }

    /// The two bitonic sorts of `aurocQuotients` (lists 0..<C in order A, C..<2C in order B, each of
    /// `length` keys, `positive` riding along) and, per finding, Σ over both orders of the sorted
    /// position × the positive bit: a local sum of public positions times shares.
    private func sortedPositiveRanks(keys: ArithmeticShare, positive: ArithmeticShare, findings: Int, length: Int) throws -> [UInt64] {
        let sorted = try sortAscending(keys: keys, payloads: [positive], lists: 2 * findings, length: length)
        return (0..<findings).map { c in
            var sum: UInt64 = 0
            for order in 0..<2 {
                let base = (order * findings + c) * length
                for i in 0..<length { sum = sum &+ UInt64(i) &* sorted.payloads[0].values[base + i] }
            }
            return sum & keys.mask
        }
    }

    /// `aurocQuotients` when the labels are secret-shared too (a pool's parts from several sites):
    /// `positive` and `negative` hold shares of 1{label = 1} and 1{label = 0} per image and finding
    /// (row-major, ℓ-bit like `scores`; an image with neither is left out of that finding).
    ///
    /// The same two sorts, with keys 2x + pos + E·(1 − pos − neg) and 2x + neg + E·(1 − pos − neg)
    /// (E = 2^(ℓ+1), local); P = Σ pos and N = Σ neg are local sums of shares, and P(P − 1) and 2PN
    /// take one `multiply` each (Gilboa). Equals `aurocQuotients` on the same labels, bit for bit.
    /// Reveals nothing.
    public func aurocQuotients(scores: ArithmeticShare, positive: ArithmeticShare, negative: ArithmeticShare, images: Int, findings: Int,
                               fractionBits k: Int) throws -> ArithmeticShare {
        let n = images * findings
        guard images >= 1, findings >= 1, scores.count == n, positive.count == n, negative.count == n,
              positive.bits == scores.bits, negative.bits == scores.bits else {
            throw ProtocolError.countMismatch(operation: "AUROC", expected: n, actual: scores.count)
        }
        let wide = Self.aurocRingBits(scoreBits: scores.bits, images: images, fractionBits: k)
        guard wide <= 64, images < (1 << 24) else {
            throw ProtocolError.invalidParameter(operation: "AUROC", reason: "\(images) images of \(scores.bits)-bit scores need a \(wide)-bit ring; at most 64")
        }
        let widened = try extendSigned(ArithmeticShare.concatenating([scores, positive, negative]), to: wide)
        let m = widened.mask
        let x = Array(widened.values[..<n]), pos = Array(widened.values[n..<(2 * n)]), neg = Array(widened.values[(2 * n)...])
        var length = 1
        while length < images { length *= 2 }
        let excluded = UInt64(1) << UInt64(scores.bits + 1)
        let one: UInt64 = party == .vendor ? 1 : 0  // the constant 1, entered by one party
        var keys = [UInt64](repeating: 0, count: 2 * findings * length)
        var positiveBits = keys
        for order in 0..<2 {
            for c in 0..<findings {
                let base = (order * findings + c) * length
                for i in 0..<length {
                    guard i < images else { keys[base + i] = (one &* excluded) & m; continue }
                    let j = i * findings + c
                    let out = (one &- pos[j] &- neg[j]) & m
                    keys[base + i] = (2 &* x[j] &+ (order == 0 ? pos[j] : neg[j]) &+ excluded &* out) & m
                    positiveBits[base + i] = pos[j]
                }
            }
        }
        let ranks = try sortedPositiveRanks(keys: ArithmeticShare(bits: wide, values: keys),
                                            positive: ArithmeticShare(bits: wide, values: positiveBits), findings: findings, length: length)
        var p = [UInt64](repeating: 0, count: findings), q = p
        for i in 0..<images {
            for c in 0..<findings {
                p[c] = (p[c] &+ pos[i * findings + c]) & m
                q[c] = (q[c] &+ neg[i * findings + c]) & m
            }
        }
        // One multiplication round: P·P and P·N.
        let products = try multiply(ArithmeticShare(bits: wide, values: p + p), ArithmeticShare(bits: wide, values: p + q))
        let numerator = (0..<findings).map { c in (ranks[c] &- products.values[c] &+ p[c]) & m }
        let denominator = (0..<findings).map { c in (2 &* products.values[findings + c]) & m }
        return try divideRatio(ArithmeticShare(bits: wide, values: numerator), by: ArithmeticShare(bits: wide, values: denominator),
                               fractionBits: k)
    }

    /// Shares of every finding's sensitivity and specificity quotients at public thresholds
    /// (`thresholds[c]`, a signed ℓ-bit score): the first `findings` values are ⌊2^k·TP/P⌋, the
    /// next ⌊2^k·TN/N⌋ (2^(k+1) − 1 without positives, resp. negatives). An image is called
    /// positive for finding c when its score ≥ thresholds[c].
    ///
    /// 1. One exact comparison per score (`greaterOrEqual`, `.full`) against the public threshold.
    /// 2. One multiplexer per score moves the hospital's positive and negative bits: TP and the
    ///    negatives called positive, summed locally; TN = N − those (the hospital adds N).
    /// 3. `divideRatio` by P and N (entered by the hospital). Steps 2–3 run over
    ///    Z_2^max(ℓ, k + 4, ⌈log2(N + 1)⌉ + 4) (a multiplexer's output may live in any ring).
    ///
    /// Reveals nothing; the rounds of one comparison, one multiplexer and k + 1 division steps.
    public func operatingPointQuotients(scores: ArithmeticShare, labels: [Int]?, images: Int, findings: Int,
                                        thresholds: [Int64], fractionBits k: Int) throws -> ArithmeticShare {
        // The counts and the division run in a ring wide enough for 2·N and k fractional bits.
        let wide = Swift.max(scores.bits, k + 4, (64 - UInt64(images).leadingZeroBitCount) + 4)
        guard wide <= 64 else {
            throw ProtocolError.invalidParameter(operation: "sensitivity and specificity", reason: "\(images) images and \(k) fractional bits need more than 64 bits")
        }
        let counts = try operatingPointCounts(scores: scores, labels: labels, images: images, findings: findings,
                                              thresholds: thresholds, ringBits: wide)
        return try operatingPointRatios(counts, findings: findings, fractionBits: k)
    }

    /// Steps 1–2 of `operatingPointQuotients`: shares, in Z_2^`ringBits`, of 4C counts — per finding
    /// TP, then TN (the two numerators), then P, then N (the denominators; the hospital's share is
    /// the count of its own labels, the vendor's 0). Counts of disjoint sets of images add up, so a
    /// pool adds its parts' counts before `operatingPointRatios`. Reveals nothing.
    public func operatingPointCounts(scores: ArithmeticShare, labels: [Int]?, images: Int, findings: Int,
                                     thresholds: [Int64], ringBits wide: Int) throws -> ArithmeticShare {
        guard images >= 1, findings >= 1, scores.count == images * findings, thresholds.count == findings else {
            throw ProtocolError.countMismatch(operation: "sensitivity and specificity", expected: images * Swift.max(findings, 1), actual: scores.count)
        }
        let bits = scores.bits, m = scores.mask
        guard wide >= bits, wide <= 64, (64 - UInt64(images).leadingZeroBitCount) + 2 <= wide else {
            throw ProtocolError.invalidParameter(operation: "sensitivity and specificity", reason: "\(images) images of \(bits)-bit scores cannot be counted in a \(wide)-bit ring")
        }
        let wm = ringMask(wide)
        let labelled = try checkedLabels(labels, images: images, findings: findings, operation: "sensitivity and specificity")
        let threshold = ArithmeticShare(bits: bits, values: (0..<(images * findings)).map {
            party == .vendor ? UInt64(bitPattern: thresholds[$0 % findings]) & m : 0
        })
        let called = try greaterOrEqual(scores, threshold, range: .full)
        let count = images * findings
        var bitsHeld = [UInt64](repeating: 0, count: 2 * count)
        if let labelled {
            for i in 0..<count {
                bitsHeld[i] = labelled.values[i] == 1 ? 1 : 0
                bitsHeld[count + i] = labelled.values[i] == 0 ? 1 : 0
            }
        }
        let moved = try multiplex(BooleanShare(bits: called.bits + called.bits), ArithmeticShare(bits: wide, values: bitsHeld))
        var numerator = [UInt64](repeating: 0, count: 2 * findings)
        var denominator = numerator
        for i in 0..<count {
            numerator[i % findings] &+= moved.values[i]
            numerator[findings + i % findings] &-= moved.values[count + i]
        }
        if let labelled {
            for c in 0..<findings {
                let p = UInt64(labelled.positives(c)), n = UInt64(labelled.negatives(c))
                numerator[findings + c] &+= n
                denominator[c] = p
                denominator[findings + c] = n
            }
        }
        return ArithmeticShare(bits: wide, values: (numerator + denominator).map { $0 & wm })
    }

    /// Step 3 of `operatingPointQuotients`: from `operatingPointCounts` (4C values: TP, TN, P, N per
    /// finding), shares of ⌊2^k·TP/P⌋ then ⌊2^k·TN/N⌋ (2^(k+1) − 1 where P, resp. N, is 0).
    /// The ring must hold 2^(k+2) (k + 4 bits at least). Reveals nothing.
    public func operatingPointRatios(_ counts: ArithmeticShare, findings: Int, fractionBits k: Int) throws -> ArithmeticShare {
        guard counts.count == 4 * findings, counts.bits >= k + 4 else {
            throw ProtocolError.countMismatch(operation: "sensitivity and specificity", expected: 4 * findings, actual: counts.count)
        }
        let half = 2 * findings
        return try divideRatio(ArithmeticShare(bits: counts.bits, values: Array(counts.values[..<half])),
                               by: ArithmeticShare(bits: counts.bits, values: Array(counts.values[half...])), fractionBits: k)
    }

    /// XOR shares of 1{t ≤ q_c ≤ 2^k} per quotient (a defined ratio opened as ⌊2^k·value⌋ is at
    /// least t / 2^k), or with `all` one bit: the AND over every quotient.
    ///
    /// Two comparisons with public constants, 1{q ≥ t} and 1{q ≥ 2^k + 1}; since t ≤ 2^k their XOR
    /// is the range bit (local). `all`: an AND tree, ⌈log2 C⌉ rounds. Requires quotients below
    /// 2^(k+1) (as `divideRatio` returns) and k + 3 < ℓ. Reveals nothing.
    public func quotientsAtLeast(_ q: ArithmeticShare, threshold t: Int64, fractionBits k: Int, all: Bool) throws -> BooleanShare {
        guard t >= 0, t <= (1 << k), k + 3 < q.bits else {
            throw ProtocolError.invalidParameter(operation: "ratio threshold", reason: "threshold \(t) outside 0...2^\(k), or a \(q.bits)-bit ring")
        }
        let n = q.count
        let constants = ArithmeticShare(bits: q.bits, values: (0..<(2 * n)).map { i in
            party == .vendor ? UInt64(i < n ? t : (1 << k) + 1) : 0
        })
        let bits = try greaterOrEqual(ArithmeticShare.concatenating([q, q]), constants, range: .halfRange)
        var inRange = try BooleanShare(bits: Array(bits.bits[..<n])).xor(BooleanShare(bits: Array(bits.bits[n...])))
        guard all else { return inRange }
        while inRange.count > 1 {
            let pairs = inRange.count / 2
            let left = BooleanShare(bits: (0..<pairs).map { inRange.bits[2 * $0] })
            let right = BooleanShare(bits: (0..<pairs).map { inRange.bits[2 * $0 + 1] })
            var next = try and(left, right).bits
            if inRange.count % 2 == 1 { next.append(inRange.bits[inRange.count - 1]) }
            inRange = BooleanShare(bits: next)
        }
        return inRange
    }
}

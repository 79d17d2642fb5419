import Transport

extension TwoPartySession {
    /// Shares (over Z_2^countBits, default ℓ) of the number of examples whose hospital-held label
    /// is among the k largest logits, with ties ranked as the plaintext argmax ranks them (the
    /// lowest index wins a tie): example i is correct iff rank(label_i) < k, where
    /// rank(c) = #{j : x_j > x_c} + #{j < c : x_j = x_c}. For k = 1 this is `countCorrect`.
    ///
    /// `logits` holds groups of `classes` consecutive shared signed values (one group per example);
    /// the hospital passes its labels, the vendor passes nil. Nothing is opened.
    ///
    /// The rank counts r_j = 1{x_j > v} for j ≥ c and 1{x_j ≥ v} for j < c, with v = x_c and c the
    /// label. With the hospital's private "before" bit b_j = 1{j < c}, that is
    /// r_j = 1{x_j − v − 1 + b_j ≥ 0} (exact in the integers), so no equality test is needed:
    ///
    /// 1. **Select the label's logit** (one 1-of-N OT per example, N = 2^⌈log2 classes⌉ ≤ 256,
    ///    vendor as sender): the vendor draws a private mask ρ and offers x0_j − ρ for every class j
    ///    (padding entries 0); the hospital chooses its label c. Vendor's share of v: ρ; hospital's:
    ///    x0_c − ρ + x1_c. (More than 256 classes: one correlated OT per class and example instead,
    ///    vendor Δ = x0_j, hospital choice 1{j = c}; the shares are summed.)
    /// 2. **Local offsets**: d_j = x_j − v − 1 + b_j. The vendor subtracts 1 from its share, the
    ///    hospital adds its own b_j to its share (its private input enters the sharing directly).
    /// 3. **Comparison bits** r_j = 1{x_j − v − 1 + b_j ≥ 0}, all classes and examples in one batch:
    ///    - `.full`: one millionaire run gives the MSBs s_x, s_v, s_d of x_j, v and d_j (s_v once per
    ///      example). If s_x = s_v then x_j − v ∈ (−2^(ℓ−1), 2^(ℓ−1)) and d_j does not wrap, so
    ///      r_j = ¬s_d. Otherwise x_j ≠ v and r_j = 1{x_j > v} = s_v. With e = s_x ⊕ s_v:
    ///      r_j = e ∧ (s_v ⊕ ¬s_d) ⊕ ¬s_d (one AND round).
    ///    - `.halfRange` (both values in [−2^(ℓ−2), 2^(ℓ−2)), as the plan guarantees): r_j = DReLU(d_j).
    ///    For j = c, d_j = −1, so r_c = 0.
    /// 4. **Rank**: B2A of the r_j into the small ring Z_2^w, 2^(w−1) ≥ classes (one correlated OT
    ///    per bit), and a local sum per example: rank ∈ [0, classes).
    /// 5. **Correctness**: correct = 1{rank < k} = DReLU(k − 1 − rank) over Z_2^w
    ///    (|k − 1 − rank| < classes ≤ 2^(w−1), so exact).
    /// 6. **Count**: B2A of the correctness bits into Z_2^countBits and a local sum.
    ///
    /// k = classes needs no computation: every example is correct, and the result is the public
    /// test-set size shared as (n, 0).
    ///
    /// Reveals nothing: the vendor is the OT sender in step 1 (it learns nothing about c) and every
    /// other step is a protocol on shares whose message sizes depend only on the public shapes
    /// (examples, classes, ℓ, k). Rounds: one OT, one millionaire run on ℓ−1 bits (+ one AND round),
    /// two B2A conversions and one millionaire run on w−1 bits — constant for any number of examples.
    /// Measured (10 classes, k = 5, ℓ = 37, IKNP, both directions, OT setup excluded): about 12.0 kB
    /// per example and 11 rounds per call with `.full`, 5.8 kB and 8 rounds with `.halfRange`
    /// (`countCorrect`'s argmax tree: 15.7 kB, 42 rounds); the millionaire runs of step 3
    /// (2·classes + 1 MSBs per example with `.full`, classes with `.halfRange`) are almost all of it.
    ///
    /// - Throws: `ProtocolError` for a k outside 1...classes, a logit count that is not a multiple
    ///   of `classes`, a count ring too small for the number of examples, or (at the hospital)
    ///   labels of the wrong count or outside 0..<classes. Messages never contain a secret.
    public func countCorrectTopK(logits: ArithmeticShare, classes: Int, k: Int, labels: [Int]?, countBits: Int? = nil,
                                 range: ComparisonRange = .full) throws -> ArithmeticShare {
        let operation = "top-k count"
        guard classes >= 1, logits.count % classes == 0 else {
            throw ProtocolError.invalidParameter(operation: operation, reason: "\(logits.count) logits do not split into groups of \(classes) classes")
        }
        guard (1...classes).contains(k) else {
            throw ProtocolError.invalidParameter(operation: operation, reason: "k = \(k) is outside 1...\(classes) (the model has \(classes) classes)")
        }
        let bits = countBits ?? logits.bits
        try Self.checkRing(bits, operation)
        try Self.checkRing(logits.bits, operation)
        let groups = logits.count / classes
        guard groups < (1 << Swift.min(bits - 1, 62)) else {
            throw ProtocolError.invalidParameter(operation: operation, reason: "\(groups) examples do not fit in a signed \(bits)-bit count")
        }
        var label: [Int] = []
        if party == .hospital {
            guard let labels, labels.count == groups else {
                throw ProtocolError.countMismatch(operation: operation, expected: groups, actual: labels?.count ?? 0)
            }
            for (row, c) in labels.enumerated() where !(0..<classes).contains(c) {
                throw ProtocolError.invalidParameter(operation: operation, reason: "the label of example \(row) is not a class in 0..<\(classes)")
            }
            label = labels
        }
        if groups == 0 { return .zeros(count: 1, bits: bits) }
        if k == classes {
            // rank < classes always: the count is the public number of examples.
            return ArithmeticShare.zeros(count: 1, bits: bits).adding(constant: Int64(groups), party: party)
        }

        let ell = logits.bits, m = logits.mask
        let n = groups * classes

        // Step 1: shares of v = x_label per example.
        let selected = try selectLabelLogit(logits, classes: classes, groups: groups, labels: label)

        // Step 2: d_j = x_j − v − 1 + b_j.
        var d = [UInt64](repeating: 0, count: n)
        for g in 0..<groups {
            let v = selected.values[g]
            for j in 0..<classes {
                let t = g * classes + j
                var value = logits.values[t] &- v
                if party == .vendor {
                    value = value &- 1
                } else if j < label[g] {
                    value = value &+ 1
                }
                d[t] = value & m
            }
        }
        let dShare = ArithmeticShare(bits: ell, values: d)

        // Step 3: r_j.
        let r: BooleanShare
        switch range {
        case .halfRange:
            r = try drelu(dShare)
        case .full:
            let msbs = try mostSignificantBit(ArithmeticShare.concatenating([logits, selected, dShare]))
            let flip: UInt8 = party == .vendor ? 1 : 0
            var e = [UInt8](repeating: 0, count: n), t = e, notSd = e
            for g in 0..<groups {
                let sv = msbs.bits[n + g]
                for j in 0..<classes {
                    let i = g * classes + j
                    let sx = msbs.bits[i], sd = msbs.bits[n + groups + i]
                    e[i] = sx ^ sv
                    t[i] = sv ^ sd ^ flip
                    notSd[i] = sd ^ flip
                }
            }
            r = try and(BooleanShare(bits: e), BooleanShare(bits: t)).xor(BooleanShare(bits: notSd))
        }

        // Step 4: rank per example over Z_2^w, 2^(w−1) ≥ classes.
        let w = Swift.max(2, 65 - UInt64(classes - 1).leadingZeroBitCount)
        let rArith = try toArithmetic(r, bits: w)
        let wm = ringMask(w)
        var rank = [UInt64](repeating: 0, count: groups)
        for g in 0..<groups {
            var s: UInt64 = 0
            for j in 0..<classes { s = s &+ rArith.values[g * classes + j] }
            rank[g] = s & wm
        }

        // Step 5: correct = DReLU(k − 1 − rank).
        let margin = ArithmeticShare(bits: w, values: rank).negated().adding(constant: Int64(k - 1), party: party)
        let correct = try drelu(margin)

        // Step 6: the count.
        return try toArithmetic(correct, bits: bits).sum()
    }

    /// Step 1 of `countCorrectTopK`: shares of x_{label} per group, the label private to the
    /// hospital (`labels` is empty at the vendor). See there for the protocol.
    func selectLabelLogit(_ logits: ArithmeticShare, classes: Int, groups: Int, labels: [Int]) throws -> ArithmeticShare {
        let ell = logits.bits, m = logits.mask
        let width = classes <= 2 ? 2 : 1 << (64 - UInt64(classes - 1).leadingZeroBitCount)
        if width <= 256 {
            if party == .vendor {
                let rho = prg.ringElements(groups, bits: ell)
                var messages = [UInt64](repeating: 0, count: groups * width)
                for g in 0..<groups {
                    for j in 0..<classes { messages[g * width + j] = (logits.values[g * classes + j] &- rho[g]) & m }
                }
                try ot.chosenSend1ofN(messages: messages, n: width, bits: ell)
                return ArithmeticShare(bits: ell, values: rho)
            } else {
                let received = try ot.chosenReceive1ofN(choices: labels.map { UInt8($0) }, n: width, bits: ell)
                return ArithmeticShare(bits: ell, values: (0..<groups).map { g in
                    (received[g] &+ logits.values[g * classes + labels[g]]) & m
                })
            }
        }
        // Many classes: one correlated OT per class and example.
        var out = [UInt64](repeating: 0, count: groups)
        if party == .vendor {
            let x = try ot.correlatedSend(deltas: logits.values, bits: ell)
            for g in 0..<groups {
                var s: UInt64 = 0
                for j in 0..<classes { s = s &- x[g * classes + j] }
                out[g] = s & m
            }
        } else {
            var choices = [Bool](repeating: false, count: groups * classes)
            for g in 0..<groups { choices[g * classes + labels[g]] = true }
            let y = try ot.correlatedReceive(choices: choices, bits: ell)
            for g in 0..<groups {
                var s = logits.values[g * classes + labels[g]]
                for j in 0..<classes { s = s &+ y[g * classes + j] }
                out[g] = s & m
            }
        }
        return ArithmeticShare(bits: ell, values: out)
    }
}

import Transport

extension TwoPartySession {
    /// XOR shares of 1{index_i = label_i}, where `index` is a shared predicted class in
    /// [0, classes) and the labels are private to the hospital (the vendor passes nil).
    ///
    /// 1. The hospital subtracts its label from its share: z = index − label ∈ (−classes, classes),
    ///    so z = 0 ⇔ z ≡ 0 mod 2^k for 2^k ≥ classes; both reduce their shares to Z_2^k.
    /// 2. z = 0 ⇔ z0 = −z1 mod 2^k: the equality output of one millionaire run (vendor: z0,
    ///    hospital: −z1), on ⌈log2 classes⌉-bit inputs.
    ///
    /// The vendor learns nothing about the labels: what it sends and receives has sizes fixed by
    /// the public shapes, and every received value is masked.
    public func equalsLabel(_ index: ArithmeticShare, labels: [Int]?, classes: Int) throws -> BooleanShare {
        guard classes >= 1 else { throw ProtocolError.invalidParameter(operation: "label equality", reason: "classes must be at least 1") }
        let k = Swift.max(1, 64 - UInt64(classes - 1).leadingZeroBitCount)
        let km = ringMask(k)
        let values: [UInt64]
        if party == .hospital {
            guard let labels, labels.count == index.count else {
                throw ProtocolError.countMismatch(operation: "label equality", expected: index.count, actual: labels?.count ?? 0)
            }
            for (row, label) in labels.enumerated() where !(0..<classes).contains(label) {
                throw ProtocolError.invalidParameter(operation: "label equality", reason: "the label of example \(row) is not a class in 0..<\(classes)")
            }
            values = zip(index.values, labels).map { (0 &- ($0 &- UInt64($1))) & km }
        } else {
            values = index.values.map { $0 & km }
        }
        return try equal(values, bits: k)
    }

    /// Shares (over Z_2^bits) of the number of examples whose argmax equals the hospital's label:
    /// argmax, label equality, B2A of the correctness bits, and a local sum. Nothing is opened;
    /// several sessions' counts can be added before one opening (multi-site, shards).
    public func countCorrect(logits: ArithmeticShare, classes: Int, labels: [Int]?, countBits: Int? = nil,
                             range: ComparisonRange = .full) throws -> ArithmeticShare {
        let bits = countBits ?? logits.bits
        let groups = classes > 0 ? logits.count / classes : 0
        guard groups < (1 << Swift.min(bits - 1, 62)) else {
            throw ProtocolError.invalidParameter(operation: "count correct", reason: "\(groups) examples do not fit in a signed \(bits)-bit count")
        }
        let (index, _) = try argmax(logits, classes: classes, range: range)
        let correct = try equalsLabel(index, labels: labels, classes: classes)
        return try toArithmetic(correct, bits: bits).sum()
    }
}

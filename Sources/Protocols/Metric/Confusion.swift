import Transport

extension TwoPartySession {
    /// Shares over Z_2^bits of the C×C confusion counts (row = the hospital's label, column = the
    /// predicted class, row-major) of `logits` (C per image).
    ///
    /// 1. Argmax per image (the lowest index wins a tie, as the reference).
    /// 2. For each image and class p, XOR shares of 1{index = p}: `equalsLabel` with p as the
    ///    hospital's "label" (public, but the protocol takes it from the hospital).
    /// 3. For each image, true class l and predicted class p, one multiplexer selects the
    ///    hospital's bit 1{label = l} with 1{index = p}; sums over the images are local.
    ///
    /// Reveals nothing. Cost: one argmax, N·C equality tests and N·C² multiplexers.
    public func confusionCounts(logits: ArithmeticShare, classes: Int, labels: [Int]?, bits: Int) throws -> ArithmeticShare {
        guard classes >= 1, logits.count % classes == 0 else {
            throw ProtocolError.invalidParameter(operation: "confusion matrix", reason: "\(logits.count) logits do not split into groups of \(classes) classes")
        }
        let images = logits.count / classes
        if party == .hospital {
            guard let labels, labels.count == images else {
                throw ProtocolError.countMismatch(operation: "confusion matrix", expected: images, actual: labels?.count ?? 0)
            }
            if let bad = labels.firstIndex(where: { !(0..<classes).contains($0) }) {
                throw ProtocolError.invalidParameter(operation: "confusion matrix", reason: "the label of example \(bad) is not a class in 0..<\(classes)")
            }
        }
        guard images < (1 << Swift.min(bits - 1, 62)) else {
            throw ProtocolError.invalidParameter(operation: "confusion matrix", reason: "\(images) examples do not fit a signed \(bits)-bit count")
        }
        let (index, _) = try argmax(logits, classes: classes)
        // Step 2: image-major, class-minor.
        let repeated = ArithmeticShare(bits: index.bits, values: index.values.flatMap { [UInt64](repeating: $0, count: classes) })
        let predicted = try equalsLabel(repeated, labels: party == .hospital ? (0..<(images * classes)).map { $0 % classes } : nil,
                                        classes: classes)
        // Step 3: element (i, l, p) at (i·C + l)·C + p.
        var select = [UInt8](repeating: 0, count: images * classes * classes)
        var held = [UInt64](repeating: 0, count: select.count)
        for i in 0..<images {
            for l in 0..<classes {
                for p in 0..<classes {
                    let e = (i * classes + l) * classes + p
                    select[e] = predicted.bits[i * classes + p]
                    if let labels, labels[i] == l { held[e] = 1 }
                }
            }
        }
        let moved = try multiplex(BooleanShare(bits: select), ArithmeticShare(bits: bits, values: held))
        let m = ringMask(bits)
        var counts = [UInt64](repeating: 0, count: classes * classes)
        for e in 0..<moved.count { counts[e % (classes * classes)] = (counts[e % (classes * classes)] &+ moved.values[e]) & m }
        return ArithmeticShare(bits: bits, values: counts)
    }
}

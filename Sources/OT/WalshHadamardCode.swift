/// The Walsh–Hadamard code of dimension 8 and length 256 (KK13's linear code for 1-of-N OT with
/// N ≤ 256): bit k of the codeword C(x) is the parity of x & k. Any two distinct codewords differ
/// in exactly 128 positions (C(x) ⊕ C(y) = C(x ⊕ y), and a non-zero codeword has weight 128),
/// which is what makes one 256-bit extension row hide the other N − 1 messages with 128-bit
/// security.
enum WalshHadamardCode {
    /// C(x) as four words (bit k of the 256-bit codeword is bit k % 64 of word k / 64).
    static func codeword(_ x: UInt8) -> [UInt64] {
        var words = [UInt64](repeating: 0, count: 4)
        for k in 0..<256 where (UInt8(truncatingIfNeeded: k) & x).nonzeroBitCount & 1 == 1 {
            words[k >> 6] |= 1 << UInt64(k & 63)
        }
        return words
    }

    /// Columns of the codeword matrix of a batch: column k (k < 256, `words` words each, at
    /// `columns + k * words`) has bit i = bit k of C(values[i]), for i < values.count (zero
    /// padding up to 64 · words).
    ///
    /// Column k is the XOR of the bit planes of the values selected by k (bit j of k selects plane
    /// j, bit j of every value), so column k = column (k with its lowest bit cleared) ⊕ plane
    /// (index of that bit): one word XOR per column word.
    static func columns(of values: UnsafeBufferPointer<UInt8>, words: Int, into columns: UnsafeMutablePointer<UInt64>) {
        precondition(values.count <= 64 * words)
        let planes = UnsafeMutablePointer<UInt64>.allocate(capacity: 8 * words)
        defer {
            planes.update(repeating: 0, count: 8 * words)
            planes.deallocate()
        }
        planes.update(repeating: 0, count: 8 * words)
        for i in 0..<values.count {
            let v = UInt64(values[i]), w = i >> 6, bit = UInt64(i & 63)
            for j in 0..<8 { planes[j * words + w] |= ((v >> UInt64(j)) & 1) << bit }
        }
        columns.update(repeating: 0, count: words)
        for k in 1..<256 {
            let lower = k & (k - 1), plane = k.trailingZeroBitCount
            let out = columns + k * words, from = columns + lower * words, p = planes + plane * words
            for w in 0..<words { out[w] = from[w] ^ p[w] }
        }
    }
}

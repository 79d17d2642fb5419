import CryptoPrimitives

/// Samplers for RLWE: uniform masks, ternary secrets, centred-binomial errors and wide uniform
/// flooding noise, all drawn from an AES-128-CTR stream so that a seed reproduces them.
public enum Sampling {
    /// The centred-binomial parameter η: error e = Σ_{i<η} (b_i − b'_i), |e| ≤ η, variance η/2,
    /// so σ = √10.5 ≈ 3.24 (the HE standard's σ ≈ 3.2).
    public static let binomialEta = 21

    /// A polynomial with each limb uniform in [0, q_j), by rejection sampling on masked 64-bit
    /// words. Deterministic in the PRG stream: a receiver with the same seed gets the same values.
    /// The result is equally uniform in either form; callers use it directly as evaluation form.
    package static func uniform(context: RNSContext, prg: AESPRG) -> [UInt64] {
        let n = context.degree
        var out = [UInt64](repeating: 0, count: n * context.limbCount)
        var buffer = [UInt64](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { o in
            buffer.withUnsafeMutableBufferPointer { b in
                for (j, m) in context.moduli.enumerated() {
                    let mask: UInt64 = m.bitWidth == 64 ? .max : (1 << UInt64(m.bitWidth)) &- 1
                    var filled = 0
                    let dst = o.baseAddress! + j * n
                    while filled < n {
                        prg.fill(UnsafeMutableRawBufferPointer(b))
                        for k in 0..<n where filled < n {
                            let v = b[k] & mask
                            if v < m.value { dst[filled] = v; filled += 1 }
                        }
                    }
                }
            }
        }
        return out
    }

    /// N ternary coefficients uniform in {−1, 0, 1} (rejection on bytes: 255 is dropped).
    static func ternary(degree: Int, prg: AESPRG) -> [Int8] {
        var out = [Int8](repeating: 0, count: degree)
        var bytes = [UInt8](repeating: 0, count: degree + 64)
        var filled = 0
        while filled < degree {
            bytes.withUnsafeMutableBytes { prg.fill($0) }
            for b in bytes where filled < degree && b < 255 {
                out[filled] = Int8(b % 3) - 1
                filled += 1
            }
        }
        for i in bytes.indices { bytes[i] = 0 }
        return out
    }

    /// N centred-binomial errors with η = 21 (one 64-bit word each: two 21-bit halves).
    static func binomialError(degree: Int, prg: AESPRG) -> [Int64] {
        let words = prg.words(degree)
        let mask: UInt64 = (1 << 21) - 1
        var out = [Int64](repeating: 0, count: degree)
        for i in 0..<degree {
            let w = words[i]
            out[i] = Int64((w & mask).nonzeroBitCount) - Int64(((w >> 21) & mask).nonzeroBitCount)
        }
        return out
    }

    /// Ternary or small signed coefficients lifted into every limb of `context`.
    static func lift(_ small: [Int64], context: RNSContext) -> Polynomial<Coefficient> {
        var data = [UInt64](repeating: 0, count: context.degree * context.limbCount)
        for (j, m) in context.moduli.enumerated() {
            let base = j * context.degree
            for i in 0..<context.degree { data[base + i] = m.reduce(signed: small[i]) }
        }
        return Polynomial(uncheckedContext: context, data: data)
    }

    /// N integers uniform in [−2^bits, 2^bits) (up to 2^250), reduced into every limb: the noise
    /// flooding distribution. Each value uses ⌈(bits+1)/64⌉ words of the stream.
    static func wideUniform(bits: Int, context: RNSContext, prg: AESPRG) -> Polynomial<Coefficient> {
        precondition(bits >= 1 && bits < 250, "flooding width out of range")
        let n = context.degree
        let wordsPer = (bits + 1 + 63) / 64
        let topBits = (bits + 1) - 64 * (wordsPer - 1)
        let topMask: UInt64 = topBits == 64 ? .max : (1 << UInt64(topBits)) &- 1
        let stream = prg.words(n * wordsPer)
        var data = [UInt64](repeating: 0, count: n * context.limbCount)
        for (j, m) in context.moduli.enumerated() {
            // 2^bits mod q, subtracted to centre X ∈ [0, 2^(bits+1)) at zero.
            var offset: UInt64 = 1
            for _ in 0..<bits { offset = m.add(offset, offset) }
            for i in 0..<n {
                // Horner from the most significant word: r ← (r·2^64 + w) mod q.
                var r: UInt64 = 0
                for k in stride(from: wordsPer - 1, through: 0, by: -1) {
                    var w = stream[i * wordsPer + k]
                    if k == wordsPer - 1 { w &= topMask }
                    r = m.reduce(high: r, low: w)
                }
                data[j * n + i] = m.subtract(r, offset)
            }
        }
        return Polynomial(uncheckedContext: context, data: data)
    }
}

import CryptoPrimitives

// The vendor's side: operations that need no secret key.
extension BFV {
    // MARK: Ciphertext ± plaintext

    /// ct + m (m ∈ Z_t^N): c0 += ⌊q·m/t⌉. Adds at most 1/2 to the noise.
    public static func add(_ ct: Ciphertext<Coefficient>, plaintext message: [UInt64]) throws(HEError) -> Ciphertext<Coefficient> {
        var out = ct
        try addEncoded(message, to: &out.c0, level: try ct.parameters.level(ct.limbCount),
                       plaintextBits: ct.parameters.plaintextBits, subtract: false)
        return out
    }

    /// ct − m (m ∈ Z_t^N): c0 −= ⌊q·m/t⌉ — e.g. the vendor's random mask. Adds at most 1/2 to the noise.
    public static func subtract(_ ct: Ciphertext<Coefficient>, plaintext message: [UInt64]) throws(HEError) -> Ciphertext<Coefficient> {
        var out = ct
        try addEncoded(message, to: &out.c0, level: try ct.parameters.level(ct.limbCount),
                       plaintextBits: ct.parameters.plaintextBits, subtract: true)
        return out
    }

    /// ct + m in evaluation form (one forward NTT per prime for the encoding).
    public static func add(_ ct: Ciphertext<Evaluation>, plaintext message: [UInt64]) throws(HEError) -> Ciphertext<Evaluation> {
        let level = try ct.parameters.level(ct.limbCount)
        var encoded = Polynomial<Coefficient>(zeroIn: level.context)
        try addEncoded(message, to: &encoded, level: level, plaintextBits: ct.parameters.plaintextBits, subtract: false)
        var out = ct
        try out.c0.add(encoded.forwardNTT())
        return out
    }

    /// ct − m in evaluation form.
    public static func subtract(_ ct: Ciphertext<Evaluation>, plaintext message: [UInt64]) throws(HEError) -> Ciphertext<Evaluation> {
        let level = try ct.parameters.level(ct.limbCount)
        var encoded = Polynomial<Coefficient>(zeroIn: level.context)
        try addEncoded(message, to: &encoded, level: level, plaintextBits: ct.parameters.plaintextBits, subtract: false)
        var out = ct
        try out.c0.subtract(encoded.forwardNTT())
        return out
    }

    // MARK: Plaintext × ciphertext

    /// w · ct in evaluation form (pointwise, 2L·N modular products): decrypts to w·m mod t.
    /// Noise: ‖w‖₁ · (noise of ct).
    public static func multiply(_ w: PlaintextMultiplier, _ ct: Ciphertext<Evaluation>) throws(HEError) -> Ciphertext<Evaluation> {
        guard w.parameters === ct.parameters || w.parameters.fingerprint == ct.parameters.fingerprint else {
            throw .mismatchedParameters(detail: "plaintext multiplier and ciphertext use different parameters")
        }
        let n = ct.parameters.degree
        let limbs = ct.limbCount
        var out = ct
        out.c1Seed = nil
        let moduli = ct.c0.context.moduli
        w.evaluation.data.withUnsafeBufferPointer { wb in
            out.c0.data.withUnsafeMutableBufferPointer { c0 in
                out.c1.data.withUnsafeMutableBufferPointer { c1 in
                    for j in 0..<limbs {
                        let m = moduli[j]
                        let pw = wb.baseAddress! + j * n
                        let p0 = c0.baseAddress! + j * n, p1 = c1.baseAddress! + j * n
                        for i in 0..<n {
                            p0[i] = m.multiply(p0[i], pw[i])
                            p1[i] = m.multiply(p1[i], pw[i])
                        }
                    }
                }
            }
        }
        return out
    }

    // MARK: Modulus switching

    /// Switches ct from q = q_0…q_{k−1} down to q_0…q_{limbs−1} by dividing by the dropped primes
    /// and rounding (one prime at a time, c' = (c − [c]_{q_last}) / q_last with the centred
    /// remainder). Noise becomes noise·q'/q plus at most (1 + ‖s‖₁)/2 ≤ (N + 1)/2 per prime dropped.
    public static func switchModulus(_ ct: Ciphertext<Coefficient>, toLimbs limbs: Int) throws(HEError) -> Ciphertext<Coefficient> {
        guard limbs >= 1, limbs <= ct.limbCount else { throw .invalidLevel(requested: limbs, available: 1...ct.limbCount) }
        var c0 = ct.c0, c1 = ct.c1
        var current = ct.limbCount
        while current > limbs {
            let level = try ct.parameters.level(current)
            c0 = dropLastPrime(c0, level: level, parameters: ct.parameters)
            c1 = dropLastPrime(c1, level: level, parameters: ct.parameters)
            current -= 1
        }
        return Ciphertext(parameters: ct.parameters, c0: c0, c1: c1, c1Seed: nil)
    }

    static func dropLastPrime(_ p: Polynomial<Coefficient>, level: Level, parameters: HEParameters) -> Polynomial<Coefficient> {
        let n = parameters.degree
        let k = level.context.limbCount
        let lastModulus = level.context.moduli[k - 1]
        let lastValue = lastModulus.value
        let lower = parameters.context(limbs: k - 1)
        var out = [UInt64](repeating: 0, count: n * (k - 1))
        p.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let last = src.baseAddress! + (k - 1) * n
                for j in 0..<(k - 1) {
                    let m = lower.moduli[j]
                    let inv = level.lastInverse[j], invShoup = level.lastInverseShoup[j]
                    let lastReduced = level.lastModulusReduced[j]
                    let s = src.baseAddress! + j * n, d = dst.baseAddress! + j * n
                    for i in 0..<n {
                        let c = last[i]
                        // Centred remainder c̃ ∈ (−q_last/2, q_last/2], reduced mod q_j.
                        var remainder = m.reduce(c)
                        if c > lastValue >> 1 { remainder = m.subtract(remainder, lastReduced) }
                        d[i] = m.multiplyShoup(m.subtract(s[i], remainder), inv, invShoup)
                    }
                }
            }
        }
        return Polynomial(uncheckedContext: lower, data: out)
    }

    // MARK: Circuit privacy

    /// Re-randomises and floods a result before it goes back to the key owner:
    /// ct + Enc_pk(0) + (e_flood, 0), with Enc_pk(0) = (u·b + e0, u·a + e1), u ternary, e0, e1
    /// centred binomial, and e_flood uniform in [−2^floodingBits, 2^floodingBits).
    ///
    /// Why it is enough (semi-honest): the key owner knows s and the errors of its own encryptions,
    /// so (1) c1 of a product (= w·a) would reveal w — adding u·a + e1 makes c1 pseudorandom under
    /// RLWE with secret u; (2) the noise of a product, w·(e + ε), is a function of w — adding
    /// e_flood with 2^floodingBits ≥ 2^κ·B_product hides any shift of size ≤ B_product within
    /// statistical distance B_product/2^(floodingBits+1) ≤ 2^−(κ+1) per coefficient.
    /// `NoiseBudget.floodingBits` computes the width; the caller must flood before switching
    /// modulus (switching is then post-processing of a private ciphertext).
    /// - Warning: without this step a returned product leaks the vendor's plaintext multiplier.
    public static func rerandomize(_ ct: Ciphertext<Coefficient>, publicKey: PublicKey, floodingBits: Int, prg: AESPRG) throws(HEError) -> Ciphertext<Coefficient> {
        guard publicKey.parameters.fingerprint == ct.parameters.fingerprint else {
            throw .mismatchedParameters(detail: "public key and ciphertext use different parameters")
        }
        let limbs = ct.limbCount
        let context = ct.c0.context
        let n = ct.parameters.degree
        let u = Sampling.lift(Sampling.ternary(degree: n, prg: prg).map { Int64($0) }, context: context).forwardNTT()
        let pkB = Polynomial<Evaluation>(uncheckedContext: context, data: Array(publicKey.b.data.prefix(limbs * n)))
        let pkA = Polynomial<Evaluation>(uncheckedContext: context, data: Array(publicKey.a.data.prefix(limbs * n)))
        var zero0 = try (u * pkB).inverseNTT()
        var zero1 = try (u * pkA).inverseNTT()
        try zero0.add(Sampling.lift(Sampling.binomialError(degree: n, prg: prg), context: context))
        try zero1.add(Sampling.lift(Sampling.binomialError(degree: n, prg: prg), context: context))
        if floodingBits > 0 {
            try zero0.add(Sampling.wideUniform(bits: floodingBits, context: context, prg: prg))
        }
        var out = ct
        try out.c0.add(zero0)
        try out.c1.add(zero1)
        out.c1Seed = nil
        return out
    }
}

/// A lazy accumulator for Σ_k w_k · ct_k in evaluation form: each product is added as an
/// unreduced 128-bit value and reduced once per coefficient at the end (or every 255 products
/// for 60-bit primes, whose products stay below 2^120). Then one inverse NTT per output.
///
/// This is the inner loop of the linear layers: keep the vendor's multipliers in evaluation form
/// once per model, accumulate the products of one output polynomial here, and transform back once.
public struct ProductAccumulator: Sendable {
    public let parameters: HEParameters
    public let limbCount: Int
    /// 128-bit sums (low and high words) for c0 and c1, limb-major.
    private var low: [UInt64]
    private var high: [UInt64]
    private var pending = 0
    /// A scaled multiplier's limbs (`add(_:scaledBy:_:)`), kept between calls.
    private var scaled: [UInt64] = []
    /// Number of products added so far.
    public private(set) var count = 0
    /// Σ ‖w_k‖₁ of the multipliers added (for `NoiseBudget`).
    public private(set) var totalL1Norm = 0.0

    /// Products allowed between two intermediate reductions: 2^(128 − 2·bits(q_max)) − 1
    /// (255 for 60-bit primes), so the 128-bit sums never wrap.
    let reductionPeriod: Int

    public init(parameters: HEParameters, limbs: Int? = nil) {
        self.parameters = parameters
        limbCount = limbs ?? parameters.limbCount
        low = [UInt64](repeating: 0, count: 2 * limbCount * parameters.degree)
        high = low
        let widest = parameters.context.moduli.map(\.bitWidth).max()!
        reductionPeriod = (1 << min(20, 128 - 2 * widest)) - 1
    }

    /// acc += w · ct.
    public mutating func add(_ w: PlaintextMultiplier, _ ct: Ciphertext<Evaluation>) throws(HEError) {
        try accumulate(w.evaluation.data, of: w, ct, l1Norm: w.l1Norm)
    }

    /// acc += (w·m) · ct for a small signed integer w and a prepared multiplier m (e.g. a monomial
    /// X^k, so that several products land in disjoint coefficient ranges of one result): the
    /// scaled multiplier is made limb by limb with Shoup's multiplication, then accumulated like
    /// `add`. Noise accounting: ‖w·m‖₁ = |w|·‖m‖₁.
    public mutating func add(_ m: PlaintextMultiplier, scaledBy w: Int64, _ ct: Ciphertext<Evaluation>) throws(HEError) {
        guard m.parameters.fingerprint == parameters.fingerprint else {
            throw .mismatchedParameters(detail: "accumulator received a multiplier of other parameters")
        }
        let n = parameters.degree
        let moduli = parameters.context(limbs: limbCount).moduli
        var made = scaled.count == limbCount * n ? scaled : [UInt64](repeating: 0, count: limbCount * n)
        scaled = []                                   // keep `made` uniquely referenced
        m.evaluation.data.withUnsafeBufferPointer { mb in
            made.withUnsafeMutableBufferPointer { sb in
                for (j, q) in moduli.enumerated() {
                    let ws = q.reduce(signed: w), wShoup = q.shoup(ws)
                    for i in (j * n)..<((j + 1) * n) { sb[i] = q.multiplyShoup(mb[i], ws, wShoup) }
                }
            }
        }
        defer { scaled = made }
        try accumulate(made, of: m, ct, l1Norm: Double(w.magnitude) * m.l1Norm)
    }

    /// acc += w · ct for multiplier limbs `w` (evaluation form) of the multiplier `source`.
    private mutating func accumulate(_ w: [UInt64], of source: PlaintextMultiplier, _ ct: Ciphertext<Evaluation>,
                                     l1Norm: Double) throws(HEError) {
        guard ct.limbCount == limbCount, ct.parameters.fingerprint == parameters.fingerprint,
              source.parameters.fingerprint == parameters.fingerprint, w.count >= limbCount * parameters.degree else {
            throw .mismatchedParameters(detail: "accumulator at \(limbCount) limbs received a product at \(ct.limbCount) limbs or of other parameters")
        }
        if pending == reductionPeriod { fold() }
        let half = limbCount * parameters.degree
        w.withUnsafeBufferPointer { wb in
            ct.c0.data.withUnsafeBufferPointer { c0 in
                ct.c1.data.withUnsafeBufferPointer { c1 in
                    low.withUnsafeMutableBufferPointer { lo in
                        high.withUnsafeMutableBufferPointer { hi in
                            let pw = wb.baseAddress!
                            ProductAccumulator.macc(pw, c0.baseAddress!, lo.baseAddress!, hi.baseAddress!, half)
                            ProductAccumulator.macc(pw, c1.baseAddress!, lo.baseAddress! + half, hi.baseAddress! + half, half)
                        }
                    }
                }
            }
        }
        pending += 1
        count += 1
        totalL1Norm += l1Norm
    }

    /// (hi:lo)[i] += w[i]·c[i] with 128-bit wrapping-free addition (bounded by `reductionPeriod`).
    @inline(__always)
    static func macc(_ w: UnsafePointer<UInt64>, _ c: UnsafePointer<UInt64>, _ lo: UnsafeMutablePointer<UInt64>, _ hi: UnsafeMutablePointer<UInt64>, _ count: Int) {
        for i in 0..<count {
            let p = w[i].multipliedFullWidth(by: c[i])
            let (s, carry) = lo[i].addingReportingOverflow(p.low)
            lo[i] = s
            hi[i] = hi[i] &+ p.high &+ (carry ? 1 : 0)
        }
    }

    private mutating func fold() {
        let n = parameters.degree
        let moduli = parameters.context(limbs: limbCount).moduli
        let limbCount = self.limbCount
        low.withUnsafeMutableBufferPointer { lo in
            high.withUnsafeMutableBufferPointer { hi in
                for component in 0..<2 {
                    for j in 0..<limbCount {
                        let m = moduli[j]
                        let base = (component * limbCount + j) * n
                        for i in base..<(base + n) {
                            lo[i] = m.reduce(high: hi[i], low: lo[i])
                            hi[i] = 0
                        }
                    }
                }
            }
        }
        pending = 0
    }

    /// The reduced sum Σ w_k · ct_k in evaluation form.
    public func result() throws(HEError) -> Ciphertext<Evaluation> {
        guard count > 0 else { throw .accumulatorMisuse(detail: "no products were added") }
        var copy = self
        copy.fold()
        let n = parameters.degree
        let half = limbCount * n
        let context = parameters.context(limbs: limbCount)
        let c0 = Polynomial<Evaluation>(uncheckedContext: context, data: Array(copy.low[0..<half]))
        let c1 = Polynomial<Evaluation>(uncheckedContext: context, data: Array(copy.low[half..<(2 * half)]))
        return Ciphertext(parameters: parameters, c0: c0, c1: c1, c1Seed: nil)
    }

    /// Clears the sums for the next output polynomial (keeps the storage).
    public mutating func reset() {
        for i in low.indices { low[i] = 0; high[i] = 0 }
        pending = 0
        count = 0
        totalL1Norm = 0
    }
}

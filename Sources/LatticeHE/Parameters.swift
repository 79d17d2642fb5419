/// Parameters of the BFV-style scheme: ring degree N, plaintext modulus t = 2^ℓ, and a chain of
/// NTT-friendly primes q_0, …, q_{L−1} (modulus switching drops primes from the end, so the
/// ciphertext modulus at level k is q_0·…·q_{k−1}).
///
/// Security: the public constructors refuse ciphertext moduli above the Homomorphic Encryption
/// Standard's 128-bit classical table (Albrecht et al., 2018; ternary secret, σ ≈ 3.2):
/// N = 1024: 27 bits, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881. Parameters for
/// tests that break that bound come only from `insecure(…)`.
///
/// Both parties build identical parameters from the same inputs (primes are searched
/// deterministically), and `fingerprint` lets them check it.
public final class HEParameters: Sendable, CustomStringConvertible {
    /// Ring degree N.
    public let degree: Int
    /// ℓ, with plaintext modulus t = 2^ℓ (1 ≤ ℓ ≤ 64).
    public let plaintextBits: Int
    /// The prime chain q_0, …, q_{L−1}.
    public let primes: [UInt64]
    /// Whether these parameters bypassed the security table (tests only).
    public let isInsecure: Bool
    /// Per-level constants; `levels[k − 1]` has k primes.
    let levels: [Level]

    /// Maximum bit length of q for 128-bit classical security per ring degree.
    public static let maximumModulusBits: [Int: Int] = [
        1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881,
    ]

    /// Secure parameters: primes of the given bit sizes (each ≡ 1 mod 2N, largest first for each
    /// size), checked against the security table.
    public convenience init(degree: Int, plaintextBits: Int, primeBits: [Int]) throws(HEError) {
        try self.init(degree: degree, plaintextBits: plaintextBits, primeBits: primeBits, insecure: false)
    }

    /// - Warning: Test-only parameters that may be below 128-bit security.
    public static func insecure(degree: Int, plaintextBits: Int, primeBits: [Int]) throws(HEError) -> HEParameters {
        try HEParameters(degree: degree, plaintextBits: plaintextBits, primeBits: primeBits, insecure: true)
    }

    /// N = 4096, q = 60-bit · 49-bit primes (109 bits, the table's limit); switching down keeps the
    /// 60-bit prime. Cheetah's choice; for ℓ up to about 41 with modulus switching and flooding.
    public static func n4096(plaintextBits: Int) throws(HEError) -> HEParameters {
        try HEParameters(degree: 4096, plaintextBits: plaintextBits, primeBits: [60, 49])
    }

    /// N = 8192, q = 60·60·49·49-bit primes (218 bits, the table's limit), for ℓ = 64 and large
    /// layers; switching down to two limbs leaves a 120-bit modulus.
    public static func n8192(plaintextBits: Int) throws(HEError) -> HEParameters {
        try HEParameters(degree: 8192, plaintextBits: plaintextBits, primeBits: [60, 60, 49, 49])
    }

    /// N = 2048, one 54-bit prime (the table's limit): small layers with small ℓ only.
    public static func n2048(plaintextBits: Int) throws(HEError) -> HEParameters {
        try HEParameters(degree: 2048, plaintextBits: plaintextBits, primeBits: [54])
    }

    private init(degree: Int, plaintextBits: Int, primeBits: [Int], insecure: Bool) throws(HEError) {
        guard degree >= 16, degree <= 32768, degree.nonzeroBitCount == 1 else { throw .unsupportedDegree(degree: degree) }
        guard (1...64).contains(plaintextBits) else { throw .unsupportedPlaintextBits(bits: plaintextBits) }
        guard !primeBits.isEmpty else { throw .mismatchedParameters(detail: "at least one prime is needed") }
        // Deterministic primes: for each size, the largest ones, in order of appearance.
        var bySize: [Int: [UInt64]] = [:]
        for bits in Set(primeBits) {
            bySize[bits] = try Primes.nttFriendly(bits: bits, degree: degree, count: primeBits.filter { $0 == bits }.count)
        }
        var used: [Int: Int] = [:]
        var primes: [UInt64] = []
        for bits in primeBits {
            primes.append(bySize[bits]![used[bits, default: 0]])
            used[bits, default: 0] += 1
        }
        let modulusBits = WideInteger.product(primes).bitLength
        if !insecure {
            guard let maximum = HEParameters.maximumModulusBits[degree] else {
                throw .insecureParameters(degree: degree, modulusBits: modulusBits, maximumBits: 0)
            }
            guard modulusBits <= maximum else {
                throw .insecureParameters(degree: degree, modulusBits: modulusBits, maximumBits: maximum)
            }
        }
        guard modulusBits > plaintextBits + 1 else {
            throw .noiseBudgetExceeded(stage: "in a fresh ciphertext (q must exceed 2t)", noiseBits: 0,
                                       limitBits: Double(modulusBits - plaintextBits - 1))
        }
        self.degree = degree
        self.plaintextBits = plaintextBits
        self.primes = primes
        self.isInsecure = insecure
        let top = try RNSContext(degree: degree, primes: primes)
        var levels: [Level] = []
        for k in 1...primes.count {
            let context = k == primes.count ? top : RNSContext(prefixOf: top, limbs: k)
            levels.append(Level(context: context, plaintextBits: plaintextBits))
        }
        self.levels = levels
    }

    /// Number of primes at the top level.
    public var limbCount: Int { primes.count }
    /// Bit length of the full ciphertext modulus q.
    public var modulusBits: Int { levels[limbCount - 1].modulusBits }
    /// Bit length of the modulus with `limbs` primes.
    public func modulusBits(limbs: Int) -> Int { levels[limbs - 1].modulusBits }
    /// log2 of the modulus with `limbs` primes.
    public func log2Modulus(limbs: Int) -> Double { levels[limbs - 1].log2Modulus }
    /// The RNS ring with all primes.
    public var context: RNSContext { levels[limbCount - 1].context }
    /// The RNS ring at a level.
    public func context(limbs: Int) -> RNSContext { levels[limbs - 1].context }

    func level(_ limbs: Int) throws(HEError) -> Level {
        guard (1...limbCount).contains(limbs) else { throw .invalidLevel(requested: limbs, available: 1...limbCount) }
        return levels[limbs - 1]
    }

    /// A 64-bit fingerprint of (N, ℓ, primes), written into serialisations (FNV-1a).
    public var fingerprint: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: UInt64) {
            for k in 0..<8 { h = (h ^ ((v >> UInt64(8 * k)) & 0xff)) &* 0x0000_0100_0000_01b3 }
        }
        mix(UInt64(degree)); mix(UInt64(plaintextBits))
        for p in primes { mix(p) }
        return h
    }

    public var description: String {
        "HEParameters(N = \(degree), t = 2^\(plaintextBits), q = \(primes.map { "\(64 - $0.leadingZeroBitCount)" }.joined(separator: "·"))-bit primes (\(modulusBits) bits)\(isInsecure ? ", INSECURE" : ""))"
    }
}

/// Constants of one level of the modulus chain.
final class Level: Sendable {
    let context: RNSContext
    /// q at this level.
    let modulus: WideInteger
    let modulusBits: Int
    let log2Modulus: Double
    /// Δ = ⌊q/t⌋ mod q_j and Shoup constants.
    let delta: [UInt64]
    let deltaShoup: [UInt64]
    /// q mod t (the part of q/t that Δ drops).
    let remainderModT: UInt64
    /// q / q_j as wide integers (exact decryption path).
    let punctured: [WideInteger]
    /// (q / q_j)⁻¹ mod q_j and Shoup constants.
    let puncturedInverse: [UInt64]
    let puncturedInverseShoup: [UInt64]
    /// 1 / q_j as doubles (fast rounding path).
    let reciprocal: [Double]
    /// ⌊2^(64+ℓ) / q_j⌋ as (high, low) words: turns ⌊x·t/q_j⌋ into two multiplies and a
    /// correction instead of a 128-by-64-bit division (a library call on x86-64).
    let scaledReciprocalHigh: [UInt64]
    let scaledReciprocalLow: [UInt64]
    /// For switching down to the level below: q_{k−1}⁻¹ mod q_j (j < k − 1), Shoup constants,
    /// and q_{k−1} mod q_j.
    let lastInverse: [UInt64]
    let lastInverseShoup: [UInt64]
    let lastModulusReduced: [UInt64]

    init(context: RNSContext, plaintextBits: Int) {
        self.context = context
        let primes = context.moduli.map(\.value)
        let q = WideInteger.product(primes)
        modulus = q
        modulusBits = q.bitLength
        log2Modulus = q.log2Value
        let deltaWide = q.shiftedRight(plaintextBits)
        let delta = context.moduli.map { deltaWide.remainder($0) }
        self.delta = delta
        deltaShoup = zip(context.moduli, delta).map { $0.shoup($1) }
        remainderModT = q.lowBits(plaintextBits)
        let punctured = primes.map { q.dividedExactly(by: $0) }
        self.punctured = punctured
        let puncturedInverse = zip(context.moduli, punctured).map { m, p in m.inverse(p.remainder(m)) }
        self.puncturedInverse = puncturedInverse
        puncturedInverseShoup = zip(context.moduli, puncturedInverse).map { $0.shoup($1) }
        reciprocal = primes.map { 1.0 / Double($0) }
        // ⌊2^(64+ℓ)/q⌋ = ⌊⌊2^128/q⌋ / 2^(64−ℓ)⌋.
        let shift = UInt64(64 - plaintextBits)
        scaledReciprocalHigh = context.moduli.map { shift == 0 ? $0.barrettHigh : $0.barrettHigh >> shift }
        scaledReciprocalLow = context.moduli.map {
            shift == 0 ? $0.barrettLow : ($0.barrettLow >> shift) | ($0.barrettHigh << (64 - shift))
        }
        let k = primes.count
        if k >= 2 {
            let last = primes[k - 1]
            let lower = context.moduli.prefix(k - 1)
            let lastInverse = lower.map { $0.inverse($0.reduce(last)) }
            self.lastInverse = lastInverse
            lastInverseShoup = zip(lower, lastInverse).map { $0.shoup($1) }
            lastModulusReduced = lower.map { $0.reduce(last) }
        } else {
            lastInverse = []
            lastInverseShoup = []
            lastModulusReduced = []
        }
    }
}

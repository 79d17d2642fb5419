import CryptoPrimitives

/// A BFV ciphertext (c0, c1) with c0 + c1·s = ⌊q·m/t⌉ + e (mod q), both components in `Format`.
///
/// Fresh encryptions carry the seed from which c1 is recomputed (`c1Seed`), so they travel as
/// (c0, seed); any operation that changes c1 drops the seed.
public struct Ciphertext<Format: PolynomialFormat>: Sendable {
    public let parameters: HEParameters
    public internal(set) var c0: Polynomial<Format>
    public internal(set) var c1: Polynomial<Format>
    /// The seed that expands to c1 (evaluation form), while c1 is still that expansion.
    public internal(set) var c1Seed: Block?

    /// Number of RNS primes (the level).
    public var limbCount: Int { c0.limbCount }

    init(parameters: HEParameters, c0: Polynomial<Format>, c1: Polynomial<Format>, c1Seed: Block?) {
        self.parameters = parameters
        self.c0 = c0
        self.c1 = c1
        self.c1Seed = c1Seed
    }
}

extension Ciphertext where Format == Evaluation {
    /// Both components in coefficient form (2L inverse NTTs).
    public func inverseNTT() -> Ciphertext<Coefficient> {
        Ciphertext<Coefficient>(parameters: parameters, c0: c0.inverseNTT(), c1: c1.inverseNTT(), c1Seed: nil)
    }
}

extension Ciphertext where Format == Coefficient {
    /// Both components in evaluation form (2L forward NTTs).
    public func forwardNTT() -> Ciphertext<Evaluation> {
        Ciphertext<Evaluation>(parameters: parameters, c0: c0.forwardNTT(), c1: c1.forwardNTT(), c1Seed: nil)
    }
}

/// A plaintext multiplier w ∈ Z_t[X]/(X^N + 1) (for example a kernel of the vendor's weights),
/// lifted to signed coefficients in (−t/2, t/2] and kept in evaluation form for every prime, so it is
/// transformed once and reused for any number of ciphertexts and at any level.
///
/// Its ℓ1 norm bounds the noise it adds (see `NoiseBudget`).
public struct PlaintextMultiplier: Sendable {
    public let parameters: HEParameters
    let evaluation: Polynomial<Evaluation>
    /// Σ |w_i| of the signed lift.
    public let l1Norm: Double
    /// Bytes held by its evaluation form (N·L words).
    public var byteCount: Int { evaluation.data.count * MemoryLayout<UInt64>.stride }
    /// max |w_i| and the number of nonzero coefficients.
    public let maximumMagnitude: UInt64
    public let nonzeroCount: Int

    /// Encodes w given as elements of Z_t (values ≥ t/2 are negative).
    public init(parameters: HEParameters, values: [UInt64]) throws(HEError) {
        let bits = parameters.plaintextBits
        var magnitudes = [UInt64](repeating: 0, count: values.count)
        var negative = [Bool](repeating: false, count: values.count)
        for (i, v) in values.enumerated() {
            if bits < 64, v >> UInt64(bits) != 0 { throw .valueOutOfRange(index: i, bits: bits) }
            let isNegative = (v >> UInt64(bits - 1)) & 1 == 1
            // Magnitude of the centred lift: t − v for the upper half (for ℓ = 64, two's complement).
            let magnitude: UInt64 = isNegative ? (bits == 64 ? 0 &- v : (1 << UInt64(bits)) - v) : v
            magnitudes[i] = magnitude
            negative[i] = isNegative
        }
        try self.init(parameters: parameters, magnitudes: magnitudes, negative: negative)
    }

    /// Encodes w given as signed integers with |w_i| < t/2.
    public init(parameters: HEParameters, signed: [Int64]) throws(HEError) {
        let bits = parameters.plaintextBits
        for (i, w) in signed.enumerated() where bits < 64 && w.magnitude > (UInt64(1) << UInt64(bits - 1)) {
            throw .valueOutOfRange(index: i, bits: bits)
        }
        try self.init(parameters: parameters, magnitudes: signed.map(\.magnitude), negative: signed.map { $0 < 0 })
    }

    private init(parameters: HEParameters, magnitudes: [UInt64], negative: [Bool]) throws(HEError) {
        let n = parameters.degree
        guard magnitudes.count == n else { throw .wrongLength(expected: n, actual: magnitudes.count) }
        let context = parameters.context
        var data = [UInt64](repeating: 0, count: n * context.limbCount)
        for (j, m) in context.moduli.enumerated() {
            for i in 0..<n {
                let r = m.reduce(magnitudes[i])
                data[j * n + i] = negative[i] ? m.negate(r) : r
            }
        }
        self.parameters = parameters
        evaluation = Polynomial<Coefficient>(uncheckedContext: context, data: data).forwardNTT()
        l1Norm = magnitudes.reduce(0.0) { $0 + Double($1) }
        maximumMagnitude = magnitudes.max() ?? 0
        nonzeroCount = magnitudes.count { $0 != 0 }
    }
}

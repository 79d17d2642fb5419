import Foundation
import CryptoPrimitives

/// The BFV-style scheme with plaintext modulus t = 2^ℓ, in the coefficient encoding that Cheetah
/// uses (no slots, no rotations): a message is a polynomial m ∈ Z_t[X]/(X^N + 1), given as N
/// values in [0, t).
///
/// Encoding: m ↦ ⌊q·m/t⌉ = Δ·m + ⌊(r·m + t/2)/t⌋ with Δ = ⌊q/t⌋ and r = q mod t (q is odd, t a
/// power of two, so q/t is never an integer). Scaling by the exact rational q/t — not by Δ — is
/// what makes plaintext × ciphertext products decrypt to w·m mod t exactly: w·⌊q·m/t⌉ =
/// (q/t)·(w·m) + w·ε with |ε| ≤ 1/2, and (q/t)·(w·m) ≡ (q/t)·[w·m]_t mod q. With Δ·m instead, the
/// dropped r·m/t would turn into noise of size up to r·‖w‖₁ ≈ t·‖w‖₁.
///
/// Decryption: m = ⌊t·(c0 + c1·s)/q⌉ mod t, exact (see `decode`).
///
/// Roles: the client (hospital) owns the `SecretKey`, encrypts and decrypts; the vendor only sees
/// ciphertexts, multiplies them by its `PlaintextMultiplier`s, masks, re-randomises, floods,
/// switches modulus and returns. Nothing here is constant-time with respect to the message.
public enum BFV {
    // MARK: Encoding

    /// Adds (sign = +1) or subtracts ⌊q·m/t⌉ into `target` (coefficient form) at `level`.
    static func addEncoded(_ message: [UInt64], to target: inout Polynomial<Coefficient>, level: Level,
                           plaintextBits: Int, subtract: Bool) throws(HEError) {
        let n = level.context.degree
        guard message.count == n else { throw .wrongLength(expected: n, actual: message.count) }
        if plaintextBits < 64 {
            for (i, v) in message.enumerated() where v >> UInt64(plaintextBits) != 0 {
                throw .valueOutOfRange(index: i, bits: plaintextBits)
            }
        }
        let r = level.remainderModT
        let ell = UInt64(plaintextBits)
        let moduli = level.context.moduli
        // ⌊(r·m + t/2) / t⌋ per coefficient, as a 128-bit computation (r, m < 2^ℓ ≤ 2^64).
        var rounding = [UInt64](repeating: 0, count: n)
        for i in 0..<n {
            let p = r.multipliedFullWidth(by: message[i])
            let (lo, carry) = p.low.addingReportingOverflow(1 << (ell - 1))
            let hi = p.high &+ (carry ? 1 : 0)
            rounding[i] = ell == 64 ? hi : (hi << (64 - ell)) | (lo >> ell)
        }
        target.data.withUnsafeMutableBufferPointer { out in
            message.withUnsafeBufferPointer { msg in
                rounding.withUnsafeBufferPointer { rnd in
                    for j in 0..<moduli.count {
                        let mod = moduli[j]
                        let delta = level.delta[j], deltaShoup = level.deltaShoup[j]
                        let o = out.baseAddress! + j * n
                        for i in 0..<n {
                            let scaled = mod.multiplyShoupLazy(msg[i], delta, deltaShoup)  // any 64-bit m; < 2q
                            var e = scaled &+ mod.reduce(rnd[i])  // < 3q
                            if e >= mod.twice { e &-= mod.twice }
                            if e >= mod.value { e &-= mod.value }
                            o[i] = subtract ? mod.subtract(o[i], e) : mod.add(o[i], e)
                        }
                    }
                }
            }
        }
    }

    /// m = ⌊t·v/q⌉ mod t for v = c0 + c1·s at `level`, exactly.
    ///
    /// With x_j = [v_j·(q/q_j)⁻¹]_{q_j}, v ≡ Σ x_j·(q/q_j) (mod q), so t·v/q ≡ Σ t·x_j/q_j (mod t).
    /// Each t·x_j/q_j splits into an integer quotient and a remainder fraction (one 128/64-bit
    /// division); the rounding of Σ remainders/q_j is decided in double precision unless it lies
    /// within 2^−30 of a half-integer, where an exact multi-word comparison decides it.
    /// Also returns max |t·v/q − m| (the noise relative to q/t, in units of 1; < 1/2 when correct).
    static func decode(_ v: Polynomial<Coefficient>, level: Level, plaintextBits: Int) -> (message: [UInt64], maxDistance: Double) {
        let n = level.context.degree
        let limbs = level.context.limbCount
        let moduli = level.context.moduli
        let ell = plaintextBits
        let tMask: UInt64 = ell == 64 ? .max : (1 << UInt64(ell)) &- 1
        var out = [UInt64](repeating: 0, count: n)
        var maxDistance = 0.0
        var remainders = [UInt64](repeating: 0, count: limbs)
        let twiceQ = level.modulus.multiplied(by: 2)
        v.data.withUnsafeBufferPointer { data in
            for i in 0..<n {
                var integral: UInt64 = 0
                var fraction = 0.0
                for j in 0..<limbs {
                    let mod = moduli[j]
                    let x = limbs == 1 ? data[i] : mod.multiplyShoup(data[j * n + i], level.puncturedInverse[j], level.puncturedInverseShoup[j])
                    // ⌊x·2^ℓ/q_j⌋ from the precomputed ⌊2^(64+ℓ)/q_j⌋: the estimate is at most 2 below,
                    // and the remainder x·2^ℓ − quotient·q_j < 3q_j is exact in 64-bit wrapping arithmetic.
                    var quotient = x &* level.scaledReciprocalHigh[j] &+ x.multipliedFullWidth(by: level.scaledReciprocalLow[j]).high
                    let low: UInt64 = ell == 64 ? 0 : x << UInt64(ell)
                    var remainder = low &- quotient &* mod.value
                    while remainder >= mod.value { remainder &-= mod.value; quotient &+= 1 }
                    integral &+= quotient
                    remainders[j] = remainder
                    fraction += Double(remainder) * level.reciprocal[j]
                }
                var rounded = (fraction + 0.5).rounded(.down)
                let distanceToHalf = abs(fraction - (fraction.rounded(.down) + 0.5))
                if distanceToHalf < 0x1p-30 {
                    // Exact: ⌊Σ rem_j/q_j + 1/2⌋ = ⌊(2·Σ rem_j·(q/q_j) + q) / 2q⌋, quotient ≤ L.
                    var x = level.modulus
                    for j in 0..<limbs {
                        x = x + level.punctured[j].multiplied(by: remainders[j]).multiplied(by: 2)
                    }
                    var k = 0.0
                    while !(x < twiceQ) { x = x - twiceQ; k += 1 }
                    rounded = k
                }
                out[i] = (integral &+ UInt64(rounded)) & tMask
                maxDistance = max(maxDistance, abs(fraction - rounded))
            }
        }
        return (out, maxDistance)
    }

    // MARK: Encryption and decryption

    /// Secret-key encryption of m ∈ Z_t^N at the top level (or `limbs` primes):
    /// c1 = a expanded from a fresh seed (evaluation form), c0 = −a·s + e + ⌊q·m/t⌉.
    /// The result is in evaluation form, ready for plaintext products, and carries its seed
    /// so it serialises as (c0, seed). `prg` supplies the seed and the error: use an OS-seeded
    /// `AESPRG()` outside tests.
    public static func encrypt(_ message: [UInt64], secretKey: SecretKey, prg: AESPRG, limbs: Int? = nil) throws(HEError) -> Ciphertext<Evaluation> {
        try encrypt(message, secretKey: secretKey, prg: prg, limbs: limbs, chosenError: nil)
    }

    /// Encryption with a caller-chosen error polynomial (tests of the worst-case noise only).
    static func encrypt(_ message: [UInt64], secretKey: SecretKey, prg: AESPRG, limbs: Int?, chosenError: [Int64]?) throws(HEError) -> Ciphertext<Evaluation> {
        let parameters = secretKey.parameters
        let level = try parameters.level(limbs ?? parameters.limbCount)
        let context = level.context
        let seed = prg.block()
        let a = Polynomial<Evaluation>(uncheckedContext: context, data: Sampling.uniform(context: context, prg: AESPRG(seed: seed)))
        var noisy = Sampling.lift(chosenError ?? Sampling.binomialError(degree: parameters.degree, prg: prg), context: context)
        try addEncoded(message, to: &noisy, level: level, plaintextBits: parameters.plaintextBits, subtract: false)
        var c0 = noisy.forwardNTT()
        var as_ = a
        secretKey.multiply(&as_)
        try c0.subtract(as_)
        return Ciphertext(parameters: parameters, c0: c0, c1: a, c1Seed: seed)
    }

    /// c0 + c1·s in coefficient form.
    static func phase(_ ct: Ciphertext<Coefficient>, secretKey: SecretKey) throws(HEError) -> Polynomial<Coefficient> {
        try checkKey(secretKey, ct.parameters)
        var c1s = ct.c1.forwardNTT()
        secretKey.multiply(&c1s)
        var v = c1s.inverseNTT()
        try v.add(ct.c0)
        return v
    }

    static func phase(_ ct: Ciphertext<Evaluation>, secretKey: SecretKey) throws(HEError) -> Polynomial<Coefficient> {
        try checkKey(secretKey, ct.parameters)
        var v = ct.c1
        secretKey.multiply(&v)
        try v.add(ct.c0)
        return v.inverseNTT()
    }

    static func checkKey(_ key: SecretKey, _ parameters: HEParameters) throws(HEError) {
        guard key.parameters === parameters || key.parameters.fingerprint == parameters.fingerprint else {
            throw .mismatchedParameters(detail: "secret key and ciphertext use different parameters")
        }
    }

    /// Decrypts to m ∈ Z_t^N.
    public static func decrypt(_ ct: Ciphertext<Coefficient>, secretKey: SecretKey) throws(HEError) -> [UInt64] {
        let level = try ct.parameters.level(ct.limbCount)
        return decode(try phase(ct, secretKey: secretKey), level: level, plaintextBits: ct.parameters.plaintextBits).message
    }

    /// Decrypts to m ∈ Z_t^N.
    public static func decrypt(_ ct: Ciphertext<Evaluation>, secretKey: SecretKey) throws(HEError) -> [UInt64] {
        let level = try ct.parameters.level(ct.limbCount)
        return decode(try phase(ct, secretKey: secretKey), level: level, plaintextBits: ct.parameters.plaintextBits).message
    }

    /// The remaining noise budget in bits: log2(q/(2t)) − log2(max |noise|), measured with the
    /// secret key (diagnostics and tests; resolution about 50 bits). Positive means decryptable.
    public static func noiseBudget(_ ct: Ciphertext<Coefficient>, secretKey: SecretKey) throws(HEError) -> Double {
        let level = try ct.parameters.level(ct.limbCount)
        let d = decode(try phase(ct, secretKey: secretKey), level: level, plaintextBits: ct.parameters.plaintextBits).maxDistance
        return d > 0 ? -log2(2 * d) : 60
    }

    public static func noiseBudget(_ ct: Ciphertext<Evaluation>, secretKey: SecretKey) throws(HEError) -> Double {
        try noiseBudget(ct.inverseNTT(), secretKey: secretKey)
    }
}

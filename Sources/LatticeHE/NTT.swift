/// Precomputed tables for the negacyclic number-theoretic transform over Z_q[X]/(X^N + 1).
///
/// Forward: Cooley–Tukey butterflies with the powers of a primitive 2N-th root ψ in bit-reversed
/// order, natural-order input, bit-reversed output (the order never matters to users: evaluation
/// form is only multiplied pointwise). Inverse: Gentleman–Sande with ψ⁻¹, N⁻¹ folded into the last
/// stage. Both use Harvey's lazy butterflies with Shoup-precomputed twiddles: values stay below
/// 4q (forward) or 2q (inverse) between stages and are fully reduced once at the end.
public final class NTTTables: Sendable {
    public let degree: Int
    public let modulus: Modulus
    /// ψ^bitrev(k) and their Shoup constants, k in 0..<N.
    let forwardRoots: [UInt64]
    let forwardRootsShoup: [UInt64]
    /// ψ^−bitrev(k) and their Shoup constants.
    let inverseRoots: [UInt64]
    let inverseRootsShoup: [UInt64]
    /// N⁻¹ and N⁻¹·ψ^−bitrev(1) (last inverse stage), with Shoup constants.
    let inverseDegree: UInt64
    let inverseDegreeShoup: UInt64
    let lastInverseRoot: UInt64
    let lastInverseRootShoup: UInt64

    /// Builds the tables for a prime q ≡ 1 mod 2N.
    public init(degree: Int, modulus: Modulus) throws(HEError) {
        guard degree >= 2, degree.nonzeroBitCount == 1, degree <= 1 << 17 else { throw .unsupportedDegree(degree: degree) }
        guard (modulus.value - 1) % UInt64(2 * degree) == 0, Primes.isPrime(modulus.value) else {
            throw .mismatchedParameters(detail: "modulus \(modulus.value) is not a prime ≡ 1 mod \(2 * degree)")
        }
        self.degree = degree
        self.modulus = modulus
        let logN = degree.trailingZeroBitCount
        let psi = Primes.primitiveRoot(degree: degree, modulus: modulus)
        let psiInverse = modulus.inverse(psi)
        var powers = [UInt64](repeating: 1, count: degree)
        var inversePowers = [UInt64](repeating: 1, count: degree)
        for k in 1..<degree {
            powers[k] = modulus.multiply(powers[k - 1], psi)
            inversePowers[k] = modulus.multiply(inversePowers[k - 1], psiInverse)
        }
        var fr = [UInt64](repeating: 0, count: degree)
        var ir = [UInt64](repeating: 0, count: degree)
        for k in 0..<degree {
            let r = NTTTables.bitReverse(k, bits: logN)
            fr[k] = powers[r]
            ir[k] = inversePowers[r]
        }
        forwardRoots = fr
        forwardRootsShoup = fr.map { modulus.shoup($0) }
        inverseRoots = ir
        inverseRootsShoup = ir.map { modulus.shoup($0) }
        inverseDegree = modulus.inverse(UInt64(degree))
        inverseDegreeShoup = modulus.shoup(inverseDegree)
        lastInverseRoot = modulus.multiply(inverseDegree, ir[1])
        lastInverseRootShoup = modulus.shoup(lastInverseRoot)
    }

    static func bitReverse(_ x: Int, bits: Int) -> Int {
        var r = 0
        var v = x
        for _ in 0..<bits { r = (r << 1) | (v & 1); v >>= 1 }
        return r
    }

    /// In-place forward negacyclic NTT of N values in [0, q); the result is in [0, q).
    public func forward(_ values: UnsafeMutablePointer<UInt64>) {
        let q = modulus.value
        let twoQ = modulus.twice
        let n = degree
        forwardRoots.withUnsafeBufferPointer { rootsBuffer in
            forwardRootsShoup.withUnsafeBufferPointer { shoupBuffer in
                let roots = rootsBuffer.baseAddress!
                let shoups = shoupBuffer.baseAddress!
                var half = n
                var groups = 1
                while groups < n {
                    half >>= 1
                    for i in 0..<groups {
                        let w = roots[groups + i]
                        let wShoup = shoups[groups + i]
                        let x = values + 2 * i * half
                        let y = x + half
                        // Harvey: inputs < 4q; U folded to < 2q, V = y·w lazily in [0, 2q); outputs < 4q.
                        for j in 0..<half {
                            var u = x[j]
                            if u >= twoQ { u &-= twoQ }
                            let quotient = y[j].multipliedFullWidth(by: wShoup).high
                            let v = y[j] &* w &- quotient &* q
                            x[j] = u &+ v
                            y[j] = u &+ twoQ &- v
                        }
                    }
                    groups <<= 1
                }
                for j in 0..<n {
                    var u = values[j]
                    if u >= twoQ { u &-= twoQ }
                    if u >= q { u &-= q }
                    values[j] = u
                }
            }
        }
    }

    /// In-place inverse negacyclic NTT of N values in [0, q) (bit-reversed evaluation order);
    /// the result is the coefficient vector in [0, q).
    public func inverse(_ values: UnsafeMutablePointer<UInt64>) {
        let q = modulus.value
        let twoQ = modulus.twice
        let n = degree
        inverseRoots.withUnsafeBufferPointer { rootsBuffer in
            inverseRootsShoup.withUnsafeBufferPointer { shoupBuffer in
                let roots = rootsBuffer.baseAddress!
                let shoups = shoupBuffer.baseAddress!
                var half = 1
                var groups = n >> 1
                // All stages but the last: Gentleman–Sande, values kept below 2q.
                while groups > 1 {
                    for i in 0..<groups {
                        let w = roots[groups + i]
                        let wShoup = shoups[groups + i]
                        let x = values + 2 * i * half
                        let y = x + half
                        for j in 0..<half {
                            let u = x[j]
                            let v = y[j]
                            var s = u &+ v
                            if s >= twoQ { s &-= twoQ }
                            x[j] = s
                            let d = u &+ twoQ &- v
                            let quotient = d.multipliedFullWidth(by: wShoup).high
                            y[j] = d &* w &- quotient &* q
                        }
                    }
                    half <<= 1
                    groups >>= 1
                }
                // Last stage with N⁻¹ folded in: x' = (u+v)·N⁻¹, y' = (u−v)·N⁻¹·ψ^−bitrev(1).
                let nInv = inverseDegree, nInvShoup = inverseDegreeShoup
                let w = lastInverseRoot, wShoup = lastInverseRootShoup
                let x = values
                let y = values + half
                for j in 0..<half {
                    let u = x[j]
                    let v = y[j]
                    let s = u &+ v
                    let d = u &+ twoQ &- v
                    var a = s &* nInv &- s.multipliedFullWidth(by: nInvShoup).high &* q
                    var b = d &* w &- d.multipliedFullWidth(by: wShoup).high &* q
                    if a >= q { a &-= q }
                    if b >= q { b &-= q }
                    x[j] = a
                    y[j] = b
                }
            }
        }
    }
}

/// An odd word-sized modulus q < 2^61 with the constants for fast reduction.
///
/// Reduction choices (measured in FIELD-NOTES: `dividingFullWidth` is 2–3× slower):
/// - multiplication by a *known constant* w (NTT twiddles, N⁻¹, Δ): Shoup's method with the
///   precomputed w' = ⌊w·2^64/q⌋ — one high multiply, two low multiplies, result in [0, 2q);
/// - a *general* product a·b (pointwise NTT-domain products, lazy 128-bit accumulators): Barrett
///   reduction of the 128-bit value with μ = ⌊2^128/q⌋ (two words), four multiplies; it accepts any
///   128-bit input, so up to 2^128 / q² products can be summed before one reduction;
/// - a single word: 64-bit Barrett with ⌊2^64/q⌋.
/// q < 2^61 keeps Harvey's lazy butterflies (values below 4q) and 128-bit accumulation
/// (256 products of values below 2^60) within range.
public struct Modulus: Sendable, Hashable, CustomStringConvertible {
    /// The modulus q.
    public let value: UInt64
    /// 2q, for lazy reductions.
    @usableFromInline let twice: UInt64
    /// ⌊2^64 / q⌋ for 64-bit Barrett reduction.
    @usableFromInline let barrett64: UInt64
    /// ⌊2^128 / q⌋ = barrettHigh·2^64 + barrettLow for 128-bit Barrett reduction.
    @usableFromInline let barrettHigh: UInt64
    @usableFromInline let barrettLow: UInt64
    /// Number of bits of q.
    public let bitWidth: Int

    /// The largest supported modulus size in bits.
    public static let maximumBits = 61

    /// Creates the constants for an odd q with 2 ≤ bits(q) ≤ 61.
    public init(_ value: UInt64) throws(HEError) {
        let bits = 64 - value.leadingZeroBitCount
        guard value > 2, value & 1 == 1, bits <= Modulus.maximumBits else {
            throw .unsupportedPrimeBits(bits: bits, supported: 2...Modulus.maximumBits)
        }
        self.value = value
        twice = value << 1
        bitWidth = bits
        barrett64 = UInt64.max / value
        // ⌊2^128/q⌋: high word ⌊2^64/q⌋ (q odd, so (2^64−1)/q floors the same), low word from the
        // remainder: ⌊(r·2^64)/q⌋ with r = 2^64 mod q.
        let r = (UInt64.max % value &+ 1) % value
        barrettHigh = UInt64.max / value
        barrettLow = value.dividingFullWidth((high: r, low: 0)).quotient
    }

    public var description: String { "Modulus(\(value), \(bitWidth) bits)" }

    // MARK: Word operations

    /// (a + b) mod q for a, b < q.
    @inlinable @inline(__always) public func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let s = a &+ b
        return s >= value ? s &- value : s
    }

    /// (a − b) mod q for a, b < q.
    @inlinable @inline(__always) public func subtract(_ a: UInt64, _ b: UInt64) -> UInt64 {
        a >= b ? a &- b : a &+ value &- b
    }

    /// (−a) mod q for a < q.
    @inlinable @inline(__always) public func negate(_ a: UInt64) -> UInt64 {
        a == 0 ? 0 : value &- a
    }

    /// x mod q for any 64-bit x (Barrett).
    @inlinable @inline(__always) public func reduce(_ x: UInt64) -> UInt64 {
        let quotient = x.multipliedFullWidth(by: barrett64).high
        let r = x &- quotient &* value  // r < 2q
        return r >= value ? r &- value : r
    }

    /// (high·2^64 + low) mod q for any 128-bit value (Barrett with μ = ⌊2^128/q⌋).
    @inlinable @inline(__always) public func reduce(high x1: UInt64, low x0: UInt64) -> UInt64 {
        // Estimate ⌊x·μ / 2^128⌋ from the partial products, dropping the lowest word; only its low
        // 64 bits are needed because the remainder is known to be below 4q < 2^64.
        let a1 = x0.multipliedFullWidth(by: barrettLow).high
        let (b1, b0) = x0.multipliedFullWidth(by: barrettHigh)
        let (c1, c0) = x1.multipliedFullWidth(by: barrettLow)
        let (s0, k1) = a1.addingReportingOverflow(b0)
        let (_, k2) = s0.addingReportingOverflow(c0)
        let middleHigh = b1 &+ c1 &+ (k1 ? 1 : 0) &+ (k2 ? 1 : 0)
        let quotient = x1 &* barrettHigh &+ middleHigh
        var r = x0 &- quotient &* value  // r < 4q: the estimate is at most 3 below ⌊x/q⌋
        if r >= twice { r &-= twice }
        if r >= value { r &-= value }
        return r
    }

    /// a·b mod q for a, b < q (Barrett on the full product).
    @inlinable @inline(__always) public func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let p = a.multipliedFullWidth(by: b)
        return reduce(high: p.high, low: p.low)
    }

    /// The Shoup constant ⌊w·2^64/q⌋ for a fixed multiplier w < q.
    @inlinable public func shoup(_ w: UInt64) -> UInt64 {
        value.dividingFullWidth((high: w, low: 0)).quotient
    }

    /// x·w mod q in [0, 2q) for any 64-bit x, with the Shoup constant `wShoup` of w < q (lazy).
    @inlinable @inline(__always) public func multiplyShoupLazy(_ x: UInt64, _ w: UInt64, _ wShoup: UInt64) -> UInt64 {
        let quotient = x.multipliedFullWidth(by: wShoup).high
        return x &* w &- quotient &* value
    }

    /// x·w mod q in [0, q) for any 64-bit x, with the Shoup constant of w.
    @inlinable @inline(__always) public func multiplyShoup(_ x: UInt64, _ w: UInt64, _ wShoup: UInt64) -> UInt64 {
        let r = multiplyShoupLazy(x, w, wShoup)
        return r >= value ? r &- value : r
    }

    /// base^exponent mod q.
    public func power(_ base: UInt64, _ exponent: UInt64) -> UInt64 {
        var result: UInt64 = 1
        var b = reduce(base)
        var e = exponent
        while e > 0 {
            if e & 1 == 1 { result = multiply(result, b) }
            b = multiply(b, b)
            e >>= 1
        }
        return result
    }

    /// a⁻¹ mod q for a prime q and a ≠ 0 mod q (Fermat).
    public func inverse(_ a: UInt64) -> UInt64 { power(a, value - 2) }

    /// The centred representative of a < q as a signed integer in (−q/2, q/2].
    @inlinable @inline(__always) public func centered(_ a: UInt64) -> Int64 {
        a > value >> 1 ? Int64(bitPattern: a &- value) : Int64(bitPattern: a)
    }

    /// x mod q for a signed x.
    @inlinable @inline(__always) public func reduce(signed x: Int64) -> UInt64 {
        x >= 0 ? reduce(UInt64(x)) : negate(reduce(x.magnitude))
    }
}

// MARK: - Primes

/// Deterministic primality and NTT-friendly prime search.
public enum Primes {
    /// Miller–Rabin with the 7 bases that are exact for every 64-bit integer (Jim Sinclair's set).
    public static func isPrime(_ n: UInt64) -> Bool {
        if n < 2 { return false }
        for p: UInt64 in [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
            if n % p == 0 { return n == p }
        }
        var d = n - 1
        var s = 0
        while d & 1 == 0 { d >>= 1; s += 1 }
        func mulmod(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let p = a.multipliedFullWidth(by: b)
            return n.dividingFullWidth((high: p.high, low: p.low)).remainder
        }
        func powmod(_ base: UInt64, _ exponent: UInt64) -> UInt64 {
            var result: UInt64 = 1, b = base % n, e = exponent
            while e > 0 {
                if e & 1 == 1 { result = mulmod(result, b) }
                b = mulmod(b, b)
                e >>= 1
            }
            return result
        }
        witnesses: for a: UInt64 in [2, 325, 9375, 28178, 450775, 9780504, 1795265022] {
            let base = a % n
            if base == 0 { continue }
            var x = powmod(base, d)
            if x == 1 || x == n - 1 { continue }
            for _ in 1..<max(s, 1) {
                x = mulmod(x, x)
                if x == n - 1 { continue witnesses }
            }
            return false
        }
        return true
    }

    /// The `count` largest primes q < 2^bits with q ≡ 1 mod 2N, in descending order, skipping
    /// those in `excluding`. Deterministic: both parties derive the same chain.
    public static func nttFriendly(bits: Int, degree: Int, count: Int, excluding: Set<UInt64> = []) throws(HEError) -> [UInt64] {
        guard (10...Modulus.maximumBits).contains(bits) else {
            throw .unsupportedPrimeBits(bits: bits, supported: 10...Modulus.maximumBits)
        }
        let step = UInt64(2 * degree)
        let upper: UInt64 = 1 << UInt64(bits)
        let lower: UInt64 = 1 << UInt64(bits - 1)
        var candidate = (upper - 1) / step * step + 1
        if candidate >= upper { candidate -= step }
        var found: [UInt64] = []
        while found.count < count, candidate > lower {
            if !excluding.contains(candidate), isPrime(candidate) { found.append(candidate) }
            candidate -= step
        }
        guard found.count == count else { throw .notEnoughPrimes(bits: bits, degree: degree, requested: count) }
        return found
    }

    /// The smallest primitive 2N-th root of unity ψ mod a prime q ≡ 1 mod 2N (ψ^N = −1), searched
    /// deterministically so both parties use the same NTT.
    static func primitiveRoot(degree: Int, modulus: Modulus) -> UInt64 {
        let q = modulus.value
        let cofactor = (q - 1) / UInt64(2 * degree)
        var generatorCandidate: UInt64 = 2
        var root: UInt64 = 0
        while root == 0 {
            let psi = modulus.power(generatorCandidate, cofactor)
            if modulus.power(psi, UInt64(degree)) == q - 1 { root = psi }
            generatorCandidate += 1
        }
        // Smallest among the primitive roots ψ^(odd k).
        var best = root
        let square = modulus.multiply(root, root)
        var current = root
        for _ in 0..<degree {
            if current < best { best = current }
            current = modulus.multiply(current, square)
        }
        return best
    }
}

import CryptoPrimitives
@testable import LatticeHE
import Testing

/// Reference x·y mod q through the hardware divider (independent of Barrett/Shoup).
func referenceMultiply(_ x: UInt64, _ y: UInt64, _ q: UInt64) -> UInt64 {
    let p = x.multipliedFullWidth(by: y)
    return q.dividingFullWidth((high: p.high % q, low: p.low)).remainder
}

func seededPRG(_ n: UInt64) -> AESPRG { AESPRG(seed: Block(low: n, high: 0x1a77_1ce0)) }

@Suite struct ModulusTests {
    @Test func millerRabinKnownValues() {
        #expect(Primes.isPrime(2_305_843_009_213_693_951))  // 2^61 − 1
        #expect(Primes.isPrime(18_446_744_073_709_551_557))  // 2^64 − 59
        #expect(!Primes.isPrime(561) && !Primes.isPrime(1_105) && !Primes.isPrime(3_215_031_751))  // Carmichael, strong pseudoprime
        #expect(!Primes.isPrime(2_305_843_009_213_693_953))
        #expect(!Primes.isPrime(1) && Primes.isPrime(3) && Primes.isPrime(65_537))
    }

    @Test(arguments: [2048, 4096, 8192])
    func nttFriendlyPrimes(degree: Int) throws {
        for bits in [49, 54, 60] {
            let primes = try Primes.nttFriendly(bits: bits, degree: degree, count: 3)
            for p in primes {
                #expect(Primes.isPrime(p))
                #expect(p % UInt64(2 * degree) == 1)
                #expect(64 - p.leadingZeroBitCount == bits)
            }
            #expect(primes == primes.sorted(by: >) && Set(primes).count == 3)
        }
    }

    @Test func reductionsMatchDivision() throws {
        let prg = seededPRG(1)
        for bits in [30, 49, 54, 60, 61] {
            let q = try Primes.nttFriendly(bits: min(bits, 61), degree: 1024, count: 1)[0]
            let m = try Modulus(q)
            let words = prg.words(4000)
            for k in 0..<1000 {
                let a = words[k] % q, b = words[1000 + k] % q
                #expect(m.multiply(a, b) == referenceMultiply(a, b, q))
                #expect(m.reduce(words[2000 + k]) == words[2000 + k] % q)
                let (hi, lo) = (words[3000 + k], words[k])
                #expect(m.reduce(high: hi, low: lo) == q.dividingFullWidth((high: hi % q, low: lo)).remainder)
                #expect(m.multiplyShoup(words[2000 + k], b, m.shoup(b)) == referenceMultiply(words[2000 + k] % q, b, q))
            }
            // Extremes: all-ones 128-bit input, q−1 squared.
            #expect(m.reduce(high: .max, low: .max) == q.dividingFullWidth((high: UInt64.max % q, low: .max)).remainder)
            #expect(m.multiply(q - 1, q - 1) == 1)
            #expect(m.multiply(m.inverse(12_345), 12_345) == 1)
        }
    }

    @Test func modulusRejectsEvenAndWide() {
        #expect(throws: HEError.self) { try Modulus(1 << 40) }
        #expect(throws: HEError.self) { try Modulus((1 << 62) + 1) }
    }
}

/// Schoolbook negacyclic product of coefficient `k` mod q.
func schoolbookCoefficient(_ a: [UInt64], _ b: [UInt64], _ k: Int, _ q: UInt64) -> UInt64 {
    let n = a.count
    var acc: UInt64 = 0
    for i in 0..<n {
        let j = k - i
        if j >= 0 {
            acc = (acc + referenceMultiply(a[i], b[j], q)) % q
        } else {
            acc = (acc + q - referenceMultiply(a[i], b[j + n], q)) % q
        }
    }
    return acc
}

@Suite struct NTTTests {
    @Test(arguments: [(2048, [54, 49]), (4096, [60, 49]), (8192, [60, 50])])
    func roundTrip(degree: Int, bits: [Int]) throws {
        let primes = try bits.enumerated().map { try Primes.nttFriendly(bits: $1, degree: degree, count: $0 + 1).last! }
        let context = try RNSContext(degree: degree, primes: primes)
        let prg = seededPRG(UInt64(degree))
        let p = Polynomial<Coefficient>(uncheckedContext: context, data: Sampling.uniform(context: context, prg: prg))
        let evaluated = p.forwardNTT()
        #expect(evaluated.data != p.data)
        #expect(evaluated.inverseNTT().data == p.data)
        // Extremes: q − 1 everywhere survives the lazy bounds.
        var maxed = p
        for (j, m) in context.moduli.enumerated() { for i in 0..<degree { maxed.data[j * degree + i] = m.value - 1 } }
        #expect(maxed.forwardNTT().inverseNTT().data == maxed.data)
    }

    @Test(arguments: [(2048, 54), (2048, 40), (4096, 60), (4096, 49), (8192, 60)])
    func productEqualsSchoolbook(degree: Int, bits: Int) throws {
        let q = try Primes.nttFriendly(bits: bits, degree: degree, count: 2)[1]
        let context = try RNSContext(degree: degree, primes: [q])
        let prg = seededPRG(UInt64(degree * 100 + bits))
        let a = Sampling.uniform(context: context, prg: prg)
        let b = Sampling.uniform(context: context, prg: prg)
        let pa = Polynomial<Coefficient>(uncheckedContext: context, data: a)
        let pb = Polynomial<Coefficient>(uncheckedContext: context, data: b)
        let product = try (pa.forwardNTT() * pb.forwardNTT()).inverseNTT()
        // Check a spread of output coefficients, including the wrap-around ends.
        let picks = [0, 1, degree / 2, degree - 2, degree - 1] + (0..<27).map { _ in Int(prg.words(1)[0] % UInt64(degree)) }
        for k in picks {
            #expect(product.data[k] == schoolbookCoefficient(a, b, k, q), "coefficient \(k)")
        }
    }

    @Test func monomialMultiplicationWrapsNegatively() throws {
        // X^(N−1) · X = X^N = −1.
        let degree = 4096
        let q = try Primes.nttFriendly(bits: 60, degree: degree, count: 1)[0]
        let context = try RNSContext(degree: degree, primes: [q])
        var a = [Int64](repeating: 0, count: degree); a[degree - 1] = 1
        var b = [Int64](repeating: 0, count: degree); b[1] = 1
        let product = try (Polynomial(context: context, signedCoefficients: a).forwardNTT()
            * Polynomial(context: context, signedCoefficients: b).forwardNTT()).inverseNTT()
        #expect(product.data[0] == q - 1)
        #expect(product.data[1...].allSatisfy { $0 == 0 })
    }
}

@Suite struct DecodingTests {
    /// Phases right next to a rounding boundary (t·v/q within t/q of k + 1/2) take the exact
    /// multi-word path and must round like the rationals do: v = ⌊q(2k+1)/2t⌋ → k, v + 1 → k + 1.
    @Test(arguments: [(4096, 37), (4096, 64), (8192, 64), (8192, 20)])
    func roundingAtTheHalfIsExact(degree: Int, bits: Int) throws {
        let parameters = degree == 4096 ? try HEParameters.n4096(plaintextBits: bits) : try HEParameters.n8192(plaintextBits: bits)
        let level = try parameters.level(parameters.limbCount)
        let prg = seededPRG(UInt64(degree + bits))
        let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        for _ in 0..<8 {
            let k = prg.words(1)[0] & mask
            // q·(2k + 1) with 2k + 1 possibly 65 bits: q·2k + q.
            let twoKPlusOne = level.modulus.multiplied(by: k).multiplied(by: 2) + level.modulus
            let v = twoKPlusOne.shiftedRight(bits + 1)
            var p = Polynomial<Coefficient>(zeroIn: level.context)
            for (j, m) in level.context.moduli.enumerated() {
                let r = v.remainder(m)
                p.data[j * degree] = r
                p.data[j * degree + 1] = m.add(r, 1)
            }
            let decoded = BFV.decode(p, level: level, plaintextBits: bits).message
            #expect(decoded[0] == k)
            #expect(decoded[1] == (k &+ 1) & mask)
        }
    }

    @Test func parametersAreDeterministic() throws {
        let a = try HEParameters.n8192(plaintextBits: 64), b = try HEParameters.n8192(plaintextBits: 64)
        #expect(a.primes == b.primes && a.fingerprint == b.fingerprint)
        #expect(try HEParameters.n8192(plaintextBits: 63).fingerprint != a.fingerprint)
    }
}

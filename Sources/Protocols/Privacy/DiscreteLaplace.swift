import CryptoPrimitives
import Foundation

/// Exact samples of the discrete Laplace distribution on the integers,
/// P(x) = (1 − q)/(1 + q) · q^|x| with q = e^(−1/b) for the scale b = `scaleNumerator` /
/// `scaleDenominator`: mean 0, variance 2q/(1 − q)².
///
/// Source: Canonne, Kamath, Steinke, "The Discrete Gaussian for Differential Privacy" (NeurIPS
/// 2020), Algorithm 1 (Bernoulli(exp(−γ)) for a rational γ, from uniform integers only) and
/// Algorithm 2 (discrete Laplace of scale t/s). No floating point touches a sample: the
/// distribution is exact, and the only randomness is uniform integers drawn from `source`
/// (`SecureRandom` in a session; a seeded `AESPRG` in tests).
///
/// For a count (sensitivity 1), noise of scale 1/ε gives ε-differential privacy (pure ε; the
/// Laplace mechanism on the integers, CKS 2020 §2).
public struct DiscreteLaplace {
    /// The scale b = t / s (CKS 2020's t and s), both ≥ 1.
    public let scaleNumerator: UInt64, scaleDenominator: UInt64

    /// Noise of scale Δ/ε for ε = `microEpsilon` / 10^6 and L1 sensitivity Δ = `sensitivity`:
    /// t = Δ·10^6, s = `microEpsilon` (ε-DP for a release whose L1 sensitivity is Δ).
    public init(microEpsilon: Int, sensitivity: Int = 1) {
        precondition(microEpsilon >= 1 && sensitivity >= 1)
        self.init(scaleNumerator: UInt64(sensitivity) * 1_000_000, scaleDenominator: UInt64(microEpsilon))
    }

    /// `share` with one fresh sample added to each of this party's values (local; the other party
    /// adds its own).
    public func addingNoise(to share: ArithmeticShare, _ source: inout some UniformSource) -> ArithmeticShare {
        ArithmeticShare(bits: share.bits, values: share.values.map { ($0 &+ UInt64(bitPattern: sample(&source))) & share.mask })
    }

    public init(scaleNumerator: UInt64, scaleDenominator: UInt64) {
        precondition(scaleNumerator >= 1 && scaleDenominator >= 1 && scaleNumerator <= 1 << 40 && scaleDenominator <= 1 << 40)
        self.scaleNumerator = scaleNumerator
        self.scaleDenominator = scaleDenominator
    }

    /// q = e^(−s/t), and the variance 2q/(1 − q)² (for tests and reports; not used to sample).
    public var variance: Double {
        let q = Foundation.exp(-Double(scaleDenominator) / Double(scaleNumerator))
        return 2 * q / ((1 - q) * (1 - q))
    }

    /// One sample (CKS 2020, Algorithm 2).
    public func sample(_ source: inout some UniformSource) -> Int64 {
        let t = scaleNumerator, s = scaleDenominator
        while true {
            let u = source.below(t)
            // D ~ Bernoulli(exp(−U/t)).
            guard Self.bernoulliExp(numerator: u, denominator: t, &source) else { continue }
            // V ~ Geometric(1 − e^(−1)): the number of successes before the first failure.
            var v: UInt64 = 0
            while Self.bernoulliExp(numerator: 1, denominator: 1, &source) { v += 1 }
            let x = u + t * v
            let y = x / s
            let negative = source.below(2) == 1
            if negative && y == 0 { continue }
            return negative ? -Int64(y) : Int64(y)
        }
    }

    /// True with probability exp(−n/d) (CKS 2020, Algorithm 1).
    static func bernoulliExp(numerator n: UInt64, denominator d: UInt64, _ source: inout some UniformSource) -> Bool {
        if n <= d {
            // γ = n/d in [0, 1]: K counts Bernoulli(γ/K) successes; the result is K odd.
            var k: UInt64 = 1
            while source.below(d * k) < n { k += 1 }
            return k % 2 == 1
        }
        for _ in 0..<(n / d) where !bernoulliExp(numerator: 1, denominator: 1, &source) { return false }
        return bernoulliExp(numerator: n % d, denominator: d, &source)
    }
}

/// Uniform integers for `DiscreteLaplace`.
public protocol UniformSource {
    /// A uniform 64-bit word.
    mutating func next() -> UInt64
}

extension UniformSource {
    /// Uniform in 0..<bound (bound ≥ 1), by rejection (no modulo bias).
    mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound >= 1)
        let limit = UInt64.max - UInt64.max % bound  // accept words < limit: a multiple of bound
        while true {
            let word = next()
            if word < limit { return word % bound }
        }
    }
}

/// Words from OpenSSL's CSPRNG (what a session's noise uses: the other party must not predict it).
public struct SecureUniformSource: UniformSource {
    private var buffer: [UInt64] = []

    public init() {}

    public mutating func next() -> UInt64 {
        if buffer.isEmpty {
            let bytes = SecureRandom.bytes(8 * 64)
            buffer = (0..<64).map { i in (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[8 * i + $1]) << UInt64(8 * $1) } }
        }
        return buffer.removeLast()
    }
}

/// Words from AES-CTR under a fixed seed: reproducible streams for tests of the distribution.
public struct SeededUniformSource: UniformSource {
    private let generator: AESPRG
    private var buffer: [UInt64] = []

    public init(seed: Block) { generator = AESPRG(seed: seed) }

    public mutating func next() -> UInt64 {
        if buffer.isEmpty { buffer = generator.words(256) }
        return buffer.removeLast()
    }
}

/// Fixed-point numbers in the ring Z_2^ℓ: a real x is represented by round(x · 2^s) mod 2^ℓ.
///
/// Values are carried as `Int64` holding the **signed representative** of the ring element, i.e. the
/// integer in [−2^(ℓ−1), 2^(ℓ−1)) congruent to it; `wrap` maps any 64-bit integer there. Because
/// reduction mod 2^ℓ is a ring homomorphism from Z_2^64, sums and products may be computed with
/// 64-bit wrapping arithmetic and wrapped once at the end.
///
/// Truncation (after a product of two scale-s values) is **faithful floor**: the result is
/// ⌊v / 2^s⌋ of the signed representative v (an arithmetic shift), with no probabilistic error.
/// The secure truncation protocol must reproduce exactly this.
public struct FixedPointFormat: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// ℓ: the ring is Z_2^ℓ, 2 ≤ ℓ ≤ 64.
    public let ringBits: Int
    /// s: the number of fractional bits.
    public let scale: Int

    /// The defaults: ℓ = 41, s = 15. Products at scale 2s keep 10 integer bits of headroom (|v| <
    /// 1024); ℓ ≤ 41 keeps the HE linear layers at N = 4096 with noise flooding; 15 fractional bits
    /// keep the bundled models' predictions identical to float: the breast-cancer MLP, whose first
    /// layer carries the folded standardisation (weights near 1e-3 on raw features up to ~3000),
    /// flips a prediction at s = 12 (its logit error 0.24 exceeds the smallest float margin 0.043)
    /// and none at s ≥ 14. `FormatSelection` picks a cheaper format per model from calibration data.
    public static let standard = try! FixedPointFormat(ringBits: 41, scale: 15)

    /// Creates a format; requires 2 ≤ ℓ ≤ 64 and 0 ≤ 2s < ℓ (a product at scale 2s must fit).
    public init(ringBits: Int, scale: Int) throws(FixedPointFormatError) {
        guard (2...64).contains(ringBits) else { throw .ringBitsOutOfRange(ringBits) }
        guard scale >= 0, 2 * scale < ringBits else { throw .scaleTooLarge(scale: scale, ringBits: ringBits) }
        self.ringBits = ringBits
        self.scale = scale
    }

    public var description: String { "ℓ = \(ringBits), s = \(scale)" }

    /// 2^ℓ − 1 (all ones for ℓ = 64).
    @inlinable public var mask: UInt64 { ringBits == 64 ? .max : (1 << UInt64(ringBits)) &- 1 }

    /// The largest representable signed value, 2^(ℓ−1) − 1.
    @inlinable public var maxSigned: Int64 { ringBits == 64 ? .max : (1 << Int64(ringBits - 1)) - 1 }

    /// The smallest representable signed value, −2^(ℓ−1).
    @inlinable public var minSigned: Int64 { ringBits == 64 ? .min : -(1 << Int64(ringBits - 1)) }

    /// The signed representative in [−2^(ℓ−1), 2^(ℓ−1)) of v mod 2^ℓ.
    @inlinable @inline(__always)
    public func wrap(_ v: Int64) -> Int64 {
        let shift = Int64(64 - ringBits)
        return (v << shift) >> shift
    }

    /// ⌊v / 2^s⌋ of the signed representative of v (faithful truncation by s bits).
    @inlinable @inline(__always)
    public func truncate(_ v: Int64) -> Int64 { wrap(v) >> Int64(scale) }

    /// The ring element as an unsigned ℓ-bit integer (what secret shares add up to).
    @inlinable @inline(__always)
    public func unsigned(_ v: Int64) -> UInt64 { UInt64(bitPattern: v) & mask }

    /// round-half-to-even(x · 2^(s·power)), or nil when it does not fit in ℓ signed bits or x is not finite.
    @inlinable
    public func encode(_ x: Double, power: Int = 1) -> Int64? {
        let scaled = (x * Double(sign: .plus, exponent: scale * power, significand: 1)).rounded(.toNearestOrEven)
        // −Double(minSigned) = 2^(ℓ−1) is exact, unlike Double(maxSigned) for ℓ = 64.
        guard scaled.isFinite, scaled >= Double(minSigned), scaled < -Double(minSigned) else { return nil }
        return Int64(scaled)
    }

    /// The real number a value at scale s·power represents.
    @inlinable
    public func decode(_ v: Int64, power: Int = 1) -> Double {
        Double(v) * Double(sign: .plus, exponent: -scale * power, significand: 1)
    }
}

/// Invalid fixed-point parameters.
public enum FixedPointFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    case ringBitsOutOfRange(Int)
    case scaleTooLarge(scale: Int, ringBits: Int)

    public var description: String {
        switch self {
        case .ringBitsOutOfRange(let l):
            "ring bits ℓ = \(l) is out of range: choose 2 ≤ ℓ ≤ 64"
        case let .scaleTooLarge(s, l):
            "scale s = \(s) is too large for ℓ = \(l): a product at scale 2s = \(2 * s) must fit in the ring, so 2s < ℓ (and s ≥ 0)"
        }
    }
}

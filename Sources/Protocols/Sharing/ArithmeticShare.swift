import RingArithmetic

/// One party's additive share of a tensor over Z_2^ℓ: the two parties' `values` add up (mod 2^ℓ)
/// to the secret, element by element. A share alone is uniformly random and reveals nothing.
public struct ArithmeticShare: Sendable, Equatable {
    /// ℓ: the ring width.
    public let bits: Int
    /// Elements in [0, 2^ℓ).
    public var values: [UInt64]

    public init(bits: Int, values: [UInt64]) {
        self.bits = bits
        self.values = values
    }

    /// 2^ℓ − 1.
    @inlinable public var mask: UInt64 { bits == 64 ? .max : (1 << UInt64(bits)) &- 1 }
    public var count: Int { values.count }
}

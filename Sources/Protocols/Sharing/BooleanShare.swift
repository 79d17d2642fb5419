import Transport

/// One party's XOR share of a tensor of bits: the two parties' `bits` XOR to the secret bits,
/// element by element. Each entry is 0 or 1. A share alone is uniformly random and reveals nothing.
public struct BooleanShare: Sendable, Equatable {
    /// Entries in {0, 1}.
    public var bits: [UInt8]

    public init(bits: [UInt8]) { self.bits = bits }

    public var count: Int { bits.count }

    /// Shares of x ⊕ y (local).
    public func xor(_ other: BooleanShare) throws(ProtocolError) -> BooleanShare {
        guard other.count == count else { throw .countMismatch(operation: "xor", expected: count, actual: other.count) }
        var out = bits
        for i in out.indices { out[i] ^= other.bits[i] }
        return BooleanShare(bits: out)
    }

    /// Shares of ¬x: the vendor flips its share (both parties call it with their own role).
    public func not(party: Party) -> BooleanShare {
        guard party == .vendor else { return self }
        return BooleanShare(bits: bits.map { $0 ^ 1 })
    }

    /// Shares of x ⊕ c for public bits c (the vendor applies them).
    public func xor(constants: [UInt8], party: Party) throws(ProtocolError) -> BooleanShare {
        guard constants.count == count else { throw .countMismatch(operation: "xor constants", expected: count, actual: constants.count) }
        guard party == .vendor else { return self }
        var out = bits
        for i in out.indices { out[i] ^= constants[i] & 1 }
        return BooleanShare(bits: out)
    }

    /// Concatenation.
    public static func concatenating(_ parts: [BooleanShare]) -> BooleanShare {
        BooleanShare(bits: parts.flatMap(\.bits))
    }
}

import RingArithmetic
import Transport

/// Local (communication-free) operations on additive shares. The results are shares of the
/// corresponding function of the secrets; nothing is revealed.
extension ArithmeticShare {
    /// Shares of zeros (a party's share of the public value 0).
    public static func zeros(count: Int, bits: Int) -> ArithmeticShare {
        ArithmeticShare(bits: bits, values: [UInt64](repeating: 0, count: count))
    }

    func checkCompatible(_ other: ArithmeticShare, _ operation: String) throws(ProtocolError) {
        guard other.bits == bits else { throw .ringMismatch(operation: operation, expected: bits, actual: other.bits) }
        guard other.count == count else { throw .countMismatch(operation: operation, expected: count, actual: other.count) }
    }

    /// Shares of x + y.
    public func adding(_ other: ArithmeticShare) throws(ProtocolError) -> ArithmeticShare {
        try checkCompatible(other, "add")
        let m = mask
        var out = values
        for i in out.indices { out[i] = (out[i] &+ other.values[i]) & m }
        return ArithmeticShare(bits: bits, values: out)
    }

    /// Shares of x − y.
    public func subtracting(_ other: ArithmeticShare) throws(ProtocolError) -> ArithmeticShare {
        try checkCompatible(other, "subtract")
        let m = mask
        var out = values
        for i in out.indices { out[i] = (out[i] &- other.values[i]) & m }
        return ArithmeticShare(bits: bits, values: out)
    }

    /// Shares of −x.
    public func negated() -> ArithmeticShare {
        let m = mask
        return ArithmeticShare(bits: bits, values: values.map { (0 &- $0) & m })
    }

    /// Shares of c·x for a public constant c (signed; taken mod 2^ℓ).
    public func multiplied(by constant: Int64) -> ArithmeticShare {
        let m = mask, c = UInt64(bitPattern: constant)
        return ArithmeticShare(bits: bits, values: values.map { ($0 &* c) & m })
    }

    /// Shares of c_i·x_i for public constants, element by element.
    public func multiplied(by constants: [Int64]) throws(ProtocolError) -> ArithmeticShare {
        guard constants.count == count else { throw .countMismatch(operation: "multiply by constants", expected: count, actual: constants.count) }
        let m = mask
        var out = values
        for i in out.indices { out[i] = (out[i] &* UInt64(bitPattern: constants[i])) & m }
        return ArithmeticShare(bits: bits, values: out)
    }

    /// Shares of x + c for a public constant c: only the vendor's share changes, so both parties
    /// call this with the same constant and pass their own role.
    public func adding(constant: Int64, party: Party) -> ArithmeticShare {
        guard party == .vendor else { return self }
        let m = mask, c = UInt64(bitPattern: constant)
        return ArithmeticShare(bits: bits, values: values.map { ($0 &+ c) & m })
    }

    /// Shares of x_i + c_i for public constants (the vendor adds them).
    public func adding(constants: [Int64], party: Party) throws(ProtocolError) -> ArithmeticShare {
        guard constants.count == count else { throw .countMismatch(operation: "add constants", expected: count, actual: constants.count) }
        guard party == .vendor else { return self }
        let m = mask
        var out = values
        for i in out.indices { out[i] = (out[i] &+ UInt64(bitPattern: constants[i])) & m }
        return ArithmeticShare(bits: bits, values: out)
    }

    /// The elements at the given positions (a public gather: reshape, transpose, window selection).
    public func gathering(_ indices: [Int]) -> ArithmeticShare {
        ArithmeticShare(bits: bits, values: indices.map { values[$0] })
    }

    /// Shares of the sum of all elements (one element).
    public func sum() -> ArithmeticShare {
        var s: UInt64 = 0
        for v in values { s = s &+ v }
        return ArithmeticShare(bits: bits, values: [s & mask])
    }

    /// The same secret's shares reduced to a smaller ring Z_2^bits (valid because 2^bits divides 2^ℓ).
    public func reduced(to newBits: Int) -> ArithmeticShare {
        precondition(newBits <= bits, "reduced(to:) cannot widen a ring")
        let m = ringMask(newBits)
        return ArithmeticShare(bits: newBits, values: values.map { $0 & m })
    }

    /// Concatenation of two share tensors over the same ring.
    public static func concatenating(_ parts: [ArithmeticShare]) -> ArithmeticShare {
        ArithmeticShare(bits: parts.first?.bits ?? 64, values: parts.flatMap(\.values))
    }
}

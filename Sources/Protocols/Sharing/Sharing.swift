import Transport

/// Creating shares of a party's private tensor and opening shared tensors.
extension TwoPartySession {
    /// Secret-shares a tensor this party holds. The peer calls `receiveShare(count:bits:)` at the
    /// same time. No bytes are sent: the peer's share is r drawn from the common PRG (independent of
    /// the secret), and this party keeps x − r mod 2^ℓ. The peer learns nothing about x.
    ///
    /// - Parameter values: signed representatives (any Int64; reduced mod 2^bits).
    public func share(_ values: [Int64], bits: Int) throws(ProtocolError) -> ArithmeticShare {
        try Self.checkRing(bits, "share")
        let r = commonPRG.ringElements(values.count, bits: bits)
        let m = ringMask(bits)
        var out = r
        for i in out.indices { out[i] = (UInt64(bitPattern: values[i]) &- r[i]) & m }
        return ArithmeticShare(bits: bits, values: out)
    }

    /// The peer's side of `share`: this party's share of a tensor of `count` elements the peer holds.
    public func receiveShare(count: Int, bits: Int) throws(ProtocolError) -> ArithmeticShare {
        try Self.checkRing(bits, "share")
        return ArithmeticShare(bits: bits, values: commonPRG.ringElements(count, bits: bits))
    }

    /// Shares a tensor held by `owner`: the owner passes its values, the other party passes nil.
    public func share(_ values: [Int64]?, count: Int, bits: Int, owner: Party) throws(ProtocolError) -> ArithmeticShare {
        if owner == party {
            guard let values, values.count == count else {
                throw .countMismatch(operation: "share", expected: count, actual: values?.count ?? 0)
            }
            return try share(values, bits: bits)
        }
        return try receiveShare(count: count, bits: bits)
    }

    /// Opens a shared tensor.
    ///
    /// 1. Each party that does not receive sends its share; a party that receives reads the peer's.
    /// 2. Recipients add the two shares and return the signed representatives; a party that is not a
    ///    recipient returns nil.
    ///
    /// - Parameter recipient: the party that learns the values, or nil for both.
    /// - Warning: reveals the secret to the recipient(s); open only what the plan says is public.
    public func open(_ share: ArithmeticShare, to recipient: Party? = nil) throws -> [Int64]? {
        let theirs: [UInt64]
        switch recipient {
        case nil:
            theirs = try exchange(share.values)
        case party?:
            theirs = try receiveWords(share.count)
        default:
            try sendWords(share.values)
            return nil
        }
        let shift = UInt64(64 - share.bits)
        return zip(share.values, theirs).map { Int64(bitPattern: ($0 &+ $1) << shift) >> Int64(shift) }
    }

    /// Opens shared bits to `recipient` (nil: both); non-recipients return nil.
    /// - Warning: reveals the bits to the recipient(s).
    public func open(_ share: BooleanShare, to recipient: Party? = nil) throws -> [UInt8]? {
        let packed = BitPacking.pack(share.bits)
        let theirs: [UInt64]
        switch recipient {
        case nil:
            theirs = try exchange(packed)
        case party?:
            theirs = try receiveWords(packed.count)
        default:
            try sendWords(packed)
            return nil
        }
        let other = BitPacking.unpack(theirs, count: share.count)
        return zip(share.bits, other).map { $0 ^ $1 }
    }

    static func checkRing(_ bits: Int, _ operation: String) throws(ProtocolError) {
        guard (2...64).contains(bits) else {
            throw .invalidParameter(operation: operation, reason: "ring width ℓ = \(bits) is outside 2...64")
        }
    }
}

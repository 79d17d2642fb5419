import Transport

extension TwoPartySession {
    /// Sorts several shared lists at once, each ascending by its key, carrying a payload with each
    /// key: Batcher's bitonic network (Batcher, "Sorting networks and their applications", AFIPS
    /// 1968), whose compare-exchange positions are public and data-independent.
    ///
    /// `keys` holds `lists` lists of `length` keys one after another (`length` a power of two);
    /// `payloads` holds, per payload field, the same layout. Each compare-exchange of positions
    /// i < j in direction d: c = 1{key_i > key_j} (ascending) or 1{key_i < key_j} (descending) by
    /// one comparison, then one multiplexer moves δ = c·(v_j − v_i) for the key and every payload
    /// field: v_i += δ, v_j −= δ. Equal keys are not swapped.
    ///
    /// Requires |key_a − key_b| < 2^(ℓ−1) for any two keys (the comparison is one DReLU of their
    /// difference, `ComparisonRange.halfRange`): the caller widens the ring first
    /// (`extendSigned`). Reveals nothing. Cost: log n·(log n + 1)/2 layers of n/2
    /// compare-exchanges per list; the rounds are those of one comparison and one multiplexer per
    /// layer, for any number of lists.
    public func sortAscending(keys: ArithmeticShare, payloads: [ArithmeticShare], lists: Int, length: Int) throws
        -> (keys: ArithmeticShare, payloads: [ArithmeticShare]) {
        guard length >= 1, length & (length - 1) == 0, keys.count == lists * length,
              payloads.allSatisfy({ $0.count == keys.count && $0.bits == keys.bits }) else {
            throw ProtocolError.invalidParameter(operation: "sort", reason:
                "\(keys.count) keys and payloads of \(payloads.map(\.count)) do not form \(lists) lists of a power-of-two length \(length)")
        }
        let m = keys.mask, bits = keys.bits
        var fields = [keys.values] + payloads.map(\.values)
        var size = 2
        while size <= length {
            var stride = size / 2
            while stride > 0 {
                // The layer's pairs (i, i ^ stride) with i < i ^ stride, and their directions.
                var left: [Int] = [], right: [Int] = [], ascending: [Bool] = []
                left.reserveCapacity(lists * length / 2)
                for list in 0..<lists {
                    let base = list * length
                    for i in 0..<length where i & stride == 0 {
                        left.append(base + i)
                        right.append(base + (i | stride))
                        ascending.append(i & size == 0)
                    }
                }
                let a = ArithmeticShare(bits: bits, values: left.map { fields[0][$0] })
                let b = ArithmeticShare(bits: bits, values: right.map { fields[0][$0] })
                // Swap when the pair is out of order: ascending a > b = ¬(b ≥ a); descending b > a = ¬(a ≥ b).
                let first = ArithmeticShare(bits: bits, values: zip(a.values, b.values).enumerated().map { ascending[$0.offset] ? $0.element.1 : $0.element.0 })
                let second = ArithmeticShare(bits: bits, values: zip(a.values, b.values).enumerated().map { ascending[$0.offset] ? $0.element.0 : $0.element.1 })
                let swap = try greaterOrEqual(first, second, range: .halfRange).not(party: party)
                let pairs = left.count
                var differences = [UInt64](repeating: 0, count: pairs * fields.count)
                for f in fields.indices {
                    for p in 0..<pairs { differences[f * pairs + p] = (fields[f][right[p]] &- fields[f][left[p]]) & m }
                }
                let moved = try multiplex(BooleanShare(bits: Array((0..<fields.count).map { _ in swap.bits }.joined())),
                                          ArithmeticShare(bits: bits, values: differences))
                for f in fields.indices {
                    for p in 0..<pairs {
                        let delta = moved.values[f * pairs + p]
                        fields[f][left[p]] = (fields[f][left[p]] &+ delta) & m
                        fields[f][right[p]] = (fields[f][right[p]] &- delta) & m
                    }
                }
                stride /= 2
            }
            size *= 2
        }
        return (ArithmeticShare(bits: bits, values: fields[0]),
                fields.dropFirst().map { ArithmeticShare(bits: bits, values: $0) })
    }
}

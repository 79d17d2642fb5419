/// Packing of `bits`-wide values (1 ≤ bits ≤ 64) on the wire: value i occupies bits
/// i·bits ..< (i+1)·bits of the byte string, least significant bit first, so n values cost
/// ⌈n·bits / 8⌉ bytes instead of 8n.
enum BitPacking {
    /// The mask of the low `bits` bits.
    @inlinable static func mask(_ bits: Int) -> UInt64 { bits >= 64 ? .max : (1 << UInt64(bits)) &- 1 }

    /// Bytes on the wire for `count` values.
    @inlinable static func byteCount(_ count: Int, bits: Int) -> Int { (count * bits + 7) / 8 }

    /// Words needed to hold `count` values (the wire bytes, rounded up to whole words).
    @inlinable static func wordCount(_ count: Int, bits: Int) -> Int { (count * bits + 63) / 64 }

    /// Reads value `index` from packed words (which must be padded to whole words).
    @inlinable @inline(__always)
    static func extract(_ words: UnsafePointer<UInt64>, index: Int, bits: Int) -> UInt64 {
        let position = index * bits
        let w = position >> 6, offset = position & 63
        var v = words[w] >> UInt64(offset)
        if offset + bits > 64 { v |= words[w + 1] << UInt64(64 - offset) }
        return v & mask(bits)
    }
}

/// Appends `bits`-wide values to a word buffer, least significant bit first.
struct BitPacker {
    let bits: Int
    let mask: UInt64
    private let out: UnsafeMutablePointer<UInt64>
    private var word = 0
    private var accumulator: UInt64 = 0
    private var filled = 0

    /// `out` must hold `BitPacking.wordCount(n, bits)` words for the n values to be appended.
    init(into out: UnsafeMutablePointer<UInt64>, bits: Int) {
        self.out = out
        self.bits = bits
        self.mask = BitPacking.mask(bits)
    }

    @inline(__always)
    mutating func append(_ value: UInt64) {
        let v = value & mask
        accumulator |= v << UInt64(filled)      // smart shift: 0 when filled == 64 cannot happen here
        filled += bits
        if filled >= 64 {
            out[word] = accumulator
            word += 1
            filled -= 64
            accumulator = filled > 0 ? v >> UInt64(bits - filled) : 0
        }
    }

    /// Writes the last partial word.
    mutating func finish() {
        if filled > 0 { out[word] = accumulator; word += 1; filled = 0; accumulator = 0 }
    }
}

import Foundation
/// Minimal non-negative multi-word integers (little-endian words) for parameter constants:
/// q = Π q_i, q / q_i, ⌊q / t⌋. Not used in hot loops except the rare exact-rounding path of
/// decryption.
struct WideInteger: Sendable, Equatable, Comparable {
    var words: [UInt64]

    init(_ value: UInt64) { words = [value] }
    init(words: [UInt64]) { self.words = words; normalize() }

    mutating func normalize() {
        while words.count > 1, words.last == 0 { words.removeLast() }
    }

    var bitLength: Int {
        guard let top = words.last, top != 0 else { return 0 }
        return 64 * (words.count - 1) + (64 - top.leadingZeroBitCount)
    }

    /// log2 of the value as a Double (for noise reports).
    var log2Value: Double {
        var v = 0.0
        for w in words.reversed() { v = v * 18446744073709551616.0 + Double(w) }
        return v > 0 ? log2(v) : -.infinity
    }

    func multiplied(by m: UInt64) -> WideInteger {
        var out = [UInt64](repeating: 0, count: words.count + 1)
        var carry: UInt64 = 0
        for i in words.indices {
            let p = words[i].multipliedFullWidth(by: m)
            let (lo, o) = p.low.addingReportingOverflow(carry)
            out[i] = lo
            carry = p.high &+ (o ? 1 : 0)
        }
        out[words.count] = carry
        return WideInteger(words: out)
    }

    static func + (a: WideInteger, b: WideInteger) -> WideInteger {
        let n = max(a.words.count, b.words.count)
        var out = [UInt64](repeating: 0, count: n + 1)
        var carry: UInt64 = 0
        for i in 0..<n {
            let x = i < a.words.count ? a.words[i] : 0
            let y = i < b.words.count ? b.words[i] : 0
            let (s1, o1) = x.addingReportingOverflow(y)
            let (s2, o2) = s1.addingReportingOverflow(carry)
            out[i] = s2
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        out[n] = carry
        return WideInteger(words: out)
    }

    /// a − b for a ≥ b.
    static func - (a: WideInteger, b: WideInteger) -> WideInteger {
        var out = a.words
        var borrow: UInt64 = 0
        for i in out.indices {
            let y = i < b.words.count ? b.words[i] : 0
            let (d1, o1) = out[i].subtractingReportingOverflow(y)
            let (d2, o2) = d1.subtractingReportingOverflow(borrow)
            out[i] = d2
            borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        precondition(borrow == 0, "WideInteger subtraction underflow")
        return WideInteger(words: out)
    }

    static func < (a: WideInteger, b: WideInteger) -> Bool {
        if a.words.count != b.words.count { return a.words.count < b.words.count }
        for i in stride(from: a.words.count - 1, through: 0, by: -1) where a.words[i] != b.words[i] {
            return a.words[i] < b.words[i]
        }
        return false
    }

    /// The value shifted right by `bits`.
    func shiftedRight(_ bits: Int) -> WideInteger {
        let wordShift = bits / 64, bitShift = bits % 64
        guard wordShift < words.count else { return WideInteger(0) }
        var out = [UInt64](repeating: 0, count: words.count - wordShift)
        for i in out.indices {
            let lo = words[i + wordShift] >> UInt64(bitShift)
            let hi: UInt64 = (bitShift != 0 && i + wordShift + 1 < words.count)
                ? words[i + wordShift + 1] << UInt64(64 - bitShift) : 0
            out[i] = lo | hi
        }
        return WideInteger(words: out)
    }

    /// The low `bits` bits (bits ≤ 64) as a word.
    func lowBits(_ bits: Int) -> UInt64 {
        let w = words[0]
        return bits == 64 ? w : w & ((1 << UInt64(bits)) &- 1)
    }

    /// The value mod q.
    func remainder(_ m: Modulus) -> UInt64 {
        var r: UInt64 = 0
        for w in words.reversed() { r = m.reduce(high: r, low: w) }
        return r
    }

    /// The exact quotient by a word that divides the value.
    func dividedExactly(by d: UInt64) -> WideInteger {
        var out = [UInt64](repeating: 0, count: words.count)
        var rem: UInt64 = 0
        for i in stride(from: words.count - 1, through: 0, by: -1) {
            let (q, r) = d.dividingFullWidth((high: rem, low: words[i]))
            out[i] = q
            rem = r
        }
        precondition(rem == 0, "inexact division")
        return WideInteger(words: out)
    }

    static func product(_ factors: [UInt64]) -> WideInteger {
        factors.reduce(WideInteger(1)) { $0.multiplied(by: $1) }
    }
}

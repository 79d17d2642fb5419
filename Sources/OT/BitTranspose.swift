import CryptoPrimitives

/// Bit-matrix transposition for OT extension: the receiver and the sender produce their matrices
/// column by column (one PRG stream per base-OT seed) but use them row by row (one row per OT).
enum BitTranspose {
    /// Transposes a 128×128 bit matrix in place. Row r is the 128-bit value `rows[r]` (bit c of the
    /// row is bit c of the block: bits 0–63 in `low`); afterwards bit c of row r is the old bit r
    /// of row c.
    ///
    /// Recursive swap-and-mask (Hacker's Delight §7-3): at step j (64, 32, …, 1) the off-diagonal
    /// j×j sub-blocks of every 2j×2j block swap places: rows r and r + j (r & j == 0) exchange the
    /// bits at columns c + j and c (c & j == 0). j = 64 swaps whole words; smaller j shift within
    /// each 64-bit lane, two lanes per 128-bit vector.
    @inlinable
    static func transpose128(_ rows: UnsafeMutablePointer<Block>) {
        UnsafeMutableRawPointer(rows).withMemoryRebound(to: SIMD2<UInt64>.self, capacity: 128) { v in
            for r in 0..<64 {
                let a = v[r], b = v[r + 64]
                v[r] = SIMD2(a[0], b[0])
                v[r + 64] = SIMD2(a[1], b[1])
            }
            step(v, 32, 0x0000_0000_FFFF_FFFF)
            step(v, 16, 0x0000_FFFF_0000_FFFF)
            step(v, 8, 0x00FF_00FF_00FF_00FF)
            step(v, 4, 0x0F0F_0F0F_0F0F_0F0F)
            step(v, 2, 0x3333_3333_3333_3333)
            stepOne(v)
        }
    }

    /// One swap-and-mask step for j ≥ 2: rows r, r + 1 and r + j, r + j + 1 travel as pairs in
    /// 256-bit vectors (AVX2).
    @inlinable @inline(__always)
    static func step(_ v: UnsafeMutablePointer<SIMD2<UInt64>>, _ j: Int, _ mask: UInt64) {
        let m = SIMD4<UInt64>(repeating: mask)
        let s = SIMD4<UInt64>(repeating: UInt64(j))
        let w = UnsafeMutableRawPointer(v)
        var base = 0
        while base < 128 {
            var r = base
            while r < base + j {
                let pa = w + 16 * r, pb = w + 16 * (r + j)
                let a = pa.load(as: SIMD4<UInt64>.self), b = pb.load(as: SIMD4<UInt64>.self)
                let t = ((a &>> s) ^ b) & m
                pb.storeBytes(of: b ^ t, as: SIMD4<UInt64>.self)
                pa.storeBytes(of: a ^ (t &<< s), as: SIMD4<UInt64>.self)
                r += 2
            }
            base += 2 * j
        }
    }

    /// The last step (j = 1): rows r and r + 1 (r even) exchange bit c + 1 of row r with bit c of
    /// row r + 1.
    @inlinable @inline(__always)
    static func stepOne(_ v: UnsafeMutablePointer<SIMD2<UInt64>>) {
        let m = SIMD2<UInt64>(repeating: 0x5555_5555_5555_5555)
        let s = SIMD2<UInt64>(repeating: 1)
        var r = 0
        while r < 128 {
            let a = v[r], b = v[r + 1]
            let t = ((a &>> s) ^ b) & m
            v[r + 1] = b ^ t
            v[r] = a ^ (t &<< s)
            r += 2
        }
    }

    /// Turns 128 columns of a column-major bit matrix into rows.
    ///
    /// `columns` holds column c (c = firstColumn ..< firstColumn + 128) at words
    /// `c * columnWords ..< (c + 1) * columnWords`, bit i of the column being instance i. Writes
    /// `rowCount` (a multiple of 128, ≤ 64 · columnWords) rows to `rows`: bit k of row i is bit i of
    /// column firstColumn + k.
    @inlinable
    static func columnsToRows(_ columns: UnsafePointer<UInt64>, columnWords: Int, firstColumn: Int, rowCount: Int,
                              into rows: UnsafeMutablePointer<Block>) {
        let base = columns + firstColumn * columnWords
        for b in 0..<(rowCount / 128) {
            let out = rows + 128 * b
            var src = base + 2 * b
            for c in 0..<128 {
                out[c] = Block(low: src[0], high: src[1])
                src += columnWords
            }
            transpose128(out)
        }
    }
}

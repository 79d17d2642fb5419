import Testing
@testable import RingArithmetic
import TestSupport

/// Shapes (m, n, k): degenerate, tiny, around the 4×4 tile, the 256-deep k-block, the 64-row
/// block, the 2048-column panel, and the m = 1 path.
let ringShapes: [(Int, Int, Int)] = [
    (0, 0, 0), (0, 5, 3), (4, 0, 3), (3, 4, 0), (1, 1, 1), (1, 7, 3), (5, 9, 13),
    (3, 3, 3), (4, 4, 4), (5, 5, 5), (3, 5, 4), (4, 3, 5), (7, 9, 11), (8, 8, 8),
    (9, 7, 300), (12, 13, 255), (11, 12, 256), (13, 15, 257), (17, 33, 511), (21, 19, 513),
    (63, 31, 20), (64, 32, 20), (65, 33, 20), (64, 100, 300), (5, 2047, 4), (6, 2049, 3),
    (1, 14, 1024), (1, 8, 50), (1, 4, 50), (1, 3, 50), (1, 300, 7), (2, 3, 1000),
]

@Suite("RingGEMM")
struct RingGEMMTests {
    /// Runs RingGEMM and the naive loop on the same data and compares all of C, including the
    /// padding between rows (which must be left alone).
    func check(m: Int, n: Int, k: Int, ldaExtra: Int, ldbExtra: Int, ldcExtra: Int,
               accumulate: Bool, nearTop: Bool, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let lda = k + ldaExtra, ldb = n + ldbExtra, ldc = n + ldcExtra
        let a = nearTop ? rng.nearTop(max(1, m * lda)) : rng.ringValues(max(1, m * lda))
        let b = nearTop ? rng.nearTop(max(1, k * ldb)) : rng.ringValues(max(1, k * ldb))
        let c0 = rng.ringValues(max(1, m * ldc))
        var expected = c0
        naiveRingProduct(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &expected, ldc: ldc,
                         accumulate: accumulate)
        var got = c0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                got.withUnsafeMutableBufferPointer { pc in
                    RingGEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                                      b: pb.baseAddress!, ldb: ldb, c: pc.baseAddress!, ldc: ldc,
                                      accumulate: accumulate)
                }
            }
        }
        #expect(firstMismatch(got, expected) == nil,
                "m=\(m) n=\(n) k=\(k) lda=\(lda) ldb=\(ldb) ldc=\(ldc) acc=\(accumulate) top=\(nearTop)")

        // The same through a packed A.
        var gotPacked = c0
        let packed = a.withUnsafeBufferPointer {
            PackedRingMatrix(rows: m, columns: k, values: $0.baseAddress!, leadingDimension: lda)
        }
        b.withUnsafeBufferPointer { pb in
            gotPacked.withUnsafeMutableBufferPointer { pc in
                RingGEMM.multiply(packed: packed, n: n, b: pb.baseAddress!, ldb: ldb,
                                  c: pc.baseAddress!, ldc: ldc, accumulate: accumulate)
            }
        }
        #expect(firstMismatch(gotPacked, expected) == nil,
                "packed m=\(m) n=\(n) k=\(k) acc=\(accumulate) top=\(nearTop)")
    }

    @Test("dense shapes, overwrite and accumulate", arguments: [false, true])
    func denseShapes(accumulate: Bool) {
        for (index, shape) in ringShapes.enumerated() {
            check(m: shape.0, n: shape.1, k: shape.2, ldaExtra: 0, ldbExtra: 0, ldcExtra: 0,
                  accumulate: accumulate, nearTop: false, seed: UInt64(index))
        }
    }

    @Test("non-trivial leading dimensions", arguments: [false, true])
    func leadingDimensions(accumulate: Bool) {
        for (index, shape) in ringShapes.enumerated() {
            check(m: shape.0, n: shape.1, k: shape.2, ldaExtra: 3, ldbExtra: 5, ldcExtra: 2,
                  accumulate: accumulate, nearTop: false, seed: 1000 + UInt64(index))
        }
    }

    @Test("values near 2^64 wrap correctly", arguments: [false, true])
    func wrapping(accumulate: Bool) {
        for (index, shape) in ringShapes.enumerated() {
            check(m: shape.0, n: shape.1, k: shape.2, ldaExtra: 1, ldbExtra: 0, ldcExtra: 1,
                  accumulate: accumulate, nearTop: true, seed: 2000 + UInt64(index))
        }
    }

    @Test("a large blocked product (several k-blocks, row blocks, column panels)")
    func largeProduct() {
        check(m: 66, n: 2051, k: 260, ldaExtra: 0, ldbExtra: 0, ldcExtra: 0,
              accumulate: true, nearTop: false, seed: 77)
    }

    @Test("masking afterwards gives the product in Z_2^ℓ")
    func smallRing() {
        // 2×2 matrices in Z_2^8: [[200, 100], [3, 255]] · [[7, 250], [128, 2]].
        let a: [UInt64] = [200, 100, 3, 255]
        let b: [UInt64] = [7, 250, 128, 2]
        var c = [UInt64](repeating: 0, count: 4)
        RingGEMM.multiply(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: &c, ldc: 2,
                          accumulate: false)
        let expected: [UInt64] = [(200 * 7 + 100 * 128) % 256, (200 * 250 + 100 * 2) % 256,
                                  (3 * 7 + 255 * 128) % 256, (3 * 250 + 255 * 2) % 256]
        #expect(c.map { $0 & 0xFF } == expected)
    }

    @Test("k = 0 zeroes C without accumulate and leaves it with accumulate")
    func emptyInner() {
        let a: [UInt64] = [1], b: [UInt64] = [1]
        var c: [UInt64] = [5, 6, 7, 8, 9, 10]
        RingGEMM.multiply(m: 2, n: 3, k: 0, a: a, lda: 0, b: b, ldb: 3, c: &c, ldc: 3,
                          accumulate: true)
        #expect(c == [5, 6, 7, 8, 9, 10])
        RingGEMM.multiply(m: 2, n: 2, k: 0, a: a, lda: 0, b: b, ldb: 2, c: &c, ldc: 3,
                          accumulate: false)
        #expect(c == [0, 0, 7, 0, 0, 10])
    }

    @Test("PackedRingMatrix from an array and its dimensions")
    func packedFromArray() {
        var rng = SplitMix64(seed: 5)
        let m = 6, k = 300, n = 10
        let a = rng.ringValues(m * k), b = rng.ringValues(k * n)
        let packed = PackedRingMatrix(rows: m, columns: k, values: a)
        #expect(packed.rows == m && packed.columns == k)
        var expected = [UInt64](repeating: 0, count: m * n)
        naiveRingProduct(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &expected, ldc: n,
                         accumulate: false)
        var c = [UInt64](repeating: 0, count: m * n)
        RingGEMM.multiply(packed: packed, n: n, b: b, ldb: n, c: &c, ldc: n, accumulate: false)
        #expect(c == expected)
        let empty = PackedRingMatrix(rows: 0, columns: 0, values: [])
        #expect(empty.rows == 0)
    }
}

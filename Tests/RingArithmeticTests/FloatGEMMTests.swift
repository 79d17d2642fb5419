import Testing
@testable import RingArithmetic
import TestSupport

@Suite("FloatGEMM")
struct FloatGEMMTests {
    /// Shapes around the 6×16 tile, the 256-deep k-block, the 72-row block, the m = 1 path.
    static let shapes: [(Int, Int, Int)] = [
        (0, 0, 0), (0, 3, 2), (2, 0, 2), (3, 2, 0), (1, 1, 1), (1, 7, 3), (5, 9, 13),
        (6, 16, 8), (5, 15, 7), (7, 17, 9), (6, 17, 255), (11, 31, 256), (13, 33, 257),
        (71, 20, 40), (72, 16, 40), (73, 47, 300), (64, 100, 300), (3, 2049, 5),
        (1, 14, 1024), (1, 32, 100), (1, 40, 33), (1, 5, 200),
    ]

    /// Compares against a Double-accumulated naive product: |got − exact| ≤ 1e-5 · Σ|a||b| + tiny.
    func check(m: Int, n: Int, k: Int, extra: Int, accumulate: Bool, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let lda = k + extra, ldb = n + 2 * extra, ldc = n + extra
        let a = rng.floats(max(1, m * lda)), b = rng.floats(max(1, k * ldb))
        let c0 = rng.floats(max(1, m * ldc))
        var got = c0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                got.withUnsafeMutableBufferPointer { pc in
                    FloatGEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                                       b: pb.baseAddress!, ldb: ldb, c: pc.baseAddress!, ldc: ldc,
                                       accumulate: accumulate)
                }
            }
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var exact = accumulate ? Double(c0[i * ldc + j]) : 0
                var magnitude = abs(exact)
                for p in 0..<k {
                    let term = Double(a[i * lda + p]) * Double(b[p * ldb + j])
                    exact += term
                    magnitude += abs(term)
                }
                let error = abs(Double(got[i * ldc + j]) - exact) / (magnitude + 1e-30)
                worst = max(worst, error)
            }
            // Padding between rows of C is untouched.
            for j in n..<ldc where i * ldc + j < got.count {
                #expect(got[i * ldc + j] == c0[i * ldc + j])
            }
        }
        #expect(worst <= 1e-5, "m=\(m) n=\(n) k=\(k) extra=\(extra) acc=\(accumulate): \(worst)")
    }

    @Test("shapes, leading dimensions, accumulate", arguments: [false, true])
    func shapes(accumulate: Bool) {
        for (index, shape) in Self.shapes.enumerated() {
            check(m: shape.0, n: shape.1, k: shape.2, extra: 0, accumulate: accumulate,
                  seed: UInt64(index))
            check(m: shape.0, n: shape.1, k: shape.2, extra: 3, accumulate: accumulate,
                  seed: 500 + UInt64(index))
        }
    }

    @Test("exact on small integers")
    func exactIntegers() {
        let a: [Float] = [1, 2, 3, 4, 5, 6]          // 2×3
        let b: [Float] = [7, 8, 9, 10, 11, 12]       // 3×2
        var c = [Float](repeating: .nan, count: 4)
        FloatGEMM.multiply(m: 2, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 2, c: &c, ldc: 2,
                           accumulate: false)
        #expect(c == [58, 64, 139, 154])
    }
}

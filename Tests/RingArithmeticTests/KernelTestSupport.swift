// Deterministic test data and reference loops for the kernel tests.
import TestSupport

/// Test-data helpers on the tests' one seeded generator.
extension SplitMix64 {
    /// `count` full-width random values.
    mutating func ringValues(_ count: Int) -> [UInt64] {
        (0..<count).map { _ in next() }
    }

    /// `count` values within `spread` of 2^64 (so almost every product and sum wraps).
    mutating func nearTop(_ count: Int, spread: UInt64 = 1 << 20) -> [UInt64] {
        (0..<count).map { _ in UInt64.max - next() % spread }
    }

    /// `count` floats uniform in [−1, 1).
    mutating func floats(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1..<1, using: &self) }
    }
}

/// The naive i-j-p triple loop over Z_2^64 with leading dimensions.
func naiveRingProduct(m: Int, n: Int, k: Int, a: [UInt64], lda: Int, b: [UInt64], ldb: Int,
                      c: inout [UInt64], ldc: Int, accumulate: Bool) {
    for i in 0..<m {
        for j in 0..<n {
            var sum: UInt64 = accumulate ? c[i * ldc + j] : 0
            for p in 0..<k { sum &+= a[i * lda + p] &* b[p * ldb + j] }
            c[i * ldc + j] = sum
        }
    }
}

/// The first index where two equally long arrays differ (with both values), or nil.
func firstMismatch<T: Equatable>(_ got: [T], _ expected: [T]) -> String? {
    guard got.count == expected.count else { return "count \(got.count) ≠ \(expected.count)" }
    for i in got.indices where got[i] != expected[i] {
        return "index \(i): \(got[i]) ≠ \(expected[i])"
    }
    return nil
}

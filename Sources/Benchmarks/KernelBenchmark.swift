import RingArithmetic
// Timing of the hot-loop kernels on given sizes (for `validate-inspect bench` and for tuning).

/// Throughput measurements of the GEMM kernels on fresh random (non-secret) data.
///
/// Every function runs the kernel once to warm caches and page in the buffers, then repeats it
/// until at least `minimumSeconds` of wall-clock time have passed (and at least once), and reports
/// the throughput of the fastest repetition — the least disturbed by other processes. A MAC is one
/// multiply-add; for float GEMM, GFLOP/s = 2 × GMAC/s.
public enum KernelBenchmark {
    /// Throughput of ``RingGEMM/multiply(m:n:k:a:lda:b:ldb:c:ldc:accumulate:)`` on m×k · k×n.
    ///
    /// - Parameters:
    ///   - m: rows of A and C.
    ///   - n: columns of B and C.
    ///   - k: inner dimension.
    ///   - minimumSeconds: total time to spend repeating (after one warm-up run).
    /// - Returns: billions of multiply-adds per second (GMAC/s).
    public static func ringGEMM(m: Int, n: Int, k: Int, minimumSeconds: Double = 0.5) -> Double {
        ringBenchmark(m: m, n: n, k: k, minimumSeconds: minimumSeconds) { a, b, c in
            RingGEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n,
                              accumulate: false)
        }
    }

    /// Throughput of ``RingGEMM/multiply(packed:n:b:ldb:c:ldc:accumulate:)`` with A packed once
    /// outside the timed region (the reuse pattern of layer weights).
    ///
    /// - Parameters:
    ///   - m: rows of A and C.
    ///   - n: columns of B and C.
    ///   - k: inner dimension.
    ///   - minimumSeconds: total time to spend repeating.
    /// - Returns: GMAC/s.
    public static func packedRingGEMM(m: Int, n: Int, k: Int, minimumSeconds: Double = 0.5) -> Double {
        var packed: PackedRingMatrix?
        return ringBenchmark(m: m, n: n, k: k, minimumSeconds: minimumSeconds) { a, b, c in
            if packed == nil {
                packed = PackedRingMatrix(rows: m, columns: k, values: a, leadingDimension: k)
            }
            RingGEMM.multiply(packed: packed!, n: n, b: b, ldb: n, c: c, ldc: n, accumulate: false)
        }
    }

    /// Throughput of the naive i-p-j triple loop over unsafe pointers (wrapping `UInt64`), the
    /// baseline the ring kernel is compared with.
    ///
    /// - Parameters:
    ///   - m: rows of A and C.
    ///   - n: columns of B and C.
    ///   - k: inner dimension.
    ///   - minimumSeconds: total time to spend repeating.
    /// - Returns: GMAC/s.
    public static func naiveRingGEMM(m: Int, n: Int, k: Int, minimumSeconds: Double = 0.5) -> Double {
        ringBenchmark(m: m, n: n, k: k, minimumSeconds: minimumSeconds) { a, b, c in
            RingGEMM.simpleMultiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n,
                                    accumulate: false)
        }
    }

    /// Throughput of ``FloatGEMM/multiply(m:n:k:a:lda:b:ldb:c:ldc:accumulate:)`` on m×k · k×n.
    ///
    /// - Parameters:
    ///   - m: rows of A and C.
    ///   - n: columns of B and C.
    ///   - k: inner dimension.
    ///   - minimumSeconds: total time to spend repeating.
    /// - Returns: GMAC/s (GFLOP/s is twice this).
    public static func floatGEMM(m: Int, n: Int, k: Int, minimumSeconds: Double = 0.5) -> Double {
        floatBenchmark(m: m, n: n, k: k, minimumSeconds: minimumSeconds) { a, b, c in
            FloatGEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n,
                               accumulate: false)
        }
    }

    /// Throughput of the naive i-p-j triple loop in `Float` (baseline for ``floatGEMM(m:n:k:minimumSeconds:)``).
    ///
    /// - Parameters:
    ///   - m: rows of A and C.
    ///   - n: columns of B and C.
    ///   - k: inner dimension.
    ///   - minimumSeconds: total time to spend repeating.
    /// - Returns: GMAC/s.
    public static func naiveFloatGEMM(m: Int, n: Int, k: Int, minimumSeconds: Double = 0.5) -> Double {
        floatBenchmark(m: m, n: n, k: k, minimumSeconds: minimumSeconds) { a, b, c in
            FloatGEMM.simpleMultiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n,
                                     accumulate: false)
        }
    }

    // MARK: - Harness

    /// Allocates random ring operands and times `body`.
    static func ringBenchmark(
        m: Int, n: Int, k: Int, minimumSeconds: Double,
        _ body: (UnsafePointer<UInt64>, UnsafePointer<UInt64>, UnsafeMutablePointer<UInt64>) -> Void
    ) -> Double {
        var rng = FastRandom()
        let a = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, m * k))
        let b = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, k * n))
        let c = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, m * n))
        defer {
            a.deallocate()
            b.deallocate()
            c.deallocate()
        }
        for i in 0..<(m * k) { a[i] = rng.next() }
        for i in 0..<(k * n) { b[i] = rng.next() }
        let seconds = fastestRun(minimumSeconds: minimumSeconds) { body(a, b, c) }
        return Double(m) * Double(n) * Double(k) / seconds / 1e9
    }

    /// Allocates random float operands in [−1, 1) and times `body`.
    static func floatBenchmark(
        m: Int, n: Int, k: Int, minimumSeconds: Double,
        _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) -> Double {
        var rng = FastRandom()
        let a = UnsafeMutablePointer<Float>.allocate(capacity: max(1, m * k))
        let b = UnsafeMutablePointer<Float>.allocate(capacity: max(1, k * n))
        let c = UnsafeMutablePointer<Float>.allocate(capacity: max(1, m * n))
        defer {
            a.deallocate()
            b.deallocate()
            c.deallocate()
        }
        for i in 0..<(m * k) { a[i] = Float.random(in: -1..<1, using: &rng) }
        for i in 0..<(k * n) { b[i] = Float.random(in: -1..<1, using: &rng) }
        let seconds = fastestRun(minimumSeconds: minimumSeconds) { body(a, b, c) }
        return Double(m) * Double(n) * Double(k) / seconds / 1e9
    }

    /// A splitmix64 generator seeded from the system generator: benchmark data is not secret, and
    /// `SystemRandomNumberGenerator` costs a system call per value (seconds for a large matrix).
    struct FastRandom: RandomNumberGenerator {
        var state: UInt64

        /// Seeds from the system generator.
        init() {
            var system = SystemRandomNumberGenerator()
            state = system.next()
        }

        /// The next 64 random bits.
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Runs `body` once untimed, then repeatedly for at least `minimumSeconds`; returns the
    /// fastest single run in seconds (never zero).
    static func fastestRun(minimumSeconds: Double, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        body()
        var best = Double.infinity
        var total = 0.0
        repeat {
            let elapsed = clock.measure(body)
            let seconds = Double(elapsed.components.seconds)
                + Double(elapsed.components.attoseconds) * 1e-18
            best = min(best, seconds)
            total += seconds
        } while total < minimumSeconds
        return max(best, 1e-9)
    }
}

// Single-precision matrix multiplication for the float32 reference executor.
//
// Same blocking scheme as RingGEMM (pack B per k-block into 16-column strips, pack A into 6-row
// strips, register tile over one k-block), with a 6×16 tile of `SIMD8<Float>` accumulators (12 of
// the 16 ymm registers) updated by fused multiply-adds (`addingProduct` → `vfmadd231ps` with
// `-target-cpu haswell`). Accumulation is in Float, as onnxruntime's MLAS does; the summation
// order differs from a naive loop, so results agree to rounding (≈ 1e-6 relative for well-scaled
// data), not bit for bit.
//
// Not `@inlinable` for the same reason as RingGEMM: the kernel must be compiled in this module,
// with AVX2/FMA enabled.

/// Matrix multiplication C = A·B (or C += A·B) in `Float`, row-major with leading dimensions.
public enum FloatGEMM {
    /// Rows of the register tile.
    static let tileRows = 6
    /// Columns of the register tile (two `SIMD8<Float>`).
    static let tileColumns = 16
    /// Depth of one k-block.
    static let blockDepth = 256
    /// Rows of A per L2 block (a multiple of `tileRows`).
    static let blockRows = 72
    /// Columns of B per packed panel (a multiple of `tileColumns`).
    static let blockColumns = 2048
    /// Below this many multiply-adds a plain loop runs.
    static let smallProblemMACs = 16_384

    /// Computes C = A·B, or C += A·B when `accumulate` is true, in single precision.
    ///
    /// - Parameters:
    ///   - m: rows of A and C (≥ 0).
    ///   - n: columns of B and C (≥ 0).
    ///   - k: columns of A and rows of B (≥ 0); k = 0 gives the zero product.
    ///   - a: A, m×k, row-major; element (i, p) is `a[i * lda + p]`.
    ///   - lda: leading dimension of A, ≥ k.
    ///   - b: B, k×n, row-major; element (p, j) is `b[p * ldb + j]`.
    ///   - ldb: leading dimension of B, ≥ n.
    ///   - c: C, m×n, row-major; element (i, j) is `c[i * ldc + j]`. Must not overlap A or B.
    ///   - ldc: leading dimension of C, ≥ n.
    ///   - accumulate: add the product to C instead of overwriting it (C need not be initialised
    ///     when false).
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "FloatGEMM: negative dimension")
        precondition(lda >= k && ldb >= n && ldc >= n, "FloatGEMM: leading dimension too small")
        if m == 0 || n == 0 { return }
        if k == 0 {
            if !accumulate {
                for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
            }
            return
        }
        if m == 1 && n >= 32 {
            rowTimesMatrix(k: k, n: n, a: a, b: b, ldb: ldb, c: c, accumulate: accumulate)
            return
        }
        if m * n * k <= smallProblemMACs {
            simpleMultiply(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                           accumulate: accumulate)
            return
        }
        blockedMultiply(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                        accumulate: accumulate)
    }

    // MARK: - Small shapes

    /// The i-p-j loop for tiny problems.
    package static func simpleMultiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool
    ) {
        for i in 0..<m {
            let cRow = c + i * ldc
            if !accumulate { cRow.update(repeating: 0, count: n) }
            let aRow = a + i * lda
            for p in 0..<k {
                let x = aRow[p]
                let bRow = b + p * ldb
                for j in 0..<n { cRow[j] = cRow[j].addingProduct(x, bRow[j]) }
            }
        }
    }

    /// One row of A times B (m = 1, n ≥ 32; narrower rows are faster with the plain loop):
    /// 32-column strips of B walked over the whole depth.
    static func rowTimesMatrix(
        k: Int, n: Int,
        a: UnsafePointer<Float>,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>,
        accumulate: Bool
    ) {
        var j = 0
        while j + 32 <= n {
            var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
            var bp = b + j
            for p in 0..<k {
                let x = SIMD8<Float>(repeating: a[p])
                s0 = s0.addingProduct(x, load8(bp))
                s1 = s1.addingProduct(x, load8(bp + 8))
                s2 = s2.addingProduct(x, load8(bp + 16))
                s3 = s3.addingProduct(x, load8(bp + 24))
                bp += ldb
            }
            store8(c + j, s0, accumulate: accumulate)
            store8(c + j + 8, s1, accumulate: accumulate)
            store8(c + j + 16, s2, accumulate: accumulate)
            store8(c + j + 24, s3, accumulate: accumulate)
            j += 32
        }
        while j + 8 <= n {
            var s0 = SIMD8<Float>()
            var bp = b + j
            for p in 0..<k {
                s0 = s0.addingProduct(SIMD8<Float>(repeating: a[p]), load8(bp))
                bp += ldb
            }
            store8(c + j, s0, accumulate: accumulate)
            j += 8
        }
        if j < n {
            // Fewer than eight columns left: i-p-j over them.
            let rest = n - j
            let cTail = c + j
            if !accumulate { cTail.update(repeating: 0, count: rest) }
            var bp = b + j
            for p in 0..<k {
                let x = a[p]
                for t in 0..<rest { cTail[t] = cTail[t].addingProduct(x, bp[t]) }
                bp += ldb
            }
        }
    }

    // MARK: - Blocked driver

    /// Blocked product: B packed per (k-block, column panel), A per (k-block, row block).
    static func blockedMultiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool
    ) {
        let depth = min(blockDepth, k)
        let panelColumns = min(blockColumns, (n + tileColumns - 1) / tileColumns * tileColumns)
        let panelRows = min(blockRows, (m + tileRows - 1) / tileRows * tileRows)
        let packedB = UnsafeMutablePointer<Float>.allocate(capacity: depth * panelColumns)
        let packedA = UnsafeMutablePointer<Float>.allocate(capacity: depth * panelRows)
        defer {
            packedB.deallocate()
            packedA.deallocate()
        }
        var jc = 0
        while jc < n {
            let nc = min(blockColumns, n - jc)
            let strips = (nc + tileColumns - 1) / tileColumns
            var pc = 0
            while pc < k {
                let kc = min(blockDepth, k - pc)
                packB(b + pc * ldb + jc, ldb: ldb, depth: kc, columns: nc, into: packedB)
                let overwrite = pc == 0 && !accumulate
                var ic = 0
                while ic < m {
                    let mc = min(blockRows, m - ic)
                    packA(a + ic * lda + pc, lda: lda, rows: mc, depth: kc, into: packedA)
                    let rowStrips = (mc + tileRows - 1) / tileRows
                    for js in 0..<strips {
                        let column = jc + js * tileColumns
                        let columns = min(tileColumns, n - column)
                        let bStrip = UnsafePointer(packedB + js * kc * tileColumns)
                        for strip in 0..<rowStrips {
                            let row = strip * tileRows
                            kernel6x16(
                                depth: kc,
                                a: packedA + strip * kc * tileRows,
                                b: bStrip,
                                c: c + (ic + row) * ldc + column, ldc: ldc,
                                rows: min(tileRows, mc - row), columns: columns,
                                overwrite: overwrite)
                        }
                    }
                    ic += mc
                }
                pc += kc
            }
            jc += nc
        }
    }

    /// Packs `depth × columns` of B into 16-column strips (last strip zero-padded).
    static func packB(_ b: UnsafePointer<Float>, ldb: Int, depth: Int, columns: Int,
                      into out: UnsafeMutablePointer<Float>) {
        let full = columns / tileColumns
        for s in 0..<full {
            var src = b + s * tileColumns
            var dst = out + s * depth * tileColumns
            for _ in 0..<depth {
                UnsafeMutableRawPointer(dst).storeBytes(of: load8(src), as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(dst + 8).storeBytes(of: load8(src + 8), as: SIMD8<Float>.self)
                src += ldb
                dst += tileColumns
            }
        }
        let rest = columns - full * tileColumns
        if rest > 0 {
            var src = b + full * tileColumns
            var dst = out + full * depth * tileColumns
            for _ in 0..<depth {
                for j in 0..<tileColumns { dst[j] = j < rest ? src[j] : 0 }
                src += ldb
                dst += tileColumns
            }
        }
    }

    /// Packs `rows × depth` of A into 6-row strips: per column p, the six values A[r, p]
    /// (rows past `rows` zero).
    static func packA(_ a: UnsafePointer<Float>, lda: Int, rows: Int, depth: Int,
                      into out: UnsafeMutablePointer<Float>) {
        let strips = (rows + tileRows - 1) / tileRows
        for s in 0..<strips {
            let dst = out + s * depth * tileRows
            for r in 0..<tileRows {
                let row = s * tileRows + r
                if row < rows {
                    let src = a + row * lda
                    for p in 0..<depth { dst[p * tileRows + r] = src[p] }
                } else {
                    for p in 0..<depth { dst[p * tileRows + r] = 0 }
                }
            }
        }
    }

    /// The 6×16 register tile over one k-block; writes (or adds) its valid `rows × columns` part.
    @inline(__always)
    static func kernel6x16(
        depth: Int,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, columns: Int, overwrite: Bool
    ) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        var ap = a, bp = b
        for _ in 0..<depth {
            let b0 = load8(bp), b1 = load8(bp + 8)
            var x = SIMD8<Float>(repeating: ap[0])
            c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: ap[1])
            c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: ap[2])
            c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: ap[3])
            c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: ap[4])
            c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: ap[5])
            c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            ap += tileRows
            bp += tileColumns
        }
        if rows == tileRows && columns == tileColumns {
            let acc = !overwrite
            store8(c, c00, accumulate: acc); store8(c + 8, c01, accumulate: acc)
            var r = c + ldc
            store8(r, c10, accumulate: acc); store8(r + 8, c11, accumulate: acc)
            r += ldc
            store8(r, c20, accumulate: acc); store8(r + 8, c21, accumulate: acc)
            r += ldc
            store8(r, c30, accumulate: acc); store8(r + 8, c31, accumulate: acc)
            r += ldc
            store8(r, c40, accumulate: acc); store8(r + 8, c41, accumulate: acc)
            r += ldc
            store8(r, c50, accumulate: acc); store8(r + 8, c51, accumulate: acc)
        } else {
            let lefts = (c00, c10, c20, c30, c40, c50)
            let rights = (c01, c11, c21, c31, c41, c51)
            for r in 0..<rows {
                let left: SIMD8<Float>, right: SIMD8<Float>
                switch r {
                case 0: (left, right) = (lefts.0, rights.0)
                case 1: (left, right) = (lefts.1, rights.1)
                case 2: (left, right) = (lefts.2, rights.2)
                case 3: (left, right) = (lefts.3, rights.3)
                case 4: (left, right) = (lefts.4, rights.4)
                default: (left, right) = (lefts.5, rights.5)
                }
                let dst = c + r * ldc
                for j in 0..<columns {
                    let v = j < 8 ? left[j] : right[j - 8]
                    dst[j] = overwrite ? v : dst[j] + v
                }
            }
        }
    }

    // MARK: - Lane helpers

    /// Loads eight consecutive floats (no alignment requirement).
    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Stores (or adds) eight consecutive floats.
    @inline(__always)
    static func store8(_ p: UnsafeMutablePointer<Float>, _ v: SIMD8<Float>, accumulate: Bool) {
        let value = accumulate ? load8(p) + v : v
        UnsafeMutableRawPointer(p).storeBytes(of: value, as: SIMD8<Float>.self)
    }
}

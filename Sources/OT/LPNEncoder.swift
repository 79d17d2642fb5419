import CryptoPrimitives
import Synchronization
import Transport

/// LLVM's prefetch intrinsic, which Swift does not expose: (address, 0 = read, 3 = keep in every
/// cache level, 1 = data). It only hints the cache; a wrong address cannot fault.
@_silgen_name("llvm.prefetch.p0")
private func prefetch(_ address: UnsafeRawPointer, _ readWrite: Int32, _ locality: Int32, _ cacheType: Int32)

/// The primal-LPN step of a Ferret iteration: y = A·u ⊕ (MPCOT output), over F_2^128 blocks, for
/// a public n × k matrix A over F_2 with exactly `rowWeight` (d = 10) non-zero entries per row —
/// Ferret's local linear code: row i is the XOR of d entries of u.
///
/// The columns of row i come from a public AES-128-CTR stream (`AESPRG`) under a seed the two
/// parties agree on: 32-bit words 10i…10i + 9 of the stream, each mapped to [0, k) as
/// ⌊w·k / 2^32⌋ (the bias, at most k / 2^32 per column, only shapes the public code). A column may
/// repeat within a row (the two cancel, so the row has weight 8): about 45/k of the rows, one in
/// 800 for the bootstrap set and one in 13,000 for the main set.
///
/// Linear, so the sender (on its u and MPCOT blocks) and the receiver (on u ⊕ r·Δ and w) get
/// outputs that differ by (A·r ⊕ e)·Δ: COTs whose choice bits are the LPN samples A·r ⊕ e.
/// Nothing is sent. Cost per output: d loads from u (k blocks: 9.4 MB for the main set, so
/// mostly last-level-cache hits, prefetched some rows ahead) and 2.5 AES blocks of index stream.
package final class LPNEncoder {
    /// Rows per batch of column indices (20 KiB of indices: they stay in L1 while used).
    static let rowsPerBatch = 512
    /// Rows between a row's prefetch and its use. The d loads of a row are independent but the
    /// out-of-order window only reaches a few rows ahead, while the reads of u mostly come from
    /// the last-level cache (or memory, when other processes share it): prefetching the entries
    /// 24 rows ahead made the whole generator 1.15–1.2× faster on this machine at a load of ~2.7,
    /// and 1.5–2× when other builds filled the shared cache (distances 16–48 rows measured: flat
    /// between 16 and 32; 4 or 8 rows: little gain).
    static let prefetchDistance = 24

    let n: Int
    let k: Int
    let rowWeight: Int
    private let seed: Block
    private let indices: UnsafeMutablePointer<UInt32>

    package init(parameters: FerretParameters, seed: Block) {
        n = parameters.n
        k = parameters.k
        precondition(parameters.rowWeight == 10, "the encoder is written for Ferret's d = 10")
        rowWeight = parameters.rowWeight
        self.seed = seed
        indices = .allocate(capacity: Self.rowsPerBatch * parameters.rowWeight)
    }

    deinit { indices.deallocate() }

    /// Column of A for stream word `word`.
    @inline(__always)
    static func column(_ word: UInt32, k: Int) -> Int { Int(truncatingIfNeeded: (UInt64(word) &* UInt64(k)) >> 32) }

    /// out[i] ^= ⊕_{j < d} u[A_{i,j}] for i < n. Steps per batch of rows: (1) draw the batch's
    /// column words from the stream; (2) XOR the selected entries of u into the rows.
    package func encode(u: UnsafePointer<Block>, into out: UnsafeMutablePointer<Block>) {
        let stream = AESPRG(seed: seed)            // the same public matrix in every iteration
        let d = 10, k = UInt64(self.k)
        let words = indices
        var row = 0
        while row < n {
            let rows = min(Self.rowsPerBatch, n - row)
            stream.fill(UnsafeMutableRawBufferPointer(start: words, count: rows * d * 4))
            let o = out + row
            let ahead = Self.prefetchDistance
            for i in 0..<rows {
                if i &+ ahead < rows {
                    let p = words + 10 &* (i &+ ahead)
                    for j in 0..<10 { prefetch(UnsafeRawPointer(u + Int(truncatingIfNeeded: (UInt64(p[j]) &* k) >> 32)), 0, 3, 1) }
                }
                let w = words + 10 &* i
                @inline(__always) func at(_ j: Int) -> Block { u[Int(truncatingIfNeeded: (UInt64(w[j]) &* k) >> 32)] }
                // A balanced XOR tree: the ten loads are independent.
                o[i] ^= ((at(0) ^ at(1)) ^ (at(2) ^ at(3))) ^ ((at(4) ^ at(5)) ^ (at(6) ^ at(7))) ^ (at(8) ^ at(9))
            }
            row += rows
        }
    }

    /// The column indices of every row, row-major (n · d values): what `encode` uses, for tests
    /// and inspection.
    func columns() -> [Int] {
        let stream = AESPRG(seed: seed)
        var words = [UInt32](repeating: 0, count: n * rowWeight)
        words.withUnsafeMutableBytes { stream.fill($0) }
        return words.map { Self.column($0, k: k) }
    }
}

/// One LPN encoding at a time per party and process: every Ferret generator of a party (one per
/// direction and lane) takes its party's turn for the `LPNEncoder.encode` step of an iteration.
///
/// The step reads a 9.4 MB table at random (the main set's u), ten rows per output; two such
/// steps time-sliced on one core evict each other's table from the shared last-level cache at
/// every switch. Measured on this machine (`bench model` digits, 360 images, silent OT, both
/// parties in one process on 2 cores): 2 lanes took 79 CPU seconds without the turn against
/// 52 s for 1 lane; with the turn, 2 lanes ran in 0.86× the wall and 0.85× the CPU time of the
/// build without it (whole process, medians of 3 alternated pairs). The turn is per party, so the vendor's and the hospital's encoders (on two
/// machines, or two cores of one) still run at the same time. It orders only local computation:
/// nothing about the protocol or its messages changes.
enum LPNTurn {
    private static let vendor = Mutex(())
    private static let hospital = Mutex(())

    /// Runs `body` holding `party`'s turn.
    static func taking<R>(_ party: Party, _ body: () -> R) -> R {
        party == .vendor ? vendor.withLock { _ in body() } : hospital.withLock { _ in body() }
    }
}

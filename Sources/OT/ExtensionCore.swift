import CryptoPrimitives
import Transport

/// The matrix step shared by IKNP (width 128) and KK13 (width 256), for one direction.
///
/// Base OTs ran the other way: for each column j < width the extension *receiver* holds two seeds
/// (k0_j, k1_j); the extension *sender* holds a secret s ∈ {0,1}^width and k_{s_j, j}.
/// For a chunk of m instances (a multiple of 128) the receiver, with rows r_i ∈ {0,1}^width
/// (IKNP: r_i = b_i·1…1; KK13: the codeword of its choice), computes column by column
///
///     t^j = G(k0_j),   u^j = t^j ⊕ G(k1_j) ⊕ r^j          (G: AES-128-CTR, m bits per column)
///
/// and sends U; the sender computes q^j = G(k_{s_j, j}) ⊕ s_j·u^j = t^j ⊕ s_j·r^j. Transposed to
/// rows this is q_i = t_i ⊕ (r_i ∧ s). The sender sees only U, where every r^j is padded by
/// G(k_{1−s_j, j}), a stream it cannot compute.
///
/// Rows come out as `width / 128` planes of m blocks: plane p holds columns 128p ..< 128p + 128.
/// Both sides advance their PRG streams by m bits per call, so calls must match.
final class ExtensionSender {
    let width: Int
    let maxRows: Int
    /// s, bit j = s_j (width / 64 words). Zeroed on deinit.
    private(set) var secret: [UInt64]
    private let prgs: [AESPRG]
    private let columns: UnsafeMutablePointer<UInt64>
    private let received: UnsafeMutablePointer<UInt64>
    private var capacityWords: Int { width * maxRows / 64 }

    /// `seeds[j]` = k_{s_j, j}, the base-OT key this party received for column j.
    init(width: Int, secret: [UInt64], seeds: [Block], maxRows: Int) {
        precondition(width % 128 == 0 && seeds.count == width && secret.count == width / 64 && maxRows % 128 == 0)
        self.width = width
        self.maxRows = maxRows
        self.secret = secret
        prgs = seeds.map { AESPRG(seed: $0) }
        columns = .allocate(capacity: width * maxRows / 64)
        received = .allocate(capacity: width * maxRows / 64)
    }

    deinit {
        SecureWipe.wipe(&secret)
        SecureWipe.wipe(columns, count: capacityWords)
        SecureWipe.wipe(received, count: capacityWords)
        columns.deallocate()
        received.deallocate()
    }

    /// Steps: (1) receive U for `rows` instances; (2) expand each seed into its column and add
    /// s_j·u^j (masked, no branch on s_j); (3) transpose into row planes at `planes`
    /// (`width / 128` · rows blocks).
    func extend(rows: Int, channel: Channel, into planes: UnsafeMutablePointer<Block>) throws {
        precondition(rows % 128 == 0 && rows <= maxRows)
        try channel.receive(into: UnsafeMutableRawBufferPointer(start: received, count: width * rows / 8))
        extend(rows: rows, matrix: received, into: planes)
    }

    /// Steps (2) and (3) of `extend(rows:channel:into:)` for a U the caller already received
    /// (`width · rows / 64` words at `matrix`, column j from word j · rows / 64).
    func extend(rows: Int, matrix received: UnsafePointer<UInt64>, into planes: UnsafeMutablePointer<Block>) {
        precondition(rows % 128 == 0 && rows <= maxRows)
        let words = rows / 64
        for j in 0..<width {
            let column = columns + j * words
            prgs[j].fill(UnsafeMutableRawBufferPointer(start: column, count: words * 8))
            let mask = 0 &- ((secret[j >> 6] >> UInt64(j & 63)) & 1)
            let u = received + j * words
            for w in 0..<words { column[w] ^= u[w] & mask }
        }
        for p in 0..<(width / 128) {
            BitTranspose.columnsToRows(columns, columnWords: words, firstColumn: 128 * p, rowCount: rows, into: planes + p * rows)
        }
    }
}

/// The receiver's half of `ExtensionSender`'s matrix step (see there).
final class ExtensionReceiver {
    let width: Int
    let maxRows: Int
    private let prg0: [AESPRG]
    private let prg1: [AESPRG]
    private let columns: UnsafeMutablePointer<UInt64>
    private let outgoing: UnsafeMutablePointer<UInt64>
    private var capacityWords: Int { width * maxRows / 64 }

    /// `k0[j]`, `k1[j]`: the base-OT key pair this party sent for column j.
    init(width: Int, k0: [Block], k1: [Block], maxRows: Int) {
        precondition(width % 128 == 0 && k0.count == width && k1.count == width && maxRows % 128 == 0)
        self.width = width
        self.maxRows = maxRows
        prg0 = k0.map { AESPRG(seed: $0) }
        prg1 = k1.map { AESPRG(seed: $0) }
        columns = .allocate(capacity: width * maxRows / 64)
        outgoing = .allocate(capacity: width * maxRows / 64)
    }

    deinit {
        SecureWipe.wipe(columns, count: capacityWords)
        SecureWipe.wipe(outgoing, count: capacityWords)
        columns.deallocate()
        outgoing.deallocate()
    }

    /// Steps: (1) for each column j: t^j = G(k0_j), u^j = t^j ⊕ G(k1_j) ⊕ r^j, where
    /// `choiceColumn(j)` points at r^j (rows / 64 words); (2) send U and flush (before the
    /// transpose, so the peer starts on it early); (3) transpose T into row planes at `planes`.
    func extend(rows: Int, choiceColumn: (Int) -> UnsafePointer<UInt64>, channel: Channel,
                into planes: UnsafeMutablePointer<Block>) throws {
        formMatrix(rows: rows, choiceColumn: choiceColumn, into: outgoing)
        try channel.send(UnsafeRawBufferPointer(start: outgoing, count: width * rows / 8))
        try channel.flush()
        transposeRows(rows: rows, into: planes)
    }

    /// The same steps, but U goes to `matrix` (`width · rows / 64` words) for the caller to send.
    func extend(rows: Int, choiceColumn: (Int) -> UnsafePointer<UInt64>, matrix: UnsafeMutablePointer<UInt64>,
                into planes: UnsafeMutablePointer<Block>) {
        formMatrix(rows: rows, choiceColumn: choiceColumn, into: matrix)
        transposeRows(rows: rows, into: planes)
    }

    /// Step (1): T into `columns`, U into `outgoing`.
    private func formMatrix(rows: Int, choiceColumn: (Int) -> UnsafePointer<UInt64>, into outgoing: UnsafeMutablePointer<UInt64>) {
        precondition(rows % 128 == 0 && rows <= maxRows)
        let words = rows / 64
        for j in 0..<width {
            let t = columns + j * words, u = outgoing + j * words
            prg0[j].fill(UnsafeMutableRawBufferPointer(start: t, count: words * 8))
            prg1[j].fill(UnsafeMutableRawBufferPointer(start: u, count: words * 8))
            let r = choiceColumn(j)
            for w in 0..<words { u[w] ^= t[w] ^ r[w] }
        }
    }

    /// Step (3): T's columns to row planes.
    private func transposeRows(rows: Int, into planes: UnsafeMutablePointer<Block>) {
        let words = rows / 64
        for p in 0..<(width / 128) {
            BitTranspose.columnsToRows(columns, columnWords: words, firstColumn: 128 * p, rowCount: rows, into: planes + p * rows)
        }
    }
}

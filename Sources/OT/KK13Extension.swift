import CryptoPrimitives
import Transport

/// Chosen-message 1-out-of-N OT (N a power of two, 2 ≤ N ≤ 256) of ℓ-bit messages by
/// Kolesnikov–Kumaresan (CRYPTO 2013): IKNP with the 256-bit Walsh–Hadamard code in place of the
/// repetition code, in both directions over one channel. One instance costs one 256-bit extension
/// row (32 bytes from receiver to sender) plus N·ℓ bits of masked messages.
///
/// In the direction where this party is the sender it holds s ∈ {0,1}^256 and gets rows
/// q_i = t_i ⊕ (C(c_i) ∧ s); the receiver, with choice c_i < N, holds t_i. The sender sends
/// y_{i,j} = m_{i,j} ⊕ H(q_i ⊕ (C(j) ∧ s), τ_{i,j}) for every j < N; the receiver unmasks
/// y_{i,c_i} with H(t_i, τ_{i,c_i}). For j ≠ c_i the hash input differs from t_i by C(j ⊕ c_i) ∧ s,
/// 128 secret bits of s, so the receiver learns only m_{i,c_i}; the sender sees the padded matrix
/// U only and learns nothing about c.
///
/// The 256 base OTs per direction are not public-key OTs: they are IKNP random OTs run the
/// other way (`init(bootstrappingFrom:secrets:)`). Not thread-safe: one object per party.
final class KK13Extension {
    /// Instances per chunk (U is 128 KiB per chunk; the masked messages N·ℓ·chunk bits).
    static let chunkRows = 1 << 12
    static let width = 256

    let channel: Channel
    let hash: CorrelationRobustHash
    private let sender: ExtensionSender
    private let receiver: ExtensionReceiver
    /// Tweak counters, in hashed values (instances × N), per direction.
    private var sentValues: UInt64 = 0
    private var receivedValues: UInt64 = 0
    private let sendTag: UInt64
    private let receiveTag: UInt64

    private let rows: UnsafeMutablePointer<Block>          // two planes of chunkRows
    private let choiceColumns: UnsafeMutablePointer<UInt64> // 256 columns of chunkRows bits
    private let left: UnsafeMutablePointer<Block>          // hash inputs, one batch
    private let right: UnsafeMutablePointer<Block>
    private let tweaks: UnsafeMutablePointer<UInt64>
    private let hashed: UnsafeMutablePointer<UInt64>
    private static let batch = CorrelationRobustHash.batch

    /// Sets up both directions from the IKNP extension: first the direction where the vendor is
    /// the 1-of-N sender, then the hospital's. In each, (1) the 1-of-N sender draws s (256
    /// secret bits); (2) it receives 256 IKNP random OTs with choices s from the other party, who
    /// keeps both messages of each as its seed pair (k0_j, k1_j).
    init(bootstrappingFrom iknp: IKNPExtension, secrets: SecretRandomness) throws {
        channel = iknp.channel
        hash = iknp.hash
        var mySender: ExtensionSender?
        var myReceiver: ExtensionReceiver?
        for kkSender in [Party.vendor, Party.hospital] {
            if kkSender == iknp.party {
                let s = secrets.words(Self.width / 64)
                let bits = (0..<Self.width).map { (s[$0 >> 6] >> UInt64($0 & 63)) & 1 == 1 }
                let seeds = try iknp.randomReceive(choices: bits)
                mySender = ExtensionSender(width: Self.width, secret: s, seeds: seeds, maxRows: Self.chunkRows)
            } else {
                let (k0, k1) = try iknp.randomSend(count: Self.width)
                myReceiver = ExtensionReceiver(width: Self.width, k0: k0, k1: k1, maxRows: Self.chunkRows)
            }
        }
        sender = mySender!
        receiver = myReceiver!
        sendTag = Self.tag(sender: iknp.party)
        receiveTag = Self.tag(sender: iknp.party.peer)
        rows = .allocate(capacity: 2 * Self.chunkRows)
        choiceColumns = .allocate(capacity: Self.width * Self.chunkRows / 64)
        left = .allocate(capacity: Self.batch)
        right = .allocate(capacity: Self.batch)
        tweaks = .allocate(capacity: Self.batch)
        hashed = .allocate(capacity: Self.batch)
    }

    deinit {
        rows.update(repeating: .zero, count: 2 * Self.chunkRows)
        choiceColumns.update(repeating: 0, count: Self.width * Self.chunkRows / 64)
        left.update(repeating: .zero, count: Self.batch)
        right.update(repeating: .zero, count: Self.batch)
        hashed.update(repeating: 0, count: Self.batch)
        rows.deallocate()
        choiceColumns.deallocate()
        left.deallocate()
        right.deallocate()
        tweaks.deallocate()
        hashed.deallocate()
    }

    static func tag(sender: Party) -> UInt64 { 0x4B4B_3133_0000_0000 | (sender == .vendor ? 0 : 1) }

    private static func check(n: Int, bits: Int) throws {
        guard n >= 2, n <= 256, n & (n - 1) == 0 else {
            throw OTError.invalidArgument("1-of-N OT with N = \(n); N must be a power of two in 2…256")
        }
        guard (1...64).contains(bits) else { throw OTError.invalidArgument("message width \(bits) bits; must be 1…64") }
    }

    /// Sender. Steps per chunk: (1) receive U, form q_i (`ExtensionSender.extend`); (2) for each
    /// instance i and j < N hash q_i ⊕ (C(j) ∧ s) and mask m_{i,j}; (3) send the N·ℓ packed bits
    /// per instance.
    func send(messages: [UInt64], n: Int, bits: Int) throws {
        try Self.check(n: n, bits: bits)
        guard messages.count % n == 0 else {
            throw OTError.invalidArgument("1-of-\(n) OT with \(messages.count) messages, not a multiple of \(n)")
        }
        let count = messages.count / n
        // C(j) ∧ s as two 128-bit halves, for j < N.
        var offsets = [Block]()
        for j in 0..<n {
            let c = WalshHadamardCode.codeword(UInt8(j))
            offsets.append(Block(low: c[0] & sender.secret[0], high: c[1] & sender.secret[1]))
            offsets.append(Block(low: c[2] & sender.secret[2], high: c[3] & sender.secret[3]))
        }
        defer { offsets.withUnsafeMutableBufferPointer { $0.update(repeating: .zero) } }
        let instancesPerBatch = Self.batch / n
        var packed = [UInt64](repeating: 0, count: BitPacking.wordCount(min(count, Self.chunkRows) * n, bits: bits) + 1)
        try messages.withUnsafeBufferPointer { messages in
            try offsets.withUnsafeBufferPointer { offsets in
                try packed.withUnsafeMutableBufferPointer { packed in
                    var start = 0
                    while start < count {
                        let m = min(Self.chunkRows, count - start)
                        let padded = (m + 127) & ~127
                        try sender.extend(rows: padded, channel: channel, into: rows)
                        let qa = rows, qb = rows + padded
                        var packer = BitPacker(into: packed.baseAddress!, bits: bits)
                        var i0 = 0
                        while i0 < m {
                            let instances = min(instancesPerBatch, m - i0)
                            var k = 0
                            for i in i0..<(i0 + instances) {
                                let a = qa[i], b = qb[i], base = sentValues &+ UInt64(i * n)
                                for j in 0..<n {
                                    left[k] = a ^ offsets[2 * j]
                                    right[k] = b ^ offsets[2 * j + 1]
                                    tweaks[k] = base &+ UInt64(j)
                                    k += 1
                                }
                            }
                            hash.hashWide(a: left, b: right, tweaks: tweaks, tag: sendTag, count: k, into: hashed)
                            let source = messages.baseAddress! + (start + i0) * n
                            for e in 0..<k { packer.append(source[e] ^ hashed[e]) }
                            i0 += instances
                        }
                        packer.finish()
                        try channel.send(UnsafeRawBufferPointer(start: packed.baseAddress!, count: BitPacking.byteCount(m * n, bits: bits)))
                        try channel.flush()
                        sentValues &+= UInt64(padded * n)
                        start += m
                    }
                }
            }
        }
    }

    /// Receiver. Steps per chunk: (1) form the codeword columns of the choices and run the
    /// extension (sends U); (2) hash t_i; (3) receive the masked table, unmask entry c_i.
    func receive(choices: [UInt8], n: Int, bits: Int) throws -> [UInt64] {
        try Self.check(n: n, bits: bits)
        guard choices.allSatisfy({ Int($0) < n }) else {
            throw OTError.invalidArgument("1-of-\(n) OT with a choice ≥ \(n)")
        }
        let count = choices.count
        let mask = BitPacking.mask(bits)
        var result = [UInt64](repeating: 0, count: count)
        var packed = [UInt64](repeating: 0, count: BitPacking.wordCount(min(count, Self.chunkRows) * n, bits: bits) + 1)
        try choices.withUnsafeBufferPointer { choices in
            try result.withUnsafeMutableBufferPointer { out in
                try packed.withUnsafeMutableBufferPointer { packed in
                    var start = 0
                    while start < count {
                        let m = min(Self.chunkRows, count - start)
                        let padded = (m + 127) & ~127
                        let words = padded / 64
                        WalshHadamardCode.columns(of: UnsafeBufferPointer(rebasing: choices[start..<(start + m)]), words: words,
                                                  into: choiceColumns)
                        let columns = UnsafePointer(choiceColumns)
                        try receiver.extend(rows: padded, choiceColumn: { columns + $0 * words }, channel: channel, into: rows)
                        let ta = rows, tb = rows + padded
                        // Hash first (the sender is busy with the same chunk), then unmask.
                        var i0 = 0
                        while i0 < m {
                            let k = min(Self.batch, m - i0)
                            for e in 0..<k {
                                let i = i0 + e
                                left[e] = ta[i]
                                right[e] = tb[i]
                                tweaks[e] = receivedValues &+ UInt64(i * n + Int(choices[start + i]))
                            }
                            hash.hashWide(a: left, b: right, tweaks: tweaks, tag: receiveTag, count: k, into: out.baseAddress! + start + i0)
                            i0 += k
                        }
                        try channel.receive(into: UnsafeMutableRawBufferPointer(start: packed.baseAddress!,
                                                                                count: BitPacking.byteCount(m * n, bits: bits)))
                        for i in 0..<m {
                            let y = BitPacking.extract(packed.baseAddress!, index: i * n + Int(choices[start + i]), bits: bits)
                            out[start + i] = (y ^ out[start + i]) & mask
                        }
                        receivedValues &+= UInt64(padded * n)
                        start += m
                    }
                }
            }
        }
        return result
    }
}

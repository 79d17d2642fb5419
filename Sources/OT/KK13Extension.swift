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
/// other way (`init(bootstrappingFrom:secrets:)`). Chunks stream as in `IKNPExtension` (one round
/// trip per call); `exchange` runs a batch in each direction at once so that both parties hash
/// (the sender's 16 hashes per instance for N = 16) at the same time. Not thread-safe: one object
/// per party.
final class KK13Extension {
    /// Instances per chunk (U is 128 KiB per chunk).
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
    /// `exchange`'s U matrices and tables, kept between calls (fresh large allocations cost a
    /// page fault per 4 KiB, more than the copying itself).
    private let exchangeBuffers = ExchangeBuffers()

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
        SecureWipe.wipe(rows, count: 2 * Self.chunkRows)
        SecureWipe.wipe(choiceColumns, count: Self.width * Self.chunkRows / 64)
        SecureWipe.wipe(left, count: Self.batch)
        SecureWipe.wipe(right, count: Self.batch)
        SecureWipe.wipe(hashed, count: Self.batch)
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

    /// The sender's masks C(j) ∧ s for j < n, as two 128-bit halves each (zero them after use).
    private func codeOffsets(n: Int) -> [Block] {
        var offsets = [Block]()
        offsets.reserveCapacity(2 * n)
        for j in 0..<n {
            let c = WalshHadamardCode.codeword(UInt8(j))
            offsets.append(Block(low: c[0] & sender.secret[0], high: c[1] & sender.secret[1]))
            offsets.append(Block(low: c[2] & sender.secret[2], high: c[3] & sender.secret[3]))
        }
        return offsets
    }

    /// Rows of U for `count` instances (each chunk padded to a multiple of 128), in words.
    private static func matrixWords(_ count: Int) -> Int {
        let full = count / chunkRows, last = count % chunkRows
        return width / 64 * (full * chunkRows + (last + 127) & ~127)
    }

    /// Sender pass over `count` instances, chunk by chunk: (1) the extension, reading U from the
    /// channel (`matrix == nil`) or from `matrix`; (2) the masks H(q_i ⊕ (C(j) ∧ s), τ_{i,j}) for
    /// every j < n, appended `bits` bits each to `table` (count · n values, `BitPacking` layout).
    private func senderPass(count: Int, n: Int, bits: Int, matrix: UnsafePointer<UInt64>?,
                            table: UnsafeMutablePointer<UInt64>) throws {
        var offsets = codeOffsets(n: n)
        defer { SecureWipe.wipe(&offsets) }
        let instancesPerBatch = Self.batch / n
        // When an instance's n masks fit in one word (1-of-16 with 2-bit messages: 32 bits), they
        // are gathered and appended as one value: the same bit layout, 1/n of the packer's work.
        let perInstance = n * bits <= 64
        var packer = BitPacker(into: table, bits: perInstance ? n * bits : bits)
        let valueMask = BitPacking.mask(bits)
        try offsets.withUnsafeBufferPointer { offsets in
            var start = 0
            var matrixOffset = 0
            while start < count {
                let m = min(Self.chunkRows, count - start)
                let padded = (m + 127) & ~127
                if let matrix {
                    sender.extend(rows: padded, matrix: matrix + matrixOffset, into: rows)
                    matrixOffset += Self.width / 64 * padded
                } else {
                    try sender.extend(rows: padded, channel: channel, into: rows)
                }
                let qa = rows, qb = rows + padded
                var i0 = 0
                while i0 < m {
                    let instances = min(instancesPerBatch, m - i0), k = instances * n
                    hash.hashWide(qa: qa + i0, qb: qb + i0, instances: instances, offsets: offsets.baseAddress!, n: n,
                                  tweakBase: sentValues &+ UInt64(i0 * n), tag: sendTag, into: hashed)
                    if perInstance {
                        var e = 0
                        for _ in 0..<instances {
                            var word: UInt64 = 0, shift: UInt64 = 0
                            for j in 0..<n {
                                word |= (hashed[e &+ j] & valueMask) &<< shift
                                shift &+= UInt64(bits)
                            }
                            packer.append(word)
                            e &+= n
                        }
                    } else {
                        for e in 0..<k { packer.append(hashed[e]) }
                    }
                    i0 += instances
                }
                sentValues &+= UInt64(padded * n)
                start += m
            }
        }
        packer.finish()
    }

    /// Receiver pass over the choices, chunk by chunk: (1) the codeword columns of the choices;
    /// (2) the extension, U going to the channel (`matrix == nil`) or to `matrix`; (3) H(t_i, τ_{i,c_i})
    /// into `out` (full 64 bits; the caller unmasks and truncates).
    private func receiverPass(choices: UnsafeBufferPointer<UInt8>, n: Int, matrix: UnsafeMutablePointer<UInt64>?,
                              out: UnsafeMutablePointer<UInt64>) throws {
        let count = choices.count
        var start = 0
        var matrixOffset = 0
        while start < count {
            let m = min(Self.chunkRows, count - start)
            let padded = (m + 127) & ~127
            let words = padded / 64
            WalshHadamardCode.columns(of: UnsafeBufferPointer(rebasing: choices[start..<(start + m)]), words: words,
                                      into: choiceColumns)
            let columns = UnsafePointer(choiceColumns)
            if let matrix {
                receiver.extend(rows: padded, choiceColumn: { columns + $0 * words }, matrix: matrix + matrixOffset, into: rows)
                matrixOffset += Self.width / 64 * padded
            } else {
                try receiver.extend(rows: padded, choiceColumn: { columns + $0 * words }, channel: channel, into: rows)
            }
            let ta = rows, tb = rows + padded
            var i0 = 0
            while i0 < m {
                let k = min(Self.batch, m - i0)
                for e in 0..<k {
                    let i = i0 + e
                    left[e] = ta[i]
                    right[e] = tb[i]
                    tweaks[e] = receivedValues &+ UInt64(i * n + Int(choices[start + i]))
                }
                hash.hashWide(a: left, b: right, tweaks: tweaks, tag: receiveTag, count: k, into: out + start + i0)
                i0 += k
            }
            receivedValues &+= UInt64(padded * n)
            start += m
        }
    }

    /// XORs the packed messages into the packed masks: table ^= messages for `values` values, and
    /// clears the bits past the last value (so no message bit outside the batch is ever sent).
    private static func maskTable(_ table: UnsafeMutablePointer<UInt64>, with messages: UnsafePointer<UInt64>, values: Int, bits: Int) {
        let totalBits = values * bits
        let words = (totalBits + 63) / 64
        for w in 0..<words { table[w] ^= messages[w] }
        if totalBits % 64 != 0 { table[words - 1] &= (1 << UInt64(totalBits % 64)) &- 1 }
    }

    /// The receiver's last step: out[i] = (y_{i, c_i} ⊕ out[i]) mod 2^bits.
    private static func unmask(_ out: UnsafeMutablePointer<UInt64>, table: UnsafePointer<UInt64>, choices: UnsafeBufferPointer<UInt8>,
                               n: Int, bits: Int) {
        let mask = BitPacking.mask(bits)
        for i in 0..<choices.count {
            let y = BitPacking.extract(table, index: i * n + Int(choices[i]), bits: bits)
            out[i] = (y ^ out[i]) & mask
        }
    }

    /// Sender with one word per message (`messages[i * n + j]`). Steps: (1) pack the messages;
    /// then as `send(packedMessages:count:n:bits:)`.
    func send(messages: [UInt64], n: Int, bits: Int) throws {
        try Self.check(n: n, bits: bits)
        guard messages.count % n == 0 else {
            throw OTError.invalidArgument("1-of-\(n) OT with \(messages.count) messages, not a multiple of \(n)")
        }
        var packed = [UInt64](repeating: 0, count: BitPacking.wordCount(messages.count, bits: bits) + 1)
        packed.withUnsafeMutableBufferPointer { packed in
            var packer = BitPacker(into: packed.baseAddress!, bits: bits)
            for m in messages { packer.append(m) }
            packer.finish()
        }
        try send(packedMessages: packed, count: messages.count / n, n: n, bits: bits)
    }

    /// Sender with packed messages: message j of instance i is value i·n + j of `packedMessages`
    /// (`BitPacking` layout, `bits` bits each). Steps: (1) per chunk: read U, form q_i, hash
    /// q_i ⊕ (C(j) ∧ s) for every j < n (`senderPass`); (2) mask the messages and send the whole
    /// table (n·ℓ bits per instance) at once. The receiver streams every U before it reads, so the
    /// call is one round trip whatever the batch size.
    func send(packedMessages: [UInt64], count: Int, n: Int, bits: Int) throws {
        try Self.check(n: n, bits: bits)
        guard packedMessages.count >= BitPacking.wordCount(count * n, bits: bits) else {
            throw OTError.invalidArgument("1-of-\(n) OT of \(count) instances with only \(packedMessages.count) packed words")
        }
        if count == 0 { return }             // no instances, no messages (the peer does the same)
        var table = [UInt64](repeating: 0, count: BitPacking.wordCount(count * n, bits: bits) + 1)
        try table.withUnsafeMutableBufferPointer { table in
            // Step 1.
            try senderPass(count: count, n: n, bits: bits, matrix: nil, table: table.baseAddress!)
            // Step 2.
            packedMessages.withUnsafeBufferPointer { Self.maskTable(table.baseAddress!, with: $0.baseAddress!, values: count * n, bits: bits) }
            try channel.send(UnsafeRawBufferPointer(start: table.baseAddress!, count: BitPacking.byteCount(count * n, bits: bits)))
            try channel.flush()
        }
    }

    /// Receiver. Steps: (1) per chunk: codeword columns of the choices, extension (sends U),
    /// H(t_i) (`receiverPass`); (2) receive the whole masked table and unmask entry c_i of each
    /// instance.
    func receive(choices: [UInt8], n: Int, bits: Int) throws -> [UInt64] {
        try Self.check(n: n, bits: bits)
        guard choices.allSatisfy({ Int($0) < n }) else {
            throw OTError.invalidArgument("1-of-\(n) OT with a choice ≥ \(n)")
        }
        let count = choices.count
        if count == 0 { return [] }
        var result = [UInt64](repeating: 0, count: count)
        var table = [UInt64](repeating: 0, count: BitPacking.wordCount(count * n, bits: bits) + 1)
        try choices.withUnsafeBufferPointer { choices in
            try result.withUnsafeMutableBufferPointer { out in
                try table.withUnsafeMutableBufferPointer { table in
                    // Step 1.
                    try receiverPass(choices: choices, n: n, matrix: nil, out: out.baseAddress!)
                    // Step 2.
                    try channel.receive(into: UnsafeMutableRawBufferPointer(start: table.baseAddress!,
                                                                            count: BitPacking.byteCount(count * n, bits: bits)))
                    Self.unmask(out.baseAddress!, table: table.baseAddress!, choices: choices, n: n, bits: bits)
                }
            }
        }
        return result
    }

    /// Instances per direction in one round of `exchange` (U of 32 MiB each way): bounds memory;
    /// larger batches take one more pair of round trips per 2^20 instances. A multiple of 64
    /// (tests lower it, on both parties, to exercise several rounds).
    var exchangeRoundInstances = 1 << 20

    /// Two batches in opposite directions at once, so that both parties do sender work (16 hashes
    /// per instance for N = 16) at the same time: this party sends `sendCount` instances with
    /// `packedMessages` (as in `send(packedMessages:…)`) and receives with `choices`; the peer calls
    /// it with the roles mirrored and the opposite `speaksFirst`.
    ///
    /// Per round of at most `exchangeRoundInstances` instances each way:
    /// 1. As receiver: codeword columns, U and H(t_i) for this round's choices; U kept in memory.
    /// 2. Swap the U matrices (the party that speaks first sends, then reads; the other reads, then
    ///    sends — so blocking TCP endpoints never both wait on full send buffers).
    /// 3. As sender: extension from the peer's U, hash, mask the messages.
    /// 4. Swap the masked tables (same order).
    /// 5. Unmask the chosen entries.
    /// Two round trips per round, independent of the batch up to 2^20 instances each way.
    func exchange(packedMessages: [UInt64], sendCount: Int, choices: [UInt8], n: Int, bits: Int, speaksFirst: Bool) throws -> [UInt64] {
        try Self.check(n: n, bits: bits)
        guard choices.allSatisfy({ Int($0) < n }) else {
            throw OTError.invalidArgument("1-of-\(n) OT with a choice ≥ \(n)")
        }
        guard packedMessages.count >= BitPacking.wordCount(sendCount * n, bits: bits) else {
            throw OTError.invalidArgument("1-of-\(n) OT of \(sendCount) instances with only \(packedMessages.count) packed words")
        }
        let receiveCount = choices.count
        if sendCount == 0 && receiveCount == 0 { return [] }
        let limit = exchangeRoundInstances     // a multiple of 64: every round starts on a word
        precondition(limit > 0 && limit % 64 == 0, "exchangeRoundInstances must be a positive multiple of 64")
        let largest = min(limit, max(sendCount, receiveCount))
        exchangeBuffers.reserve(matrixWords: Self.matrixWords(largest), tableWords: BitPacking.wordCount(largest * n, bits: bits) + 1)
        let mine = exchangeBuffers.mine, theirs = exchangeBuffers.theirs
        let myTable = exchangeBuffers.myTable, theirTable = exchangeBuffers.theirTable
        var result = [UInt64](repeating: 0, count: receiveCount)
        func swap(_ outgoing: UnsafeMutablePointer<UInt64>, _ outBytes: Int, _ incoming: UnsafeMutablePointer<UInt64>, _ inBytes: Int) throws {
            let o = UnsafeRawBufferPointer(start: outgoing, count: outBytes)
            let i = UnsafeMutableRawBufferPointer(start: incoming, count: inBytes)
            if speaksFirst {
                try channel.send(o)
                try channel.flush()
                try channel.receive(into: i)
            } else {
                try channel.receive(into: i)
                try channel.send(o)
                try channel.flush()
            }
        }
        try choices.withUnsafeBufferPointer { choices in
            try result.withUnsafeMutableBufferPointer { out in
                try packedMessages.withUnsafeBufferPointer { messages in
                    var sent = 0, received = 0
                    repeat {
                        let s = min(limit, sendCount - sent), r = min(limit, receiveCount - received)
                        let myChoices = UnsafeBufferPointer(rebasing: choices[received..<(received + r)])
                        // Step 1.
                        if r > 0 { try receiverPass(choices: myChoices, n: n, matrix: mine, out: out.baseAddress! + received) }
                        // Step 2.
                        try swap(mine, 8 * Self.matrixWords(r), theirs, 8 * Self.matrixWords(s))
                        // Step 3.
                        try senderPass(count: s, n: n, bits: bits, matrix: theirs, table: myTable)
                        if s > 0 { Self.maskTable(myTable, with: messages.baseAddress! + sent * n * bits / 64, values: s * n, bits: bits) }
                        // Step 4.
                        try swap(myTable, BitPacking.byteCount(s * n, bits: bits), theirTable, BitPacking.byteCount(r * n, bits: bits))
                        // Step 5.
                        if r > 0 { Self.unmask(out.baseAddress! + received, table: theirTable, choices: myChoices, n: n, bits: bits) }
                        sent += s
                        received += r
                    } while sent < sendCount || received < receiveCount
                }
            }
        }
        return result
    }
}

/// Grow-only scratch buffers of `KK13Extension.exchange`, zeroed when released. They only ever
/// hold U matrices and masked tables, which cross the channel anyway.
final class ExchangeBuffers {
    private(set) var mine: UnsafeMutablePointer<UInt64> = .allocate(capacity: 1)
    private(set) var theirs: UnsafeMutablePointer<UInt64> = .allocate(capacity: 1)
    private(set) var myTable: UnsafeMutablePointer<UInt64> = .allocate(capacity: 1)
    private(set) var theirTable: UnsafeMutablePointer<UInt64> = .allocate(capacity: 1)
    private var matrixCapacity = 1
    private var tableCapacity = 1

    /// Makes room for `matrixWords` words per U matrix and `tableWords` per table.
    func reserve(matrixWords: Int, tableWords: Int) {
        if matrixWords > matrixCapacity {
            Self.release(mine, matrixCapacity)
            Self.release(theirs, matrixCapacity)
            matrixCapacity = matrixWords
            mine = .allocate(capacity: matrixWords)
            theirs = .allocate(capacity: matrixWords)
        }
        if tableWords > tableCapacity {
            Self.release(myTable, tableCapacity)
            Self.release(theirTable, tableCapacity)
            tableCapacity = tableWords
            myTable = .allocate(capacity: tableWords)
            theirTable = .allocate(capacity: tableWords)
        }
    }

    private static func release(_ buffer: UnsafeMutablePointer<UInt64>, _ count: Int) {
        SecureWipe.wipe(buffer, count: count)
        buffer.deallocate()
    }

    deinit {
        Self.release(mine, matrixCapacity)
        Self.release(theirs, matrixCapacity)
        Self.release(myTable, tableCapacity)
        Self.release(theirTable, tableCapacity)
    }
}

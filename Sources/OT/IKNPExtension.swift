import CryptoPrimitives
import Transport

/// IKNP OT extension (Ishai–Kilian–Nissim–Petrank 2003, semi-honest) in both directions over one
/// channel, and the OT kinds built on its random OTs: correlated OT over Z_2^ℓ and chosen-message
/// 1-of-2 OT of ℓ-bit messages (ℓ ≤ 64).
///
/// In the direction where this party is the OT *sender* it holds Δ ∈ {0,1}^128 (its base-OT
/// choices) and gets rows q_i; the receiver, with choice b_i, gets t_i = q_i ⊕ b_i·Δ. Messages are
/// m0_i = H(q_i, τ_i), m1_i = H(q_i ⊕ Δ, τ_i) with the tweakable correlation-robust hash H and a
/// tweak τ_i unique per instance (a counter per direction and a tag per direction), so the receiver
/// learns m_{b_i} = H(t_i, τ_i) and nothing about the other message; the sender sees only the
/// padded matrix U (see `ExtensionSender`) and learns nothing about b.
///
/// Work goes in chunks of `chunkRows` instances (each padded to a multiple of 128), which bounds
/// the extension's memory at a few MiB whatever the batch size. The chunks stream: the receiver
/// sends every chunk's U without waiting, the sender processes each as it arrives and answers (the
/// corrections of correlated OT, the masked pairs of chosen OT) once, after the last chunk, so a
/// call costs one round trip for any batch; the answer (ℓ or 2ℓ bits per instance) is buffered.
/// Not thread-safe: one object per party.
package final class IKNPExtension {
    /// Instances per chunk: 2^16 (1 MiB of U per chunk).
    static let chunkRows = 1 << 16

    let channel: Channel
    let party: Party
    let hash: CorrelationRobustHash
    let sender: ExtensionSender
    private let receiver: ExtensionReceiver
    /// Δ (zeroed on deinit). Ferret continues IKNP's correlation with the same Δ.
    private(set) var delta: Block
    /// Tweak counters: instances extended so far with this party as sender / as receiver.
    private var sentInstances: UInt64 = 0
    private var receivedInstances: UInt64 = 0
    private let sendTag: UInt64
    private let receiveTag: UInt64

    private let rows: UnsafeMutablePointer<Block>
    private let hashed0: UnsafeMutablePointer<Block>
    private let hashed1: UnsafeMutablePointer<Block>
    private let choiceWords: UnsafeMutablePointer<UInt64>

    /// - Parameters:
    ///   - delta: Δ, this party's secret as IKNP sender; `deltaSeeds[j]` = k_{Δ_j, j}, the base-OT
    ///     keys it received.
    ///   - k0, k1: the base-OT key pairs it sent (it is the IKNP receiver in that direction).
    init(channel: Channel, party: Party, hash: CorrelationRobustHash, delta: Block, deltaSeeds: [Block], k0: [Block], k1: [Block]) {
        self.channel = channel
        self.party = party
        self.hash = hash
        self.delta = delta
        sender = ExtensionSender(width: 128, secret: [delta.low, delta.high], seeds: deltaSeeds, maxRows: Self.chunkRows)
        receiver = ExtensionReceiver(width: 128, k0: k0, k1: k1, maxRows: Self.chunkRows)
        sendTag = Self.tag(sender: party)
        receiveTag = Self.tag(sender: party.peer)
        rows = .allocate(capacity: Self.chunkRows)
        hashed0 = .allocate(capacity: Self.chunkRows)
        hashed1 = .allocate(capacity: Self.chunkRows)
        choiceWords = .allocate(capacity: Self.chunkRows / 64)
    }

    deinit {
        SecureWipe.wipe(&delta)
        for buffer in [rows, hashed0, hashed1] {
            SecureWipe.wipe(buffer, count: Self.chunkRows)
            buffer.deallocate()
        }
        SecureWipe.wipe(choiceWords, count: Self.chunkRows / 64)
        choiceWords.deallocate()
    }

    /// The hash tag of IKNP instances whose sender is `sender` (domain separation between the
    /// two directions and from KK13).
    static func tag(sender: Party) -> UInt64 { 0x494B_4E50_0000_0000 | (sender == .vendor ? 0 : 1) }

    // MARK: - Chunk drivers

    /// Sender side: extends `count` instances chunk by chunk; `body(start, n, q, tweakBase)` gets
    /// the rows q_i of instances start ..< start + n and their first tweak.
    private func sendChunks(count: Int, _ body: (Int, Int, UnsafeMutablePointer<Block>, UInt64) throws -> Void) throws {
        var start = 0
        while start < count {
            let n = min(Self.chunkRows, count - start)
            let padded = (n + 127) & ~127
            try sender.extend(rows: padded, channel: channel, into: rows)
            try body(start, n, rows, sentInstances)
            sentInstances &+= UInt64(padded)
            start += n
        }
    }

    /// Receiver side: extends with the given choices chunk by chunk; `body(start, n, t, tweakBase)`
    /// gets the rows t_i = q_i ⊕ b_i·Δ.
    private func receiveChunks(choices: UnsafeBufferPointer<Bool>, _ body: (Int, Int, UnsafeMutablePointer<Block>, UInt64) throws -> Void) throws {
        var start = 0
        while start < choices.count {
            let n = min(Self.chunkRows, choices.count - start)
            let padded = (n + 127) & ~127
            packChoices(choices, start: start, count: n, words: padded / 64)
            let column = UnsafePointer(choiceWords)
            try receiver.extend(rows: padded, choiceColumn: { _ in column }, channel: channel, into: rows)
            try body(start, n, rows, receivedInstances)
            receivedInstances &+= UInt64(padded)
            start += n
        }
    }

    /// Bit i of the chunk's choice column = choices[start + i] (zero padding).
    private func packChoices(_ choices: UnsafeBufferPointer<Bool>, start: Int, count: Int, words: Int) {
        choiceWords.update(repeating: 0, count: words)
        // Branch-free: the choices are secret and random (a branch would mispredict half the time).
        UnsafeRawPointer(choices.baseAddress! + start).withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
            for i in 0..<count { choiceWords[i >> 6] |= UInt64(bytes[i] & 1) << UInt64(i & 63) }
        }
    }

    private static func checkBits(_ bits: Int) throws {
        guard (1...64).contains(bits) else { throw OTError.invalidArgument("message width \(bits) bits; must be 1…64") }
    }

    // MARK: - Set-up

    /// Base OTs and the extension in both directions (both parties run it at the same time, in
    /// the same order). Steps:
    /// 1. Draw Δ ∈ {0,1}^128, this party's secret as IKNP sender; with `deltaLowBitSet` its low
    ///    bit is forced to 1 (Ferret's convention: the receiver's low bit then carries its choice),
    ///    leaving 127 secret bits.
    /// 2. Chou–Orlandi base OTs, both directions at once: send A (as base sender), receive the
    ///    peer's A, send the B_j for choices Δ (as base receiver), receive the peer's B_j. This
    ///    party keeps 128 key pairs (as IKNP receiver) and k_{Δ_j, j} (as IKNP sender).
    package static func establish(channel: Channel, party: Party, secrets: SecretRandomness, deltaLowBitSet: Bool = false) throws -> IKNPExtension {
        let count = 128
        let curve = try P256()
        // Step 1.
        let deltaWords = secrets.words(2)
        let delta = Block(low: deltaLowBitSet ? deltaWords[0] | 1 : deltaWords[0], high: deltaWords[1])
        let deltaBits = (0..<count).map { delta.bit($0) }
        // Step 2.
        let baseSender = try ChouOrlandiBaseOT.Sender(count: count, curve: curve, randomness: secrets)
        let baseReceiver = ChouOrlandiBaseOT.Receiver(choices: deltaBits, curve: curve, randomness: secrets)
        try channel.send(baseSender.firstMessage)
        try channel.flush()
        let peerFirst: [UInt8] = try channel.receive(count: P256.encodedSize)
        let (reply, chosenKeys) = try peerFirst.withUnsafeBytes { try baseReceiver.reply(toFirstMessage: $0) }
        try channel.send(reply)
        try channel.flush()
        let peerReply: [UInt8] = try channel.receive(count: count * P256.encodedSize)
        let (k0, k1) = try peerReply.withUnsafeBytes { try baseSender.keys(fromReply: $0) }
        return IKNPExtension(channel: channel, party: party, hash: try CorrelationRobustHash(),
                             delta: delta, deltaSeeds: chosenKeys, k0: k0, k1: k1)
    }

    // MARK: - Random correlated OT (the rows themselves)

    /// Random COT, sender: the rows q_i of `count` instances (the receiver's are q_i ⊕ b_i·Δ).
    /// Unhashed, so only for protocols that keep Δ's correlation (Ferret's base COTs); never hand
    /// these out as OT messages. Steps per chunk: receive U and form q (`ExtensionSender.extend`).
    func correlationsSend(count: Int) throws -> [Block] {
        var result = [Block](repeating: .zero, count: count)
        try result.withUnsafeMutableBufferPointer { out in
            try sendChunks(count: count) { start, n, q, _ in (out.baseAddress! + start).update(from: q, count: n) }
        }
        return result
    }

    /// Random COT, receiver: t_i = q_i ⊕ b_i·Δ for the given choices.
    /// Steps per chunk: form and send U (`ExtensionReceiver.extend`).
    func correlationsReceive(choices: [Bool]) throws -> [Block] {
        var result = [Block](repeating: .zero, count: choices.count)
        try choices.withUnsafeBufferPointer { c in
            try result.withUnsafeMutableBufferPointer { out in
                try receiveChunks(choices: c) { start, n, t, _ in (out.baseAddress! + start).update(from: t, count: n) }
            }
        }
        return result
    }

    // MARK: - Random OT

    /// Random OT, sender: `count` pairs (m0_i, m1_i) = (H(q_i), H(q_i ⊕ Δ)).
    /// Steps per chunk: (1) receive U and form q (`ExtensionSender.extend`); (2) hash.
    func randomSend(count: Int) throws -> (m0: [Block], m1: [Block]) {
        var m0 = [Block](unsafeUninitializedCapacity: count) { $1 = count }   // every entry is written below
        var m1 = [Block](unsafeUninitializedCapacity: count) { $1 = count }
        try m0.withUnsafeMutableBufferPointer { out0 in
            try m1.withUnsafeMutableBufferPointer { out1 in
                try sendChunks(count: count) { start, n, q, tweak in
                    hash.hash(q, count: n, tweakBase: tweak, tag: sendTag, into: out0.baseAddress! + start)
                    hash.hash(q, xoring: delta, count: n, tweakBase: tweak, tag: sendTag, into: out1.baseAddress! + start)
                }
            }
        }
        return (m0, m1)
    }

    /// Random OT, receiver: m_{b_i} = H(t_i).
    /// Steps per chunk: (1) form and send U (`ExtensionReceiver.extend`); (2) hash.
    func randomReceive(choices: [Bool]) throws -> [Block] {
        var result = [Block](unsafeUninitializedCapacity: choices.count) { $1 = choices.count }   // written below
        try choices.withUnsafeBufferPointer { c in
            try result.withUnsafeMutableBufferPointer { out in
                try receiveChunks(choices: c) { start, n, t, tweak in
                    hash.hash(t, count: n, tweakBase: tweak, tag: receiveTag, into: out.baseAddress! + start)
                }
            }
        }
        return result
    }

    // MARK: - Correlated OT

    /// Correlated OT over Z_2^bits, sender: returns x_i, the low `bits` bits of H(q_i); the
    /// receiver gets x_i + b_i·Δ_i.
    /// Steps: (1) per chunk: extend (reads that chunk's U), h0 = H(q_i), h1 = H(q_i ⊕ Δ), append the
    /// correction d_i = x_i + Δ_i − h1_i mod 2^bits (`bits` bits each) to one packed buffer;
    /// (2) after the last chunk, send all corrections at once. The receiver streams every U before
    /// it reads anything, so the whole call is one round trip whatever the batch size.
    func correlatedSend(deltas: [UInt64], bits: Int) throws -> [UInt64] {
        try Self.checkBits(bits)
        if deltas.isEmpty { return [] }      // no instances, no messages (the peer does the same)
        var result = [UInt64](repeating: 0, count: deltas.count)
        var packed = [UInt64](repeating: 0, count: BitPacking.wordCount(deltas.count, bits: bits) + 1)
        let mask = BitPacking.mask(bits)
        try deltas.withUnsafeBufferPointer { deltas in
            try result.withUnsafeMutableBufferPointer { out in
                try packed.withUnsafeMutableBufferPointer { packed in
                    var packer = BitPacker(into: packed.baseAddress!, bits: bits)
                    // Step 1.
                    try sendChunks(count: deltas.count) { start, n, q, tweak in
                        hash.hash(q, count: n, tweakBase: tweak, tag: sendTag, into: hashed0)
                        hash.hash(q, xoring: delta, count: n, tweakBase: tweak, tag: sendTag, into: hashed1)
                        for i in 0..<n {
                            let x = hashed0[i].low & mask
                            out[start + i] = x
                            packer.append(x &+ deltas[start + i] &- hashed1[i].low)
                        }
                    }
                    packer.finish()
                    // Step 2.
                    try channel.send(UnsafeRawBufferPointer(start: packed.baseAddress!, count: BitPacking.byteCount(deltas.count, bits: bits)))
                    try channel.flush()
                }
            }
        }
        return result
    }

    /// Correlated OT, receiver: y_i = h_i + b_i·d_i = x_i + b_i·Δ_i mod 2^bits.
    /// Steps: (1) per chunk: extend (sends U), keep h = H(t_i) in the result; (2) receive all
    /// corrections d at once and add d_i where b_i = 1 (by a mask, no branch on b_i).
    func correlatedReceive(choices: [Bool], bits: Int) throws -> [UInt64] {
        try Self.checkBits(bits)
        if choices.isEmpty { return [] }
        var result = [UInt64](repeating: 0, count: choices.count)
        var packed = [UInt64](repeating: 0, count: BitPacking.wordCount(choices.count, bits: bits) + 1)
        let mask = BitPacking.mask(bits)
        try choices.withUnsafeBufferPointer { c in
            try result.withUnsafeMutableBufferPointer { out in
                try packed.withUnsafeMutableBufferPointer { packed in
                    // Step 1.
                    try receiveChunks(choices: c) { start, n, t, tweak in
                        hash.hash(t, count: n, tweakBase: tweak, tag: receiveTag, into: hashed0)
                        for i in 0..<n { out[start + i] = hashed0[i].low }
                    }
                    // Step 2.
                    try channel.receive(into: UnsafeMutableRawBufferPointer(start: packed.baseAddress!,
                                                                            count: BitPacking.byteCount(c.count, bits: bits)))
                    UnsafeRawPointer(c.baseAddress!).withMemoryRebound(to: UInt8.self, capacity: c.count) { bytes in
                        for i in 0..<c.count {
                            let d = BitPacking.extract(packed.baseAddress!, index: i, bits: bits)
                            let select = 0 &- UInt64(bytes[i] & 1)
                            out[i] = (out[i] &+ (d & select)) & mask
                        }
                    }
                }
            }
        }
        return result
    }

    // MARK: - Chosen-message 1-of-2 OT

    /// Chosen 1-of-2 OT, sender: sends y0_i = m0_i ⊕ H(q_i), y1_i = m1_i ⊕ H(q_i ⊕ Δ), truncated
    /// to `bits` bits and packed (2·bits bits per instance). Bits of m above `bits` are ignored.
    /// Steps: (1) per chunk: extend, hash both, append the pairs to one packed buffer; (2) send
    /// all pairs at once (one round trip per call, as for correlated OT).
    func chosenSend(m0: [UInt64], m1: [UInt64], bits: Int) throws {
        try Self.checkBits(bits)
        guard m0.count == m1.count else {
            throw OTError.invalidArgument("chosen OT with \(m0.count) first and \(m1.count) second messages")
        }
        if m0.isEmpty { return }
        var packed = [UInt64](repeating: 0, count: BitPacking.wordCount(2 * m0.count, bits: bits) + 1)
        try m0.withUnsafeBufferPointer { m0 in
            try m1.withUnsafeBufferPointer { m1 in
                try packed.withUnsafeMutableBufferPointer { packed in
                    var packer = BitPacker(into: packed.baseAddress!, bits: bits)
                    // Step 1.
                    try sendChunks(count: m0.count) { start, n, q, tweak in
                        hash.hash(q, count: n, tweakBase: tweak, tag: sendTag, into: hashed0)
                        hash.hash(q, xoring: delta, count: n, tweakBase: tweak, tag: sendTag, into: hashed1)
                        for i in 0..<n {
                            packer.append(m0[start + i] ^ hashed0[i].low)
                            packer.append(m1[start + i] ^ hashed1[i].low)
                        }
                    }
                    packer.finish()
                    // Step 2.
                    try channel.send(UnsafeRawBufferPointer(start: packed.baseAddress!, count: BitPacking.byteCount(2 * m0.count, bits: bits)))
                    try channel.flush()
                }
            }
        }
    }

    /// Chosen 1-of-2 OT, receiver: m_{b_i} = y_{b_i, i} ⊕ H(t_i).
    /// Steps: (1) per chunk: extend (sends U), keep H(t_i) in the result; (2) receive all pairs,
    /// unmask the chosen one of each.
    func chosenReceive(choices: [Bool], bits: Int) throws -> [UInt64] {
        try Self.checkBits(bits)
        if choices.isEmpty { return [] }
        var result = [UInt64](repeating: 0, count: choices.count)
        var packed = [UInt64](repeating: 0, count: BitPacking.wordCount(2 * choices.count, bits: bits) + 1)
        let mask = BitPacking.mask(bits)
        try choices.withUnsafeBufferPointer { c in
            try result.withUnsafeMutableBufferPointer { out in
                try packed.withUnsafeMutableBufferPointer { packed in
                    // Step 1.
                    try receiveChunks(choices: c) { start, n, t, tweak in
                        hash.hash(t, count: n, tweakBase: tweak, tag: receiveTag, into: hashed0)
                        for i in 0..<n { out[start + i] = hashed0[i].low }
                    }
                    // Step 2.
                    try channel.receive(into: UnsafeMutableRawBufferPointer(start: packed.baseAddress!,
                                                                            count: BitPacking.byteCount(2 * c.count, bits: bits)))
                    UnsafeRawPointer(c.baseAddress!).withMemoryRebound(to: UInt8.self, capacity: c.count) { bytes in
                        for i in 0..<c.count {
                            // Both read, one kept by a mask: no branch or address depends on b_i.
                            let y0 = BitPacking.extract(packed.baseAddress!, index: 2 * i, bits: bits)
                            let y1 = BitPacking.extract(packed.baseAddress!, index: 2 * i + 1, bits: bits)
                            let select = 0 &- UInt64(bytes[i] & 1)
                            out[i] = (y0 ^ ((y0 ^ y1) & select) ^ out[i]) & mask
                        }
                    }
                }
            }
        }
        return result
    }
}

import CryptoPrimitives
import Transport

/// The OT machinery of one party on one channel, built on Ferret silent correlated OT: random OT,
/// correlated OT over Z_2^ℓ, chosen 1-of-2 OT and chosen 1-of-N OT, every instance consuming one
/// (1-of-N: log2 N) random COTs from a `FerretCOTSender` / `FerretCOTReceiver`.
///
/// Who holds what: in the direction where this party is the OT sender it holds the Ferret Δ
/// (the IKNP Δ, low bit set) and the COT blocks q_i; the receiver holds t_i = q_i ⊕ r_i·Δ with
/// random r_i. To use choice b_i the receiver sends d_i = b_i ⊕ r_i (one bit: r_i is uniform and
/// secret, so d_i reveals nothing); the sender's key for choice c is then q_i ⊕ (d_i ⊕ c)·Δ, and
/// the receiver's t_i is exactly the key for c = b_i. Messages are H(key, τ) with the tweakable
/// correlation-robust hash H and a tweak unique per instance and value (a counter per direction,
/// a tag per direction), so the receiver learns its chosen message and nothing about the other,
/// whose key differs from t_i by Δ. The sender sees only the d_i and learns nothing about b.
///
/// Cost per instance, both parties' bytes: random OT 1 bit, correlated OT 1 + ℓ bits, chosen
/// 1-of-2 OT 1 + 2ℓ bits, chosen 1-of-N OT log2 N + N·ℓ bits; plus the COTs themselves, about
/// 0.45 bits each (Ferret main set). Compare IKNP: 128 bits more per instance (KK13 1-of-N: 256).
/// Set-up: 2·128 P-256 base OTs and IKNP, once; then, the first time a direction is used, 47,709
/// IKNP COTs, the Ferret bootstrap iteration and the first main iteration (10.6 M COTs, a few
/// hundred milliseconds), and 180 MB of memory per direction for Ferret's iteration buffers.
///
/// Calls must be matched by the peer (see `ObliviousTransfer`) and made from one thread at a
/// time. Every call costs one round trip (random OT: none back), whatever the batch size, plus one
/// per Ferret iteration it starts (one per 10,001,981 COTs): the receiver streams its d bits chunk
/// by chunk, the sender answers (corrections, masked messages) once, after its last chunk. The
/// answer cannot be streamed per chunk: the sender's Ferret tree messages travel in the same
/// direction whenever its generator starts an iteration mid-call, and the receiver reads those
/// inside its own generator, so nothing else may come before them.
/// `chosenExchange1ofN` overlaps the two directions, so both parties hash at the same time.
/// Security: semi-honest, 128-bit computational (LPN with regular noise at Ferret's parameters,
/// AES-128 as PRG and, under fixed public keys, as the random permutations of the GGM PRG, the
/// 1-of-N combiner and the correlation-robust hash); Δ has 127 secret bits. Needs an x86-64 CPU
/// with AVX2 (the module is built with `-target-cpu haswell`).
public final class SilentObliviousTransfer: ObliviousTransfer {
    /// This party.
    public let party: Party
    let iknp: IKNPExtension
    let schedule: FerretSchedule
    private let secrets: SecretRandomness
    private let channel: Channel
    private let hash: CorrelationRobustHash
    /// π of the 1-of-N key combiner (AES-128 under a public key).
    private let combiner: FixedKeyAES
    private var cotSender: FerretCOTSender?
    private var cotReceiver: FerretCOTReceiver?
    /// Hash tweaks so far (instances, or instances·N for 1-of-N) per direction.
    private var sentTweak: UInt64 = 0
    private var receivedTweak: UInt64 = 0
    private let sendTag: UInt64
    private let receiveTag: UInt64

    /// COTs per chunk (bounds the scratch memory whatever the batch).
    static let chunk = 1 << 14
    /// Blocks per 1-of-N combiner batch.
    private static let combineBlocks = 1 << 13
    private let keys: UnsafeMutablePointer<Block>
    private let pads0: UnsafeMutablePointer<Block>
    private let pads1: UnsafeMutablePointer<Block>
    private let scratch: UnsafeMutablePointer<Block>
    private let tweaks: UnsafeMutablePointer<UInt64>
    private let choiceWords: UnsafeMutablePointer<UInt64>
    /// `chosenExchange1ofN`'s key blocks of a round, each way (up to 2^24/N · log2 N blocks: 96 MiB
    /// for the millionaire's N = 8), kept from call to call and wiped after each. Allocated per
    /// call they were fresh pages every time, which the kernel zeroes: 9 % of a silent DReLU's
    /// time in a profile of `bench primitives` (perf, this machine).
    private var exchangeSendKeys: BlockBuffer?
    private var exchangeReceiveKeys: BlockBuffer?

    /// Sets up with the peer (which must call this at the same time with the other party):
    /// secrets from the OS CSPRNG, Ferret's 128-bit parameter sets. Throws `OTError.invalidPoint`
    /// if the peer's base-OT points are invalid, or the channel's `TransportError`.
    public convenience init(channel: Channel, party: Party) throws {
        try self.init(channel: channel, party: party, secrets: .system(), schedule: .standard)
    }

    /// Tests only: every secret comes from `randomness`, and `schedule` may be insecurely small.
    /// - Warning: insecure unless `randomness` was seeded with a secret, unpredictable seed and
    ///   `schedule` is `.standard`.
    convenience init(channel: Channel, party: Party, randomness: AESPRG, schedule: FerretSchedule) throws {
        try self.init(channel: channel, party: party, secrets: .insecureSeeded(randomness), schedule: schedule)
    }

    /// Set-up steps: (1)–(2) Δ with its low bit set and the base OTs in both directions
    /// (`IKNPExtension.establish`). The Ferret generators are bootstrapped later, one per
    /// direction, by the first call that needs them (both parties reach it in the same call).
    init(channel: Channel, party: Party, secrets: SecretRandomness, schedule: FerretSchedule) throws {
        self.party = party
        self.channel = channel
        self.secrets = secrets
        self.schedule = schedule
        iknp = try IKNPExtension.establish(channel: channel, party: party, secrets: secrets, deltaLowBitSet: true)
        hash = iknp.hash
        combiner = try FixedKeyAES(key: Array("SV/SilentOT/1ofN".utf8))
        sendTag = Self.tag(sender: party)
        receiveTag = Self.tag(sender: party.peer)
        keys = .allocate(capacity: Self.chunk)
        pads0 = .allocate(capacity: Self.chunk)
        pads1 = .allocate(capacity: Self.chunk)
        scratch = .allocate(capacity: 3 * Self.combineBlocks)
        tweaks = .allocate(capacity: Self.chunk)
        choiceWords = .allocate(capacity: Self.chunk / 64)
    }

    deinit {
        for (buffer, count) in [(keys, Self.chunk), (pads0, Self.chunk), (pads1, Self.chunk), (scratch, 3 * Self.combineBlocks)] {
            SecureWipe.wipe(buffer, count: count)
            buffer.deallocate()
        }
        tweaks.deallocate()
        SecureWipe.wipe(choiceWords, count: Self.chunk / 64)
        choiceWords.deallocate()
    }

    /// The hash tag of silent OT instances whose sender is `sender`.
    static func tag(sender: Party) -> UInt64 { 0x534C_4E54_0000_0000 | (sender == .vendor ? 0 : 1) }

    /// Iterations the generator in each direction has run (0 until the direction is first used).
    var iterations: (asSender: Int, asReceiver: Int) { (cotSender?.iterations ?? 0, cotReceiver?.iterations ?? 0) }

    // MARK: - COTs with the receiver's choices

    private func senderGenerator() throws -> FerretCOTSender {
        if let cotSender { return cotSender }
        let generator = try FerretCOTSender.bootstrapping(from: iknp, schedule: schedule, secrets: secrets)
        cotSender = generator
        return generator
    }

    private func receiverGenerator() throws -> FerretCOTReceiver {
        if let cotReceiver { return cotReceiver }
        let generator = try FerretCOTReceiver.bootstrapping(from: iknp, schedule: schedule, secrets: secrets)
        cotReceiver = generator
        return generator
    }

    /// Receiver, `count` ≤ `chunk` instances. Steps: (1) the next COTs t_i into `keys` (choice
    /// r_i = low bit); (2) send d_i = b_i ⊕ r_i, `choice(i)` giving b_i in its low bit.
    private func receiverCOTs(count: Int, choice: (Int) -> UInt64) throws {
        try receiverGenerator().next(count: count, into: keys)
        let words = (count + 63) / 64
        choiceWords.update(repeating: 0, count: words)
        for i in 0..<count { choiceWords[i >> 6] |= ((keys[i].low ^ choice(i)) & 1) << UInt64(i & 63) }
        try channel.send(UnsafeRawBufferPointer(start: choiceWords, count: (count + 7) / 8))
        try channel.flush()
    }

    /// Sender, `count` ≤ `chunk` instances. Steps: (1) the next COTs q_i into `keys`;
    /// (2) receive the d_i and set keys[i] = q_i ⊕ d_i·Δ, the key of choice 0 (choice 1: ⊕ Δ).
    private func senderCOTs(count: Int) throws {
        try senderGenerator().next(count: count, into: keys)
        try channel.receive(into: UnsafeMutableRawBufferPointer(start: choiceWords, count: (count + 7) / 8))
        let delta = iknp.delta
        for i in 0..<count {
            let m = 0 &- ((choiceWords[i >> 6] >> UInt64(i & 63)) & 1)
            keys[i] = Block(low: keys[i].low ^ (delta.low & m), high: keys[i].high ^ (delta.high & m))
        }
    }

    /// Runs `body(start, n)` over chunks of `count` instances.
    private static func chunks(_ count: Int, size: Int = chunk, _ body: (Int, Int) throws -> Void) rethrows {
        var start = 0
        while start < count {
            let n = min(size, count - start)
            try body(start, n)
            start += n
        }
    }

    private static func checkBits(_ bits: Int) throws {
        guard (1...64).contains(bits) else { throw OTError.invalidArgument("message width \(bits) bits; must be 1…64") }
    }

    // MARK: - Random OT

    /// Random OT, sender: (m0_i, m1_i) = (H(k0_i, τ_i), H(k0_i ⊕ Δ, τ_i)) with k0_i = q_i ⊕ d_i·Δ.
    /// Steps per chunk: (1) COTs and the receiver's d (`senderCOTs`); (2) hash.
    public func randomSend(count: Int) throws -> (m0: [Block], m1: [Block]) {
        var m0 = [Block](repeating: .zero, count: count), m1 = [Block](repeating: .zero, count: count)
        try m0.withUnsafeMutableBufferPointer { out0 in
            try m1.withUnsafeMutableBufferPointer { out1 in
                try Self.chunks(count) { start, n in
                    try senderCOTs(count: n)
                    hash.hash(keys, count: n, tweakBase: sentTweak, tag: sendTag, into: out0.baseAddress! + start)
                    hash.hash(keys, xoring: iknp.delta, count: n, tweakBase: sentTweak, tag: sendTag, into: out1.baseAddress! + start)
                    sentTweak &+= UInt64(n)
                }
            }
        }
        return (m0, m1)
    }

    /// Random OT, receiver: m_{b_i} = H(t_i, τ_i).
    /// Steps per chunk: (1) COTs, send d (`receiverCOTs`); (2) hash.
    public func randomReceive(choices: [Bool]) throws -> [Block] {
        var result = [Block](repeating: .zero, count: choices.count)
        try Self.withChoiceBytes(choices) { c in
            try result.withUnsafeMutableBufferPointer { out in
                try Self.chunks(c.count) { start, n in
                    try receiverCOTs(count: n) { UInt64(c[start + $0]) }
                    hash.hash(keys, count: n, tweakBase: receivedTweak, tag: receiveTag, into: out.baseAddress! + start)
                    receivedTweak &+= UInt64(n)
                }
            }
        }
        return result
    }

    /// The choices as bytes 0/1 (a `Bool` is one byte holding 0 or 1).
    private static func withChoiceBytes<R>(_ choices: [Bool], _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try choices.withUnsafeBufferPointer { c in
            guard let base = c.baseAddress else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
            return try UnsafeRawPointer(base).withMemoryRebound(to: UInt8.self, capacity: c.count) {
                try body(UnsafeBufferPointer(start: $0, count: c.count))
            }
        }
    }

    // MARK: - Correlated OT

    /// Correlated OT over Z_2^bits, sender: returns x_i = the low `bits` bits of H(k0_i, τ_i); the
    /// receiver gets x_i + b_i·Δ_i. Steps: (1) per chunk: COTs and d, h0 = H(k0), h1 = H(k0 ⊕ Δ),
    /// append the correction x_i + Δ_i − h1_i mod 2^bits; (2) send all corrections at once.
    public func correlatedSend(deltas: [UInt64], bits: Int) throws -> [UInt64] {
        try Self.checkBits(bits)
        if deltas.isEmpty { return [] }
        var result = [UInt64](repeating: 0, count: deltas.count)
        var packed = [UInt64](repeating: 0, count: BitPacking.wordCount(deltas.count, bits: bits) + 1)
        let mask = BitPacking.mask(bits)
        try deltas.withUnsafeBufferPointer { deltas in
            try result.withUnsafeMutableBufferPointer { out in
                try packed.withUnsafeMutableBufferPointer { packed in
                    var packer = BitPacker(into: packed.baseAddress!, bits: bits)
                    // Step 1.
                    try Self.chunks(deltas.count) { start, n in
                        try senderCOTs(count: n)
                        hash.hash(keys, count: n, tweakBase: sentTweak, tag: sendTag, into: pads0)
                        hash.hash(keys, xoring: iknp.delta, count: n, tweakBase: sentTweak, tag: sendTag, into: pads1)
                        sentTweak &+= UInt64(n)
                        for i in 0..<n {
                            let x = pads0[i].low & mask
                            out[start + i] = x
                            packer.append(x &+ deltas[start + i] &- pads1[i].low)
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

    /// Correlated OT, receiver: y_i = H(t_i) + b_i·correction_i = x_i + b_i·Δ_i mod 2^bits.
    /// Steps: (1) per chunk: COTs, send d, keep H(t_i); (2) receive all corrections and add the
    /// ones where b_i = 1 (by a mask, no branch on b_i).
    public func correlatedReceive(choices: [Bool], bits: Int) throws -> [UInt64] {
        try Self.checkBits(bits)
        if choices.isEmpty { return [] }
        var result = [UInt64](repeating: 0, count: choices.count)
        var packed = [UInt64](repeating: 0, count: BitPacking.wordCount(choices.count, bits: bits) + 1)
        let mask = BitPacking.mask(bits)
        try Self.withChoiceBytes(choices) { c in
            try result.withUnsafeMutableBufferPointer { out in
                try packed.withUnsafeMutableBufferPointer { packed in
                    // Step 1.
                    try Self.chunks(c.count) { start, n in
                        try receiverCOTs(count: n) { UInt64(c[start + $0]) }
                        hash.hash(keys, count: n, tweakBase: receivedTweak, tag: receiveTag, into: pads0)
                        receivedTweak &+= UInt64(n)
                        for i in 0..<n { out[start + i] = pads0[i].low }
                    }
                    // Step 2.
                    try channel.receive(into: UnsafeMutableRawBufferPointer(start: packed.baseAddress!,
                                                                            count: BitPacking.byteCount(c.count, bits: bits)))
                    for i in 0..<c.count {
                        let d = BitPacking.extract(packed.baseAddress!, index: i, bits: bits)
                        out[i] = (out[i] &+ (d & (0 &- UInt64(c[i] & 1)))) & mask
                    }
                }
            }
        }
        return result
    }

    // MARK: - Random bit OT

    /// Random bit OT, sender: m0_i, m1_i = the low `width` bits of H(q_i, τ_i), H(q_i ⊕ Δ, τ_i),
    /// where q_i is the raw COT; the receiver's choice is its COT choice r_i, so no d bit is sent.
    /// Costs the COT only (about 0.45 bits); no message of its own.
    public func randomBitSend(count: Int, width: Int) throws -> (m0: [UInt64], m1: [UInt64]) {
        try checkPlaneWidth(width)
        let w = (count + 63) / 64
        var m0 = [UInt64](repeating: 0, count: w * width), m1 = m0
        try m0.withUnsafeMutableBufferPointer { out0 in
            try m1.withUnsafeMutableBufferPointer { out1 in
                try Self.chunks(count) { start, n in
                    try senderGenerator().next(count: n, into: keys)
                    hash.hash(keys, count: n, tweakBase: sentTweak, tag: sendTag, into: pads0)
                    hash.hash(keys, xoring: iknp.delta, count: n, tweakBase: sentTweak, tag: sendTag, into: pads1)
                    sentTweak &+= UInt64(n)
                    Self.scatterPlanes(pads0, count: n, start: start, width: width, planeWords: w, into: out0.baseAddress!)
                    Self.scatterPlanes(pads1, count: n, start: start, width: width, planeWords: w, into: out1.baseAddress!)
                }
            }
        }
        SecureWipe.wipe(keys, count: Self.chunk)
        return (m0, m1)
    }

    /// Random bit OT, receiver: c_i = r_i (the low bit of the raw COT t_i), m_{c_i} = the low
    /// `width` bits of H(t_i, τ_i).
    public func randomBitReceive(count: Int, width: Int) throws -> (choices: [UInt64], messages: [UInt64]) {
        try checkPlaneWidth(width)
        let w = (count + 63) / 64
        var choices = [UInt64](repeating: 0, count: w), messages = [UInt64](repeating: 0, count: w * width)
        try choices.withUnsafeMutableBufferPointer { c in
            try messages.withUnsafeMutableBufferPointer { m in
                try Self.chunks(count) { start, n in
                    try receiverGenerator().next(count: n, into: keys)
                    hash.hash(keys, count: n, tweakBase: receivedTweak, tag: receiveTag, into: pads0)
                    receivedTweak &+= UInt64(n)
                    Self.scatterPlanes(keys, count: n, start: start, width: 1, planeWords: w, into: c.baseAddress!)
                    Self.scatterPlanes(pads0, count: n, start: start, width: width, planeWords: w, into: m.baseAddress!)
                }
            }
        }
        SecureWipe.wipe(keys, count: Self.chunk)
        return (choices, messages)
    }

    /// ORs bit j of pads[i].low into bit start + i of plane j (planes of `planeWords` words);
    /// `start` is a multiple of 64 (chunks start at multiples of `chunk`), so every word is
    /// gathered in a register and stored once.
    private static func scatterPlanes(_ pads: UnsafePointer<Block>, count n: Int, start: Int, width: Int, planeWords: Int,
                                      into out: UnsafeMutablePointer<UInt64>) {
        for j in 0..<width {
            let plane = out + (j &* planeWords &+ (start >> 6)), shift = UInt64(j)
            var i = 0
            while i < n {
                let m = min(64, n &- i)
                var word: UInt64 = 0
                for b in 0..<m { word |= ((pads[i &+ b].low &>> shift) & 1) &<< UInt64(b) }
                plane[i >> 6] |= word
                i &+= 64
            }
        }
    }

    /// Ferret's main set: about 0.45 bits per COT (its tree messages and the bootstrap amortised).
    public var bitsPerRandomBitOT: Double { 0.45 }

    // MARK: - Chosen 1-of-2 OT

    /// Chosen 1-of-2 OT, sender: sends y0_i = m0_i ⊕ H(k0_i), y1_i = m1_i ⊕ H(k0_i ⊕ Δ), `bits`
    /// bits each, packed. Steps: (1) per chunk: COTs and d, hash both keys, append both;
    /// (2) send all pairs at once.
    public func chosenSend(m0: [UInt64], m1: [UInt64], bits: Int) throws {
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
                    try Self.chunks(m0.count) { start, n in
                        try senderCOTs(count: n)
                        hash.hash(keys, count: n, tweakBase: sentTweak, tag: sendTag, into: pads0)
                        hash.hash(keys, xoring: iknp.delta, count: n, tweakBase: sentTweak, tag: sendTag, into: pads1)
                        sentTweak &+= UInt64(n)
                        for i in 0..<n {
                            packer.append(m0[start + i] ^ pads0[i].low)
                            packer.append(m1[start + i] ^ pads1[i].low)
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

    /// Chosen 1-of-2 OT, receiver: m_{b_i} = y_{b_i, i} ⊕ H(t_i). Steps: (1) per chunk: COTs, send
    /// d, keep H(t_i); (2) receive all pairs and unmask the chosen one (both read, one kept by a
    /// mask).
    public func chosenReceive(choices: [Bool], bits: Int) throws -> [UInt64] {
        try Self.checkBits(bits)
        if choices.isEmpty { return [] }
        var result = [UInt64](repeating: 0, count: choices.count)
        var packed = [UInt64](repeating: 0, count: BitPacking.wordCount(2 * choices.count, bits: bits) + 1)
        let mask = BitPacking.mask(bits)
        try Self.withChoiceBytes(choices) { c in
            try result.withUnsafeMutableBufferPointer { out in
                try packed.withUnsafeMutableBufferPointer { packed in
                    // Step 1.
                    try Self.chunks(c.count) { start, n in
                        try receiverCOTs(count: n) { UInt64(c[start + $0]) }
                        hash.hash(keys, count: n, tweakBase: receivedTweak, tag: receiveTag, into: pads0)
                        receivedTweak &+= UInt64(n)
                        for i in 0..<n { out[start + i] = pads0[i].low }
                    }
                    // Step 2.
                    try channel.receive(into: UnsafeMutableRawBufferPointer(start: packed.baseAddress!,
                                                                            count: BitPacking.byteCount(2 * c.count, bits: bits)))
                    for i in 0..<c.count {
                        let y0 = BitPacking.extract(packed.baseAddress!, index: 2 * i, bits: bits)
                        let y1 = BitPacking.extract(packed.baseAddress!, index: 2 * i + 1, bits: bits)
                        let select = 0 &- UInt64(c[i] & 1)
                        out[i] = (y0 ^ ((y0 ^ y1) & select) ^ out[i]) & mask
                    }
                }
            }
        }
        return result
    }

    // MARK: - Chosen 1-of-N OT

    private static func check(n: Int, bits: Int) throws {
        guard n >= 2, n <= 256, n & (n - 1) == 0 else {
            throw OTError.invalidArgument("1-of-N OT with N = \(n); N must be a power of two in 2…256")
        }
        try checkBits(bits)
    }

    /// Chosen 1-of-N OT from L = log2 N random OTs per instance (Naor–Pinkas style, with a hash
    /// of the combined keys). Instance i uses COTs i·L + j (j < L) with derandomised keys
    /// K^j_0, K^j_1 = K^j_0 ⊕ Δ; the receiver, choosing c, holds K^j_{c_j} (c_j: bit j of c).
    /// The pad of value x is
    ///
    ///     z_1 = K^0_{x_0},  z_{j+1} = K^j_{x_j} ⊕ π(z_j) ⊕ z_j,  pad_x = H(z_L, τ_{i,x})
    ///
    /// with π a fixed-key AES permutation and τ_{i,x} unique. Why not pad_x = H(⊕_j K^j_{x_j}):
    /// that XOR is ⊕_j K^j_0 ⊕ (popcount(x) mod 2)·Δ, so every x with the parity of c would have
    /// the receiver's own pad and the receiver would read half of the messages (and any two pads
    /// of opposite parity would differ by exactly Δ). In the chain, from the first bit where x
    /// differs from c on, the input of π carries an unknown Δ, so every later value is a fresh
    /// random-permutation output; and if x differs from c only in its last bit, z_L differs by Δ,
    /// which H with its unique tweak hides (as in random OT).
    ///
    /// Sender steps: (1) per chunk: L COTs per instance and the receiver's d bits, keys K^j_0;
    /// (2) the pads of all N values (`senderPads`); (3) append m_{i,x} ⊕ pad_{i,x} (`bits` bits)
    /// to one table; (4) send the whole table (N·ℓ bits per instance) at once.
    public func chosenSend1ofN(messages: [UInt64], n: Int, bits: Int) throws {
        try Self.check(n: n, bits: bits)
        guard messages.count % n == 0 else {
            throw OTError.invalidArgument("1-of-\(n) OT with \(messages.count) messages, not a multiple of \(n)")
        }
        let count = messages.count / n
        if count == 0 { return }
        let levels = n.trailingZeroBitCount
        var table = [UInt64](repeating: 0, count: BitPacking.wordCount(count * n, bits: bits) + 1)
        try messages.withUnsafeBufferPointer { messages in
            try table.withUnsafeMutableBufferPointer { table in
                var packer = Self.tablePacker(into: table.baseAddress!, n: n, bits: bits)
                try Self.chunks(count, size: Self.chunk / levels) { start, m in
                    // Step 1.
                    try senderCOTs(count: m * levels)
                    // Steps 2–3.
                    senderPads(keys: keys, instances: m, n: n, bits: bits, tweakBase: sentTweak &+ UInt64(start * n), into: &packer) {
                        messages[start * n + $0]
                    }
                }
                packer.finish()
                // Step 4.
                try channel.send(UnsafeRawBufferPointer(start: table.baseAddress!, count: BitPacking.byteCount(count * n, bits: bits)))
                try channel.flush()
            }
        }
        sentTweak &+= UInt64(count * n)
    }

    /// Chosen 1-of-N OT, receiver. Steps: (1) per chunk: L COTs per instance with choices the bits
    /// of c_i, send d; (2) its pads (`receiverPads`); (3) receive the table and unmask entry c_i of
    /// each instance.
    public func chosenReceive1ofN(choices: [UInt8], n: Int, bits: Int) throws -> [UInt64] {
        try Self.check(n: n, bits: bits)
        guard choices.allSatisfy({ Int($0) < n }) else {
            throw OTError.invalidArgument("1-of-\(n) OT with a choice ≥ \(n)")
        }
        let count = choices.count
        if count == 0 { return [] }
        let levels = n.trailingZeroBitCount
        var result = [UInt64](repeating: 0, count: count)
        var table = [UInt64](repeating: 0, count: BitPacking.wordCount(count * n, bits: bits) + 1)
        try choices.withUnsafeBufferPointer { c in
            try result.withUnsafeMutableBufferPointer { out in
                // Steps 1–2.
                try Self.chunks(count, size: Self.chunk / levels) { start, m in
                    try receiverCOTs(count: m * levels) { e in UInt64(c[start + e / levels] >> UInt8(e % levels)) }
                    receiverPads(keys: keys, choices: c.baseAddress! + start, instances: m, n: n,
                                 tweakBase: receivedTweak &+ UInt64(start * n), into: out.baseAddress! + start)
                }
                // Step 3.
                try table.withUnsafeMutableBufferPointer { table in
                    try channel.receive(into: UnsafeMutableRawBufferPointer(start: table.baseAddress!,
                                                                            count: BitPacking.byteCount(count * n, bits: bits)))
                    Self.unmask(out.baseAddress!, table: table.baseAddress!, choices: c.baseAddress!, count: count, n: n, bits: bits)
                }
            }
        }
        receivedTweak &+= UInt64(count * n)
        return result
    }

    /// The packer of a 1-of-N table: one N·ℓ-bit value per instance when that fits a word (see
    /// `senderPads`), one ℓ-bit value per message otherwise; the bytes are the same.
    private static func tablePacker(into table: UnsafeMutablePointer<UInt64>, n: Int, bits: Int) -> BitPacker {
        BitPacker(into: table, bits: n * bits <= 64 ? n * bits : bits)
    }

    /// out[i] = (y_{i, c_i} ⊕ out[i]) mod 2^bits for the packed table y (value i·N + x).
    private static func unmask(_ out: UnsafeMutablePointer<UInt64>, table: UnsafePointer<UInt64>, choices: UnsafePointer<UInt8>,
                               count: Int, n: Int, bits: Int) {
        let mask = BitPacking.mask(bits)
        for i in 0..<count {
            let y = BitPacking.extract(table, index: i * n + Int(choices[i]), bits: bits)
            out[i] = (y ^ out[i]) & mask
        }
    }

    /// The sender's pads for `m` instances whose derandomised keys K^j_0 are at keys[i·L + j]:
    /// appends message(i·N + x) ⊕ pad_{i,x} (`bits` bits) for every i < m, x < N, in that order,
    /// to `packer` (from `tablePacker`; tweaks tweakBase + i·N + x). Breadth-first over the bits, in batches whose N values per
    /// instance fit the scratch buffers: N − 2 π calls per instance for the chain, N hashes.
    private func senderPads(keys: UnsafePointer<Block>, instances m: Int, n: Int, bits: Int, tweakBase: UInt64,
                            into packer: inout BitPacker, message: (Int) -> UInt64) {
        let levels = n.trailingZeroBitCount
        let delta = iknp.delta
        let current = scratch, next = scratch + Self.combineBlocks, permuted = scratch + 2 * Self.combineBlocks
        let perBatch = max(1, Self.combineBlocks / n)
        Self.chunks(m, size: perBatch) { first, b in
            var cur = current, nxt = next
            for i in 0..<b {
                let k0 = keys[(first + i) * levels]
                cur[2 * i] = k0
                cur[2 * i + 1] = k0 ^ delta
            }
            var width = 2
            for j in 1..<levels {
                combiner.encrypt(cur, permuted, count: b * width)
                for i in 0..<b {
                    let k0 = keys[(first + i) * levels + j], k1 = k0 ^ delta
                    let row = cur + i * width, p = permuted + i * width, out = nxt + 2 * i * width
                    for x in 0..<width {
                        let v = p[x] ^ row[x]
                        out[x] = k0 ^ v
                        out[x + width] = k1 ^ v
                    }
                }
                swap(&cur, &nxt)
                width *= 2
            }
            hash.hash(cur, count: b * n, tweakBase: tweakBase &+ UInt64(first * n), tag: sendTag, into: cur)
            let base = first * n
            if packer.bits == n * bits {
                // An instance's N values fit one word: gathered and appended at once (the same
                // bit layout, 1/N of the packer's work).
                let mask = BitPacking.mask(bits)
                var e = 0
                for _ in 0..<b {
                    var word: UInt64 = 0, shift: UInt64 = 0
                    for x in 0..<n {
                        word |= ((message(base &+ e &+ x) ^ cur[e &+ x].low) & mask) &<< shift
                        shift &+= UInt64(bits)
                    }
                    packer.append(word)
                    e &+= n
                }
            } else {
                for e in 0..<(b * n) { packer.append(message(base + e) ^ cur[e].low) }
            }
        }
        SecureWipe.wipe(scratch, count: 3 * Self.combineBlocks)
    }

    /// The receiver's pads for `m` instances whose keys t_{i,j} = K^j_{c_j} are at keys[i·L + j]:
    /// out[i] = low 64 bits of H(z_L, tweakBase + i·N + c_i), the chain run with its own keys
    /// (L − 1 π calls per instance), in batches of `chunk`.
    private func receiverPads(keys: UnsafePointer<Block>, choices: UnsafePointer<UInt8>, instances m: Int, n: Int, tweakBase: UInt64,
                              into out: UnsafeMutablePointer<UInt64>) {
        let levels = n.trailingZeroBitCount
        let z = pads0, permuted = pads1
        Self.chunks(m) { first, b in
            for i in 0..<b { z[i] = keys[(first + i) * levels] }
            for j in 1..<levels {
                combiner.encrypt(z, permuted, count: b)
                for i in 0..<b { z[i] = keys[(first + i) * levels + j] ^ permuted[i] ^ z[i] }
            }
            for i in 0..<b { tweaks[i] = tweakBase &+ UInt64((first + i) * n + Int(choices[first + i])) }
            hash.hash(z, tweaks: tweaks, tag: receiveTag, count: b, into: z)
            for i in 0..<b { out[first + i] = z[i].low }
        }
    }

    // MARK: - Both directions at once

    /// Instances per direction and round of `chosenExchange1ofN`; nil: 2^24 / N (keys and tables
    /// of a round stay in memory: for the millionaire's N = 8, 2^21 instances, 96 MiB of keys each
    /// way). Each round costs two round trips, so this bounds the rounds of a large ReLU layer:
    /// at 2^22 / N, DenseNet-121's nonlinear phase took 2,265 rounds, at 2^24 / N 1,894, with the
    /// same peak memory (4.1 GB for both parties, `bench model`). Tests set small values to run
    /// several rounds.
    var exchangeRoundInstances: Int?

    /// Two 1-of-N batches in opposite directions, both parties doing their sender work at the same
    /// time. Steps per round (up to `exchangeRoundInstances` instances each way):
    /// 1. COTs, the vendor's direction first: the vendor draws its sender COTs (sending tree
    ///    messages if an iteration starts) while the hospital draws the matching receiver COTs,
    ///    then the other way;
    /// 2. swap the d bits (the vendor sends first);
    /// 3. each party derandomises its sender keys with the peer's d bits and computes its masked
    ///    table (`senderPads`), and its receiver pads (`receiverPads`);
    /// 4. swap the tables (the vendor sends first); 5. unmask.
    /// Two round trips per round; each stream carries, in order, tree messages, d bits, table,
    /// which is also the order in which the peer reads them.
    public func chosenExchange1ofN(packedMessages: [UInt64], sendCount: Int, choices: [UInt8], n: Int, bits: Int,
                                   party: Party) throws -> [UInt64] {
        guard party == self.party else { throw OTError.invalidArgument("chosenExchange1ofN called for \(party) on the \(self.party)'s engine") }
        try Self.check(n: n, bits: bits)
        guard packedMessages.count * 64 >= sendCount * n * bits else {
            throw OTError.invalidArgument("1-of-\(n) OT of \(sendCount) instances with only \(packedMessages.count) packed words")
        }
        guard choices.allSatisfy({ Int($0) < n }) else { throw OTError.invalidArgument("1-of-\(n) OT with a choice ≥ \(n)") }
        let receiveCount = choices.count
        if sendCount == 0 && receiveCount == 0 { return [] }
        let levels = n.trailingZeroBitCount
        let limit = max(1, exchangeRoundInstances ?? (1 << 24) / n)
        let sendRound = min(sendCount, limit), receiveRound = min(receiveCount, limit)
        func kept(_ buffer: inout BlockBuffer?, _ count: Int) -> UnsafeMutableBufferPointer<Block> {
            if (buffer?.count ?? -1) < count { buffer = nil; buffer = BlockBuffer(count: count) }
            return UnsafeMutableBufferPointer(start: buffer!.pointer, count: count)
        }
        let sk = kept(&exchangeSendKeys, sendRound * levels), rk = kept(&exchangeReceiveKeys, receiveRound * levels)
        var myBits = [UInt64](repeating: 0, count: (receiveRound * levels + 63) / 64 + 1)
        var peerBits = [UInt64](repeating: 0, count: (sendRound * levels + 63) / 64 + 1)
        var myTable = [UInt64](repeating: 0, count: BitPacking.wordCount(sendRound * n, bits: bits) + 1)
        var theirTable = [UInt64](repeating: 0, count: BitPacking.wordCount(receiveRound * n, bits: bits) + 1)
        var result = [UInt64](repeating: 0, count: receiveCount)
        defer {
            SecureWipe.wipe(sk)
            SecureWipe.wipe(rk)
        }
        let speaksFirst = party == .vendor
        func swapBytes(_ outgoing: UnsafeRawPointer, _ outCount: Int, _ incoming: UnsafeMutableRawPointer, _ inCount: Int) throws {
            func send() throws { if outCount > 0 { try channel.send(UnsafeRawBufferPointer(start: outgoing, count: outCount)); try channel.flush() } }
            func receive() throws { if inCount > 0 { try channel.receive(into: UnsafeMutableRawBufferPointer(start: incoming, count: inCount)) } }
            if speaksFirst { try send(); try receive() } else { try receive(); try send() }
        }
        try packedMessages.withUnsafeBufferPointer { messages in
            try choices.withUnsafeBufferPointer { c in
                try result.withUnsafeMutableBufferPointer { out in
                    try myBits.withUnsafeMutableBufferPointer { mine in
                        try peerBits.withUnsafeMutableBufferPointer { theirs in
                            try myTable.withUnsafeMutableBufferPointer { myT in
                                try theirTable.withUnsafeMutableBufferPointer { theirT in
                                    var sent = 0, received = 0
                                    repeat {
                                        let s = min(limit, sendCount - sent), r = min(limit, receiveCount - received)
                                        // Step 1.
                                        for direction in [Party.vendor, .hospital] {
                                            if direction == party {
                                                if s > 0 { try senderGenerator().next(count: s * levels, into: sk.baseAddress!) }
                                            } else if r > 0 {
                                                try receiverGenerator().next(count: r * levels, into: rk.baseAddress!)
                                            }
                                        }
                                        // Step 2.
                                        let cr = c.baseAddress! + received
                                        let dCount = r * levels
                                        mine.update(repeating: 0)
                                        for e in 0..<dCount {
                                            let b = UInt64(cr[e / levels] >> UInt8(e % levels))
                                            mine[e >> 6] |= ((rk[e].low ^ b) & 1) << UInt64(e & 63)
                                        }
                                        try swapBytes(mine.baseAddress!, (dCount + 7) / 8, theirs.baseAddress!, (s * levels + 7) / 8)
                                        // Step 3.
                                        let delta = iknp.delta
                                        for e in 0..<(s * levels) {
                                            let m = 0 &- ((theirs[e >> 6] >> UInt64(e & 63)) & 1)
                                            sk[e] = Block(low: sk[e].low ^ (delta.low & m), high: sk[e].high ^ (delta.high & m))
                                        }
                                        var packer = Self.tablePacker(into: myT.baseAddress!, n: n, bits: bits)
                                        let firstValue = sent * n
                                        senderPads(keys: sk.baseAddress!, instances: s, n: n, bits: bits,
                                                   tweakBase: sentTweak &+ UInt64(firstValue), into: &packer) {
                                            BitPacking.extract(messages.baseAddress!, index: firstValue + $0, bits: bits)
                                        }
                                        packer.finish()
                                        receiverPads(keys: rk.baseAddress!, choices: cr, instances: r, n: n,
                                                     tweakBase: receivedTweak &+ UInt64(received * n), into: out.baseAddress! + received)
                                        // Step 4.
                                        try swapBytes(myT.baseAddress!, BitPacking.byteCount(s * n, bits: bits),
                                                      theirT.baseAddress!, BitPacking.byteCount(r * n, bits: bits))
                                        // Step 5.
                                        Self.unmask(out.baseAddress! + received, table: theirT.baseAddress!, choices: cr, count: r, n: n, bits: bits)
                                        sent += s
                                        received += r
                                    } while sent < sendCount || received < receiveCount
                                }
                            }
                        }
                    }
                }
            }
        }
        sentTweak &+= UInt64(sendCount * n)
        receivedTweak &+= UInt64(receiveCount * n)
        return result
    }
}

import CryptoPrimitives
import Transport

/// Ferret silent random correlated OT with a global Δ (Yang, Weng, Lan, Zhang, Wang, CCS 2020),
/// semi-honest, one direction: the *sender* holds Δ (low bit set) and gets blocks q_i with low bit
/// clear; the *receiver* gets t_i = q_i ⊕ r_i·Δ, whose low bit is its random choice bit r_i.
///
/// Each iteration turns `reserve` = k + t·h earlier COTs into n new ones (`FerretParameters`):
/// 1. the h·t level COTs drive t GGM single-point COTs (`MultiPointCOT`): sender v, receiver
///    w = v ⊕ e·Δ with a regular noise vector e (one 1 per bin of 2^h);
/// 2. the k others are the LPN secret (sender u, receiver u ⊕ r·Δ), encoded with the public local
///    code A (`LPNEncoder`): the sender's outputs are A·u ⊕ v, the receiver's A·(u ⊕ r·Δ) ⊕ w, so
///    the choice bits are A·r ⊕ e — pseudo-random under LPN with regular noise;
/// 3. the first `main.reserve` outputs are kept as the next iteration's input, the rest handed
///    out in order. No COT is ever used twice.
///
/// The very first iteration runs the smaller bootstrap set on COTs from IKNP (`bootstrapping`).
/// Communication: sender → receiver only, t·(2h + 1) blocks per iteration (main set: 0.45 bits
/// per handed-out COT), streamed, no round trip; plus the two public LPN seeds once.
/// Memory: n blocks of output and `reserve` of input per generator (170 MB + 9.7 MB for the main
/// set). Not thread-safe; the two parties' calls must match in count (not in size per call).
package final class FerretCOTSender {
    let schedule: FerretSchedule
    /// The party running this generator: its LPN steps take `LPNTurn` of that party.
    let party: Party
    private let mpcot: MultiPointCOT.Sender
    private let bootstrapEncoder: LPNEncoder
    private let mainEncoder: LPNEncoder
    private var delta: Block
    private let outputBuffer: BlockBuffer
    private let baseBuffer: BlockBuffer
    private var output: UnsafeMutablePointer<Block> { outputBuffer.pointer }
    private var base: UnsafeMutablePointer<Block> { baseBuffer.pointer }
    private var position = 0
    private var limit = 0
    /// Iterations run so far (0: the bootstrap is next).
    private(set) var iterations = 0
    /// Level COTs consumed so far: the next hash tweak.
    private var tweak: UInt64 = 0

    /// Steps: (1) draw the two public LPN matrix seeds (bootstrap, main) and send them; (2) take
    /// the `schedule.baseCOTs` base COTs `q` (low bits clear; Δ's low bit set).
    init(channel: Channel, hash: CorrelationRobustHash, tag: UInt64, delta: Block, baseCOTs q: UnsafePointer<Block>,
         schedule: FerretSchedule, secrets: SecretRandomness, party: Party) throws {
        precondition(delta.low & 1 == 1, "Ferret needs Δ with its low bit set")
        self.schedule = schedule
        self.party = party
        self.delta = delta
        // Step 1: the matrix is public; the sender picks it (semi-honest) and tells the receiver.
        let seeds = [secrets.block(), secrets.block()]
        try channel.send(seeds)
        try channel.flush()
        bootstrapEncoder = LPNEncoder(parameters: schedule.bootstrap, seed: seeds[0])
        mainEncoder = LPNEncoder(parameters: schedule.main, seed: seeds[1])
        mpcot = MultiPointCOT.Sender(channel: channel, hash: hash, tag: tag, secrets: secrets)
        // Step 2.
        outputBuffer = BlockBuffer(count: max(schedule.bootstrap.n, schedule.main.n))
        baseBuffer = BlockBuffer(count: max(schedule.bootstrap.reserve, schedule.main.reserve))
        base.update(from: q, count: schedule.baseCOTs)
    }

    deinit { SecureWipe.wipe(&delta) }   // the buffers wipe themselves

    /// Writes the next `count` COT blocks q_i to `out`, running iterations as needed.
    package func next(count: Int, into out: UnsafeMutablePointer<Block>) throws {
        var done = 0
        while done < count {
            if position == limit { try iterate() }
            let n = min(count - done, limit - position)
            (out + done).update(from: output + position, count: n)
            position += n
            done += n
        }
    }

    /// The next `count` COT blocks q_i.
    package func next(count: Int) throws -> [Block] {
        var result = [Block](repeating: .zero, count: count)
        try result.withUnsafeMutableBufferPointer { try next(count: count, into: $0.baseAddress!) }
        return result
    }

    /// One iteration (steps 1–3 of the type's comment).
    private func iterate() throws {
        let p = iterations == 0 ? schedule.bootstrap : schedule.main
        // Step 1.
        try mpcot.run(p, delta: delta, levelCOTs: base + p.k, tweakBase: tweak, into: output)
        tweak &+= UInt64(p.t * p.treeDepth)
        // Step 2.
        LPNTurn.taking(party) { (iterations == 0 ? bootstrapEncoder : mainEncoder).encode(u: base, into: output) }
        // Step 3.
        base.update(from: output, count: schedule.main.reserve)
        position = schedule.main.reserve
        limit = p.n
        iterations += 1
    }
}

/// The receiver's half of `FerretCOTSender` (see there): blocks t_i = q_i ⊕ r_i·Δ whose low bit
/// is the random choice bit r_i. The receiver sends nothing.
package final class FerretCOTReceiver {
    let schedule: FerretSchedule
    let party: Party
    private let mpcot: MultiPointCOT.Receiver
    private let bootstrapEncoder: LPNEncoder
    private let mainEncoder: LPNEncoder
    private let outputBuffer: BlockBuffer
    private let baseBuffer: BlockBuffer
    private var output: UnsafeMutablePointer<Block> { outputBuffer.pointer }
    private var base: UnsafeMutablePointer<Block> { baseBuffer.pointer }
    private var position = 0
    private var limit = 0
    private(set) var iterations = 0
    private var tweak: UInt64 = 0

    /// Steps: (1) receive the two public LPN matrix seeds; (2) take the base COTs `t` (low bit =
    /// choice bit).
    init(channel: Channel, hash: CorrelationRobustHash, tag: UInt64, baseCOTs t: UnsafePointer<Block>,
         schedule: FerretSchedule, party: Party) throws {
        self.schedule = schedule
        self.party = party
        // Step 1.
        let seeds: [Block] = try channel.receive(count: 2)
        bootstrapEncoder = LPNEncoder(parameters: schedule.bootstrap, seed: seeds[0])
        mainEncoder = LPNEncoder(parameters: schedule.main, seed: seeds[1])
        mpcot = MultiPointCOT.Receiver(channel: channel, hash: hash, tag: tag)
        // Step 2.
        outputBuffer = BlockBuffer(count: max(schedule.bootstrap.n, schedule.main.n))
        baseBuffer = BlockBuffer(count: max(schedule.bootstrap.reserve, schedule.main.reserve))
        base.update(from: t, count: schedule.baseCOTs)
    }

    /// Writes the next `count` COT blocks t_i (choice bit r_i = low bit) to `out`.
    package func next(count: Int, into out: UnsafeMutablePointer<Block>) throws {
        var done = 0
        while done < count {
            if position == limit { try iterate() }
            let n = min(count - done, limit - position)
            (out + done).update(from: output + position, count: n)
            position += n
            done += n
        }
    }

    /// The next `count` COTs: choice bits r_i and blocks t_i (whose low bit is r_i).
    package func next(count: Int) throws -> (choices: [Bool], blocks: [Block]) {
        var blocks = [Block](repeating: .zero, count: count)
        try blocks.withUnsafeMutableBufferPointer { try next(count: count, into: $0.baseAddress!) }
        return (blocks.map { $0.low & 1 == 1 }, blocks)
    }

    private func iterate() throws {
        let p = iterations == 0 ? schedule.bootstrap : schedule.main
        try mpcot.run(p, levelCOTs: base + p.k, tweakBase: tweak, into: output)
        tweak &+= UInt64(p.t * p.treeDepth)
        LPNTurn.taking(party) { (iterations == 0 ? bootstrapEncoder : mainEncoder).encode(u: base, into: output) }
        base.update(from: output, count: schedule.main.reserve)
        position = schedule.main.reserve
        limit = p.n
        iterations += 1
    }
}

// MARK: - Bootstrapping from IKNP

extension FerretCOTSender {
    /// The hash tag of Ferret's level COTs whose sender is `sender`.
    static func tag(sender: Party) -> UInt64 { 0x4645_5252_0000_0000 | (sender == .vendor ? 0 : 1) }

    /// A generator in the direction where `iknp`'s party is the COT sender. Steps: (1) take
    /// `schedule.baseCOTs` IKNP rows q_i (random COTs under the IKNP Δ, which must have its low
    /// bit set: `IKNPExtension.establish(…, deltaLowBitSet: true)`) and clear their low bits —
    /// the receiver sets its low bits to its choices, which keeps t_i = q_i ⊕ b_i·Δ; (2) the
    /// generator's own set-up (the LPN seeds).
    package static func bootstrapping(from iknp: IKNPExtension, schedule: FerretSchedule, secrets: SecretRandomness) throws -> FerretCOTSender {
        // Step 1.
        var q = try iknp.correlationsSend(count: schedule.baseCOTs)
        defer { q.withUnsafeMutableBufferPointer { SecureWipe.wipe($0) } }
        for i in q.indices { q[i].low &= ~1 }
        // Step 2.
        return try q.withUnsafeBufferPointer {
            try FerretCOTSender(channel: iknp.channel, hash: iknp.hash, tag: tag(sender: iknp.party), delta: iknp.delta,
                                baseCOTs: $0.baseAddress!, schedule: schedule, secrets: secrets, party: iknp.party)
        }
    }
}

extension FerretCOTReceiver {
    /// The generator in the direction where `iknp`'s party is the COT receiver. Steps: (1) draw
    /// random choices b_i, run IKNP with them and set each row's low bit to b_i; (2) the
    /// generator's own set-up (receives the LPN seeds).
    package static func bootstrapping(from iknp: IKNPExtension, schedule: FerretSchedule, secrets: SecretRandomness) throws -> FerretCOTReceiver {
        // Step 1.
        let count = schedule.baseCOTs
        let words = secrets.words((count + 63) / 64)
        let choices = (0..<count).map { (words[$0 >> 6] >> UInt64($0 & 63)) & 1 == 1 }
        var t = try iknp.correlationsReceive(choices: choices)
        defer { t.withUnsafeMutableBufferPointer { SecureWipe.wipe($0) } }
        for i in t.indices { t[i].low = (t[i].low & ~1) | ((words[i >> 6] >> UInt64(i & 63)) & 1) }
        // Step 2.
        return try t.withUnsafeBufferPointer {
            try FerretCOTReceiver(channel: iknp.channel, hash: iknp.hash, tag: FerretCOTSender.tag(sender: iknp.party.peer),
                                  baseCOTs: $0.baseAddress!, schedule: schedule, party: iknp.party)
        }
    }
}

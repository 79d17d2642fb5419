import CryptoPrimitives
import Foundation
import Testing
import Transport
@testable import OT

/// Both Ferret generators of one party (it is the COT sender in one direction and the receiver
/// in the other) on one channel, bootstrapped from a seeded IKNP with Δ's low bit set.
struct FerretEnds {
    let delta: Block
    let sender: FerretCOTSender
    let receiver: FerretCOTReceiver

    /// Set-up order (both parties): IKNP, then the vendor→hospital generator, then the other.
    init(_ channel: Channel, _ party: Party, schedule: FerretSchedule, seed: UInt64) throws {
        let secrets = SecretRandomness.insecureSeeded(AESPRG(seed: Block(low: seed, high: party == .vendor ? 1 : 2)))
        let iknp = try IKNPExtension.establish(channel: channel, party: party, secrets: secrets, deltaLowBitSet: true)
        delta = iknp.delta
        var s: FerretCOTSender?, r: FerretCOTReceiver?
        for direction in [Party.vendor, Party.hospital] {
            if direction == party { s = try .bootstrapping(from: iknp, schedule: schedule, secrets: secrets) }
            else { r = try .bootstrapping(from: iknp, schedule: schedule, secrets: secrets) }
        }
        sender = s!
        receiver = r!
    }
}

/// Random blocks for local tests (not secrets).
private func blocks(_ count: Int, seed: UInt64) -> [Block] { AESPRG(seed: Block(low: seed, high: 0xfe77)).blocks(count) }

@Suite struct FerretTests {
    // MARK: - GGM single-point COT (local)

    @Test(arguments: [1, 3, 9])
    func ggmReceiverGetsEveryLeafButAlpha(depth: Int) throws {
        let tree = try GGMTree(depth: depth)
        let leaves = UnsafeMutablePointer<Block>.allocate(capacity: 1 << depth)
        let rebuilt = UnsafeMutablePointer<Block>.allocate(capacity: 1 << depth)
        let sums = UnsafeMutablePointer<Block>.allocate(capacity: 2 * depth)
        defer { leaves.deallocate(); rebuilt.deallocate(); sums.deallocate() }
        let choiceWords = AESPRG(seed: Block(low: UInt64(depth), high: 5)).words(8)
        for trial in 0..<8 {
            tree.expand(root: blocks(1, seed: UInt64(100 * depth + trial))[0], into: leaves, sums: sums)
            let c = (0..<depth).map { (choiceWords[trial] >> UInt64($0)) & 1 }
            // The receiver learns K^ℓ_{c_ℓ} only.
            let known = (0..<depth).map { sums[2 * $0 + Int(c[$0])] }
            let alpha = known.withUnsafeBufferPointer { tree.reconstruct(known: $0.baseAddress!, choice: { c[$0] }, into: rebuilt) }
            let expectedAlpha = (0..<depth).reduce(0) { $0 * 2 + Int(1 - c[$1]) }
            #expect(alpha == expectedAlpha)
            #expect(rebuilt[alpha] == .zero)
            #expect((0..<(1 << depth)).allSatisfy { $0 == alpha || rebuilt[$0] == leaves[$0] })
            // The sums are the XORs of the even and odd leaves at the last level.
            var even = Block.zero, odd = Block.zero
            for i in 0..<(1 << depth) { if i % 2 == 0 { even ^= leaves[i] } else { odd ^= leaves[i] } }
            #expect(sums[2 * (depth - 1)] == even && sums[2 * (depth - 1) + 1] == odd)
            // Leaves are distinct (a broken PRG, e.g. one key for both halves, would repeat).
            #expect(Set((0..<(1 << depth)).map { leaves[$0] }).count == 1 << depth)
        }
    }

    /// A wrong K (the other side's sum) gives wrong leaves: the reconstruction really uses it.
    @Test func ggmWrongSumsGiveWrongLeaves() throws {
        let depth = 5
        let tree = try GGMTree(depth: depth)
        var leaves = [Block](repeating: .zero, count: 32), rebuilt = leaves, sums = [Block](repeating: .zero, count: 10)
        leaves.withUnsafeMutableBufferPointer { l in sums.withUnsafeMutableBufferPointer { tree.expand(root: Block(low: 7, high: 9), into: l.baseAddress!, sums: $0.baseAddress!) } }
        let wrong = (0..<depth).map { sums[2 * $0 + 1] }        // c = 0 claimed, K_1 given
        let alpha = wrong.withUnsafeBufferPointer { w in
            rebuilt.withUnsafeMutableBufferPointer { tree.reconstruct(known: w.baseAddress!, choice: { _ in 0 }, into: $0.baseAddress!) }
        }
        #expect((0..<32).filter { $0 != alpha && rebuilt[$0] != leaves[$0] }.count > 0)
    }

    // MARK: - Multi-point COT over a channel

    @Test func multiPointCOTPuncturesOnePositionPerBin() throws {
        let parameters = FerretParameters.insecureTestBootstrap       // t = 8 bins of 2^7
        let h = parameters.treeDepth, t = parameters.t
        let raw = blocks(1, seed: 1)[0]
        let delta = Block(low: raw.low | 1, high: raw.high)
        let q = blocks(t * h, seed: 2).map { Block(low: $0.low & ~1, high: $0.high) }
        let r = AESPRG(seed: Block(low: 3, high: 3)).words(t * h).map { $0 & 1 }
        let tr = (0..<(t * h)).map { q[$0] ^ (r[$0] == 1 ? delta : .zero) }
        let hashTag = FerretCOTSender.tag(sender: .vendor)
        let (v, (w, alphas)) = try runTwoParties(
            vendor: { channel -> [Block] in
                let sender = MultiPointCOT.Sender(channel: channel, hash: try CorrelationRobustHash(), tag: hashTag,
                                                  secrets: .insecureSeeded(AESPRG(seed: Block(low: 4, high: 4))))
                var out = [Block](repeating: .zero, count: parameters.n)
                try q.withUnsafeBufferPointer { qq in
                    try out.withUnsafeMutableBufferPointer {
                        try sender.run(parameters, delta: delta, levelCOTs: qq.baseAddress!, tweakBase: 77, into: $0.baseAddress!)
                    }
                }
                return out
            },
            hospital: { channel -> ([Block], [Int]) in
                let receiver = MultiPointCOT.Receiver(channel: channel, hash: try CorrelationRobustHash(), tag: hashTag)
                var out = [Block](repeating: .zero, count: parameters.n), positions = [Int](repeating: -1, count: t)
                try tr.withUnsafeBufferPointer { rr in
                    try out.withUnsafeMutableBufferPointer { o in
                        try positions.withUnsafeMutableBufferPointer {
                            try receiver.run(parameters, levelCOTs: rr.baseAddress!, tweakBase: 77, into: o.baseAddress!, positions: $0.baseAddress!)
                        }
                    }
                }
                return (out, positions)
            })
        for b in 0..<t {
            let expectedAlpha = (0..<h).reduce(0) { $0 * 2 + Int(1 - r[b * h + $1]) }
            #expect(alphas[b] == expectedAlpha)
            for i in 0..<parameters.binSize {
                let k = b * parameters.binSize + i
                #expect(v[k].low & 1 == 0)
                #expect(w[k] == (i == alphas[b] ? v[k] ^ delta : v[k]))
            }
        }
        #expect(Set(v).count == parameters.n)
    }

    // MARK: - LPN encoder

    /// Against a naive reference written from the specification: row i XORs u at the columns
    /// ⌊w·k / 2^32⌋ of the stream's 32-bit words 10i…10i + 9.
    @Test func lpnEncoderMatchesNaiveReference() throws {
        let parameters = FerretParameters.insecureTestMain
        let seed = Block(low: 0x5eed, high: 1)
        let u = blocks(parameters.k, seed: 10), start = blocks(parameters.n, seed: 11)
        var out = start
        let encoder = LPNEncoder(parameters: parameters, seed: seed)
        u.withUnsafeBufferPointer { uu in out.withUnsafeMutableBufferPointer { encoder.encode(u: uu.baseAddress!, into: $0.baseAddress!) } }

        let stream = AESPRG(seed: seed).words(parameters.n * 10 / 2)    // 64-bit words: two 32-bit words each
        var reference = start
        var distinct = Set<Int>()
        for i in 0..<parameters.n {
            for j in 0..<10 {
                let position = 10 * i + j
                let word = UInt32(truncatingIfNeeded: stream[position / 2] >> UInt64(32 * (position % 2)))
                let column = Int((UInt64(word) * UInt64(parameters.k)) >> 32)
                distinct.insert(column)
                reference[i] ^= u[column]
            }
        }
        #expect(out == reference)
        #expect(encoder.columns().count == parameters.n * 10)
        // The code touches (nearly) every column: 40,960 draws over 512 columns.
        #expect(distinct.count == parameters.k)
        // And it is linear: encoding u ⊕ u' is the XOR of the two encodings.
        let u2 = blocks(parameters.k, seed: 12)
        func encode(_ u: [Block]) -> [Block] {
            var o = [Block](repeating: .zero, count: parameters.n)
            u.withUnsafeBufferPointer { uu in o.withUnsafeMutableBufferPointer { encoder.encode(u: uu.baseAddress!, into: $0.baseAddress!) } }
            return o
        }
        let sum = zip(u, u2).map { $0 ^ $1 }
        #expect(encode(sum) == zip(encode(u), encode(u2)).map { $0 ^ $1 })
    }

    // MARK: - The generator

    /// Checks t_i = q_i ⊕ r_i·Δ with r_i = the low bit of t_i, q_i's low bit clear, distinct q_i,
    /// and choice bits that are not degenerate.
    static func checkCOTs(q: [Block], t: [Block], delta: Block) {
        #expect(delta.low & 1 == 1)
        #expect(q.count == t.count)
        #expect(q.allSatisfy { $0.low & 1 == 0 })
        #expect((0..<q.count).allSatisfy { t[$0] == (t[$0].low & 1 == 1 ? q[$0] ^ delta : q[$0]) })
        #expect(Set(q).count == q.count)
        let ones = t.reduce(0) { $0 + Int($1.low & 1) }
        // Balanced within 5 standard deviations (√N / 2 each).
        #expect(abs(Double(ones) - Double(t.count) / 2) < 2.5 * Double(t.count).squareRoot(), "\(ones) ones in \(t.count)")
    }

    /// Bootstrap plus three main iterations at the insecure test sizes, in uneven requests, in
    /// both directions on one channel (each party sender of one generator, receiver of the other).
    @Test func cotsHoldAcrossIterationsInBothDirections() throws {
        let schedule = FerretSchedule.insecureTest
        let total = (schedule.bootstrap.n - schedule.main.reserve) + 3 * schedule.outputPerIteration + 17
        let requests = [1, 500, 3000, total - 3501]
        struct View: Sendable { var delta: Block, q: [Block], t: [Block], senderIterations: Int }
        let (v, h) = try runTwoParties(
            vendor: { channel -> View in
                let ends = try FerretEnds(channel, .vendor, schedule: schedule, seed: 1)
                var q: [Block] = [], t: [Block] = []
                for n in requests {
                    q += try ends.sender.next(count: n)                    // vendor → hospital
                    t += try ends.receiver.next(count: n).blocks           // hospital → vendor
                }
                return View(delta: ends.delta, q: q, t: t, senderIterations: ends.sender.iterations)
            },
            hospital: { channel -> View in
                let ends = try FerretEnds(channel, .hospital, schedule: schedule, seed: 2)
                var q: [Block] = [], t: [Block] = []
                for n in requests {
                    let got = try ends.receiver.next(count: n)
                    #expect(got.choices == got.blocks.map { $0.low & 1 == 1 })
                    t += got.blocks
                    q += try ends.sender.next(count: n)
                }
                return View(delta: ends.delta, q: q, t: t, senderIterations: ends.sender.iterations)
            })
        #expect(v.senderIterations == 5 && h.senderIterations == 5)     // the last 17 need a fifth
        Self.checkCOTs(q: v.q, t: h.t, delta: v.delta)
        Self.checkCOTs(q: h.q, t: v.t, delta: h.delta)
        #expect(v.delta != h.delta)
        #expect(Set(v.q).isDisjoint(with: Set(h.q)))
    }

    /// The real sets: the bootstrap (n = 649,728 from 47,709 IKNP COTs) and the first main
    /// iteration (n = 10,608,640).
    @Test func standardParameters() throws {
        let schedule = FerretSchedule.standard
        #expect(schedule.main.reserve == 606_659 && schedule.outputPerIteration == 10_001_981 && schedule.baseCOTs == 47_709)
        let count = schedule.bootstrap.n - schedule.main.reserve + 1_000_000
        let (v, h) = try runTwoParties(
            timeout: 300,
            vendor: { channel -> (Block, [Block], Int) in
                let ends = try FerretEnds(channel, .vendor, schedule: schedule, seed: 3)
                let before = channel.statistics.bytesSent
                let q = try ends.sender.next(count: count)
                return (ends.delta, q, channel.statistics.bytesSent - before)
            },
            hospital: { channel in
                let ends = try FerretEnds(channel, .hospital, schedule: schedule, seed: 4)
                return try ends.receiver.next(count: count).blocks
            })
        Self.checkCOTs(q: v.1, t: h, delta: v.0)
        // Each iteration sends t·(2h + 1) blocks and nothing else.
        let perIteration = { (p: FerretParameters) in p.t * (2 * p.treeDepth + 1) * 16 }
        #expect(v.2 == perIteration(schedule.bootstrap) + perIteration(schedule.main))
    }

    // MARK: - Failures

    /// The sender hangs up after set-up, before the first iteration's tree messages: the
    /// receiver's `next` fails with the channel's error (no crash, no hang).
    @Test func receiverFailsWhenTheSenderCloses() throws {
        let start = Date()
        #expect(throws: TransportError.peerClosed(expected: FerretParameters.insecureTestBootstrap.t * MultiPointCOT.blocksPerTree(depth: 7) * 16, received: 0)) {
            _ = try runTwoParties(
                timeout: 20,
                vendor: { channel in
                    _ = try FerretEnds(channel, .vendor, schedule: .insecureTest, seed: 5)
                    let _: [UInt8] = try channel.receive(count: 1)      // the hospital's set-up is done
                    channel.close()
                    return 0
                },
                hospital: { channel in
                    let ends = try FerretEnds(channel, .hospital, schedule: .insecureTest, seed: 6)
                    try channel.send([UInt8(1)])
                    try channel.flush()
                    return try ends.receiver.next(count: 10).blocks.count
                })
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    /// The receiver hangs up after set-up: the sender's first iteration fails when it sends.
    @Test func senderFailsWhenTheReceiverCloses() throws {
        #expect(throws: TransportError.self) {
            _ = try runTwoParties(
                timeout: 20,
                vendor: { channel in
                    let ends = try FerretEnds(channel, .vendor, schedule: .insecureTest, seed: 7)
                    let _: [UInt8] = try channel.receive(count: 1)
                    Thread.sleep(forTimeInterval: 0.1)
                    return try ends.sender.next(count: 10).count
                },
                hospital: { channel in
                    _ = try FerretEnds(channel, .hospital, schedule: .insecureTest, seed: 8)
                    try channel.send([UInt8(1)])
                    try channel.flush()
                    channel.close()
                    return 0
                })
        }
    }
}

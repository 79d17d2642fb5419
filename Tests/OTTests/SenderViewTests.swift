import CryptoPrimitives
import Testing
import Transport
@testable import OT

/// The sender's view does not depend on the receiver's choices.
///
/// Both parties run twice with the same injected randomness; only the receiver's choices differ.
/// Every byte the sender receives is recorded. A transcript that is *byte-identical* for different
/// choices under fixed randomness is impossible for any correct OT: the receiver could then
/// compute its output for both choices from the same messages and learn both of the sender's
/// messages. What the tests check instead is the simulation argument itself:
///
/// 1. the transcripts have the same length and message boundaries, and everything before the
///    batch (base OTs, KK13 set-up) is byte-identical;
/// 2. the batch part differs by exactly the choice difference laid out as the receiver's matrix R
///    (IKNP: the choice bits in every one of the 128 columns; KK13: the Walsh–Hadamard codeword
///    columns): the choices reach the sender only XORed onto the pad G(k0_j) ⊕ G(k1_j);
/// 3. the pad is one the sender cannot remove: after XORing off everything the sender can compute
///    itself (the streams G(k_{Δ_j, j}) of the seeds it holds), what is left is still balanced, for
///    all-zero and all-one choices alike (a pad made only of streams the sender knows would leave
///    the choices in the clear).
@Suite struct SenderViewTests {
    struct Transcript: Sendable, Equatable {
        var setUp: [UInt8]
        var batch: [UInt8]
        var sizes: [Int]
    }

    /// Runs set-up plus one batch with fixed seeds; returns what the vendor (sender) received.
    static func senderTranscript(sender: @escaping @Sendable (IKNPObliviousTransfer) throws -> Void,
                                 receiver: @escaping @Sendable (IKNPObliviousTransfer) throws -> Void) throws -> Transcript {
        let (transcript, _) = try runTwoParties(
            vendor: { channel in
                let recording = RecordingChannel(channel)
                let ot = try seededOT(recording, .vendor, seed: 11)
                recording.mark()
                try sender(ot)
                return Transcript(setUp: Array(recording.received[..<recording.markedOffset]),
                                  batch: Array(recording.received[recording.markedOffset...]), sizes: recording.receiveSizes)
            },
            hospital: { channel in try receiver(try seededOT(channel, .hospital, seed: 22)) })
        return transcript
    }

    /// The receiver matrix difference for IKNP: per chunk, 128 columns each holding the chunk's
    /// choice-difference bits (padded to a multiple of 128).
    static func iknpDifference(_ a: [Bool], _ b: [Bool]) -> [UInt8] {
        var out = [UInt8]()
        var start = 0
        while start < a.count {
            let n = min(IKNPExtension.chunkRows, a.count - start), padded = (n + 127) & ~127
            var column = [UInt64](repeating: 0, count: padded / 64)
            for i in 0..<n where a[start + i] != b[start + i] { column[i / 64] |= 1 << UInt64(i % 64) }
            let bytes = column.withUnsafeBytes { Array($0) }
            for _ in 0..<128 { out += bytes }
            start += n
        }
        return out
    }

    static func xor(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] { zip(a, b).map { $0 ^ $1 } }

    static func onesFraction(_ bytes: [UInt8]) -> Double {
        Double(bytes.reduce(0) { $0 + $1.nonzeroBitCount }) / Double(8 * bytes.count)
    }

    @Test func randomAndCorrelatedAndChosenOT() throws {
        let count = IKNPExtension.chunkRows + 3000
        let inputs = TestInputs(5)
        let deltas = inputs.values(count, bits: 37), m0 = inputs.values(count, bits: 13), m1 = inputs.values(count, bits: 13)
        let choiceSets = [inputs.bools(count), inputs.bools(count), [Bool](repeating: false, count: count), [Bool](repeating: true, count: count)]
        typealias Pair = (sender: @Sendable (IKNPObliviousTransfer) throws -> Void, receiver: @Sendable ([Bool], IKNPObliviousTransfer) throws -> Void)
        let kinds: [Pair] = [
            ({ _ = try $0.randomSend(count: count) }, { _ = try $1.randomReceive(choices: $0) }),
            ({ _ = try $0.correlatedSend(deltas: deltas, bits: 37) }, { _ = try $1.correlatedReceive(choices: $0, bits: 37) }),
            ({ try $0.chosenSend(m0: m0, m1: m1, bits: 13) }, { _ = try $1.chosenReceive(choices: $0, bits: 13) }),
        ]
        for kind in kinds {
            let transcripts = try choiceSets.map { choices in
                try Self.senderTranscript(sender: kind.sender, receiver: { try kind.receiver(choices, $0) })
            }
            for (t, choices) in zip(transcripts.dropFirst(), choiceSets.dropFirst()) {
                #expect(t.sizes == transcripts[0].sizes)                                     // (1)
                #expect(t.setUp == transcripts[0].setUp)
                #expect(t.batch.count == transcripts[0].batch.count)
                #expect(Self.xor(t.batch, transcripts[0].batch) == Self.iknpDifference(choices, choiceSets[0]))   // (2)
            }
            for t in transcripts { #expect(abs(Self.onesFraction(t.batch) - 0.5) < 0.005) }   // (3)
            let known = try Self.senderComputableStreams(count: count)
            #expect(known.count == transcripts[0].batch.count)
            for t in transcripts { #expect(abs(Self.onesFraction(Self.xor(t.batch, known)) - 0.5) < 0.005) }
        }
    }

    /// Everything the sender can compute itself for a batch of `count` IKNP instances, laid out as
    /// U: the column streams G(k_{Δ_j, j}) of the seeds it holds. A replica of the vendor with the
    /// same seeds, after set-up, runs its extension step on an all-zero U, which yields exactly
    /// these streams (as rows; transposed back here).
    static func senderComputableStreams(count: Int) throws -> [UInt8] {
        let (bytes, _) = try runTwoParties(
            vendor: { channel -> [UInt8] in
                let ot = try seededOT(channel, .vendor, seed: 11)
                var out = [UInt8]()
                var start = 0
                while start < count {
                    let n = min(IKNPExtension.chunkRows, count - start), padded = (n + 127) & ~127, words = padded / 64
                    var rows = [Block](repeating: .zero, count: padded)
                    try rows.withUnsafeMutableBufferPointer { try ot.iknp.sender.extend(rows: padded, channel: ZeroChannel(), into: $0.baseAddress!) }
                    var columns = [UInt64](repeating: 0, count: 128 * words)
                    for b in 0..<(padded / 128) {
                        var block = Array(rows[(128 * b)..<(128 * b + 128)])
                        block.withUnsafeMutableBufferPointer { BitTranspose.transpose128($0.baseAddress!) }
                        for j in 0..<128 {
                            columns[j * words + 2 * b] = block[j].low
                            columns[j * words + 2 * b + 1] = block[j].high
                        }
                    }
                    out += columns.withUnsafeBytes { Array($0) }
                    start += n
                }
                return out
            },
            hospital: { channel in _ = try seededOT(channel, .hospital, seed: 22); return 0 })
        return bytes
    }

    @Test func oneOfNOT() throws {
        let count = KK13Extension.chunkRows + 500, n = 16
        let inputs = TestInputs(6)
        let messages = inputs.values(count * n, bits: 2)
        let choiceSets = [inputs.bytes(count, below: n), inputs.bytes(count, below: n), [UInt8](repeating: 0, count: count),
                          [UInt8](repeating: 15, count: count)]
        let transcripts = try choiceSets.map { choices in
            try Self.senderTranscript(sender: { try $0.chosenSend1ofN(messages: messages, n: n, bits: 2) },
                                      receiver: { _ = try $0.chosenReceive1ofN(choices: choices, n: n, bits: 2) })
        }
        for (t, choices) in zip(transcripts.dropFirst(), choiceSets.dropFirst()) {
            #expect(t.sizes == transcripts[0].sizes)
            #expect(t.setUp == transcripts[0].setUp)
            // (2): per chunk the 256 codeword columns of c ⊕ c' (the code is linear).
            var expected = [UInt8]()
            var start = 0
            while start < count {
                let m = min(KK13Extension.chunkRows, count - start), words = ((m + 127) & ~127) / 64
                let difference = (0..<m).map { choices[start + $0] ^ choiceSets[0][start + $0] }
                var columns = [UInt64](repeating: 0, count: 256 * words)
                difference.withUnsafeBufferPointer { d in
                    columns.withUnsafeMutableBufferPointer { WalshHadamardCode.columns(of: d, words: words, into: $0.baseAddress!) }
                }
                expected += columns.withUnsafeBytes { Array($0) }
                start += m
            }
            #expect(Self.xor(t.batch, transcripts[0].batch) == expected)
        }
        for t in transcripts { #expect(abs(Self.onesFraction(t.batch) - 0.5) < 0.005) }
    }

    @Test func injectedRandomnessIsReproducibleAndSeedsMatter() throws {
        let choices = TestInputs(9).bools(1000)
        let run = { (seed: UInt64) in
            try runTwoParties(
                vendor: { try seededOT($0, .vendor, seed: seed).randomSend(count: 1000).m0 },
                hospital: { try seededOT($0, .hospital, seed: seed).randomReceive(choices: choices) })
        }
        let (a, _) = try run(1), (b, _) = try run(1), (c, _) = try run(2)
        #expect(a == b)
        #expect(a != c)
    }
}

/// A channel whose peer sends only zero bytes and which discards what is sent.
private final class ZeroChannel: Channel {
    var statistics = ChannelStatistics()
    func send(_ bytes: UnsafeRawBufferPointer) throws {}
    func flush() throws {}
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws { buffer.initializeMemory(as: UInt8.self, repeating: 0) }
}

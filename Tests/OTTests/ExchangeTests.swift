import CryptoPrimitives
import Testing
import Transport
@testable import OT

/// `chosenExchange1ofN`: two 1-of-N batches in opposite directions in one call (each party the
/// sender of one), and the streaming of every OT kind: a fixed number of round trips per call.
@Suite struct ExchangeTests {
    /// Packs `bits`-bit values least significant bit first (the wire layout), written independently
    /// of the engine's packer.
    static func pack(_ values: [UInt64], bits: Int) -> [UInt64] {
        var words = [UInt64](repeating: 0, count: (values.count * bits + 63) / 64 + 1)
        for (i, v) in values.enumerated() {
            for b in 0..<bits where (v >> UInt64(b)) & 1 == 1 {
                let position = i * bits + b
                words[position / 64] |= 1 << UInt64(position % 64)
            }
        }
        return words
    }

    static let cases: [(n: Int, bits: Int, roundLimit: Int?)] = [
        (16, 2, nil), (4, 37, nil), (256, 64, nil), (2, 1, nil),
        (16, 2, 1024),   // several exchange rounds
        (16, 3, 1024),   // rounds that do not end on a message word
    ]

    @Test(arguments: Engine.allCases, cases.indices)
    func bothDirectionsDeliverTheChosenMessages(engine: Engine, index: Int) throws {
        let (n, bits, roundLimit) = Self.cases[index]
        // Different sizes each way, crossing KK13 chunk boundaries.
        let vendorCount = n == 256 ? 1300 : 2 * KK13Extension.chunkRows + 77
        let hospitalCount = n == 256 ? 700 : KK13Extension.chunkRows + 5
        let inputs = TestInputs(UInt64(1000 + index))
        let vendorMessages = inputs.values(vendorCount * n, bits: bits), hospitalMessages = inputs.values(hospitalCount * n, bits: bits)
        let vendorChoices = inputs.bytes(hospitalCount, below: n), hospitalChoices = inputs.bytes(vendorCount, below: n)
        let (atVendor, atHospital) = try runTwoParties(
            vendor: { channel in
                let ot = try engine.make(channel, .vendor)
                if let roundLimit { setRoundLimit(ot, roundLimit) }
                return try ot.chosenExchange1ofN(packedMessages: Self.pack(vendorMessages, bits: bits), sendCount: vendorCount,
                                                 choices: vendorChoices, n: n, bits: bits, party: .vendor)
            },
            hospital: { channel in
                let ot = try engine.make(channel, .hospital)
                if let roundLimit { setRoundLimit(ot, roundLimit) }
                return try ot.chosenExchange1ofN(packedMessages: Self.pack(hospitalMessages, bits: bits), sendCount: hospitalCount,
                                                 choices: hospitalChoices, n: n, bits: bits, party: .hospital)
            })
        #expect(atVendor.count == hospitalCount && atHospital.count == vendorCount)
        #expect((0..<hospitalCount).allSatisfy { atVendor[$0] == hospitalMessages[$0 * n + Int(vendorChoices[$0])] })
        #expect((0..<vendorCount).allSatisfy { atHospital[$0] == vendorMessages[$0 * n + Int(hospitalChoices[$0])] })
    }

    /// Several exchanges on one engine whose sizes grow, shrink and grow again (the silent engine
    /// keeps its key buffers from call to call, growing them when a call needs more): every call
    /// delivers exactly the chosen messages, and no call sees an earlier call's keys.
    @Test(arguments: Engine.allCases)
    func consecutiveExchangesOfChangingSize(engine: Engine) throws {
        let n = 8, bits = 2
        let sizes = [(300, 5_000), (7_000, 40), (0, 9_000), (11, 11), (12_000, 12_000)]
        let inputs = TestInputs(77)
        let calls = sizes.map { v, h in
            (v: v, h: h, vm: inputs.values(v * n, bits: bits), hm: inputs.values(h * n, bits: bits),
             vc: inputs.bytes(h, below: n), hc: inputs.bytes(v, below: n))
        }
        let (atVendor, atHospital) = try runTwoParties(
            vendor: { channel in
                let ot = try engine.make(channel, .vendor)
                setRoundLimit(ot, 4_096)
                return try calls.map { try ot.chosenExchange1ofN(packedMessages: Self.pack($0.vm, bits: bits), sendCount: $0.v,
                                                                 choices: $0.vc, n: n, bits: bits, party: .vendor) }
            },
            hospital: { channel in
                let ot = try engine.make(channel, .hospital)
                setRoundLimit(ot, 4_096)
                return try calls.map { try ot.chosenExchange1ofN(packedMessages: Self.pack($0.hm, bits: bits), sendCount: $0.h,
                                                                 choices: $0.hc, n: n, bits: bits, party: .hospital) }
            })
        for (i, call) in calls.enumerated() {
            #expect(atVendor[i] == (0..<call.h).map { call.hm[$0 * n + Int(call.vc[$0])] }, "call \(i), hospital → vendor")
            #expect(atHospital[i] == (0..<call.v).map { call.vm[$0 * n + Int(call.hc[$0])] }, "call \(i), vendor → hospital")
        }
    }

    /// Empty batches: nothing each way, or nothing in one direction only; and empty calls of the
    /// one-way kinds.
    @Test(arguments: Engine.allCases, [(0, 0), (0, 100), (100, 0)])
    func emptyDirections(engine: Engine, counts: (Int, Int)) throws {
        let (vendorCount, hospitalCount) = counts
        let n = 16, bits = 2
        let inputs = TestInputs(55)
        let vendorMessages = inputs.values(vendorCount * n, bits: bits), hospitalMessages = inputs.values(hospitalCount * n, bits: bits)
        let vendorChoices = inputs.bytes(hospitalCount, below: n), hospitalChoices = inputs.bytes(vendorCount, below: n)
        let (atVendor, atHospital) = try runTwoParties(
            vendor: { channel in
                let ot = try engine.make(channel, .vendor)
                #expect(try ot.correlatedSend(deltas: [], bits: 37).isEmpty)
                try ot.chosenSend(m0: [], m1: [], bits: 5)
                try ot.chosenSend1ofN(messages: [], n: n, bits: bits)
                return try ot.chosenExchange1ofN(packedMessages: vendorCount == 0 ? [] : Self.pack(vendorMessages, bits: bits),
                                                 sendCount: vendorCount, choices: vendorChoices, n: n, bits: bits, party: .vendor)
            },
            hospital: { channel in
                let ot = try engine.make(channel, .hospital)
                #expect(try ot.correlatedReceive(choices: [], bits: 37).isEmpty)
                #expect(try ot.chosenReceive(choices: [], bits: 5).isEmpty)
                #expect(try ot.chosenReceive1ofN(choices: [], n: n, bits: bits).isEmpty)
                return try ot.chosenExchange1ofN(packedMessages: hospitalCount == 0 ? [] : Self.pack(hospitalMessages, bits: bits),
                                                 sendCount: hospitalCount, choices: hospitalChoices, n: n, bits: bits, party: .hospital)
            })
        #expect(atVendor.count == hospitalCount && atHospital.count == vendorCount)
        #expect((0..<hospitalCount).allSatisfy { atVendor[$0] == hospitalMessages[$0 * n + Int(vendorChoices[$0])] })
        #expect((0..<vendorCount).allSatisfy { atHospital[$0] == vendorMessages[$0 * n + Int(hospitalChoices[$0])] })
    }

    /// The default implementation (used by engines without an overlapped exchange) gives the same.
    @Test(arguments: Engine.allCases)
    func defaultImplementationMatches(engine: Engine) throws {
        let n = 16, bits = 2, count = 3000
        let inputs = TestInputs(77)
        let messages = inputs.values(count * n, bits: bits), choices = inputs.bytes(count, below: n)
        let (atVendor, atHospital) = try runTwoParties(
            vendor: { channel in
                let ot = try engine.make(channel, .vendor)
                return try DefaultExchange(ot).chosenExchange1ofN(packedMessages: Self.pack(messages, bits: bits), sendCount: count,
                                                                  choices: choices, n: n, bits: bits, party: .vendor)
            },
            hospital: { channel in
                let ot = try engine.make(channel, .hospital)
                return try DefaultExchange(ot).chosenExchange1ofN(packedMessages: Self.pack(messages, bits: bits), sendCount: count,
                                                                  choices: choices, n: n, bits: bits, party: .hospital)
            })
        #expect((0..<count).allSatisfy { atVendor[$0] == messages[$0 * n + Int(choices[$0])] })
        #expect(atHospital == atVendor)
    }

    /// The vendor's view of an exchange does not depend on the hospital's choices (see
    /// `SenderViewTests` for the argument): with fixed randomness and messages, what the vendor
    /// receives differs between two choice vectors exactly by the Walsh–Hadamard codeword columns
    /// of the choice difference (in the hospital's U), and not at all in the hospital's table.
    @Test func vendorViewDependsOnHospitalChoicesOnlyThroughThePaddedMatrix() throws {
        let n = 16, bits = 2, count = KK13Extension.chunkRows + 500
        let inputs = TestInputs(31)
        let messages = Self.pack(inputs.values(count * n, bits: bits), bits: bits)
        let vendorChoices = inputs.bytes(count, below: n)
        let choiceSets = [inputs.bytes(count, below: n), inputs.bytes(count, below: n), [UInt8](repeating: 15, count: count)]
        let transcripts = try choiceSets.map { choices in
            try runTwoParties(
                vendor: { channel -> ([UInt8], [Int]) in
                    let recording = RecordingChannel(channel)
                    let ot = try seededOT(recording, .vendor, seed: 11)
                    recording.mark()
                    _ = try ot.chosenExchange1ofN(packedMessages: messages, sendCount: count, choices: vendorChoices,
                                                  n: n, bits: bits, party: .vendor)
                    return (Array(recording.received[recording.markedOffset...]), recording.receiveSizes)
                },
                hospital: { channel in
                    let ot = try seededOT(channel, .hospital, seed: 22)
                    return try ot.chosenExchange1ofN(packedMessages: messages, sendCount: count, choices: choices,
                                                     n: n, bits: bits, party: .hospital)
                }).0
        }
        for (t, choices) in zip(transcripts.dropFirst(), choiceSets.dropFirst()) {
            #expect(t.1 == transcripts[0].1)
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
            expected += [UInt8](repeating: 0, count: t.0.count - expected.count)     // the table: identical
            #expect(SenderViewTests.xor(t.0, transcripts[0].0) == expected)
        }
        for t in transcripts { #expect(abs(SenderViewTests.onesFraction(t.0) - 0.5) < 0.01) }
    }

    /// Rounds seen by the receiver (and the sender) of one call, for a given batch size.
    static func rounds(count: Int, _ body: @escaping @Sendable (IKNPObliviousTransfer, Party, Int) throws -> Void) throws -> (Int, Int) {
        try runTwoParties(
            timeout: 300,
            vendor: { channel in
                let ot = try IKNPObliviousTransfer(channel: channel, party: .vendor)
                let before = channel.statistics.rounds
                try body(ot, .vendor, count)
                return channel.statistics.rounds - before
            },
            hospital: { channel in
                let ot = try IKNPObliviousTransfer(channel: channel, party: .hospital)
                let before = channel.statistics.rounds
                try body(ot, .hospital, count)
                return channel.statistics.rounds - before
            })
    }

    /// Every OT kind streams its chunks: the rounds of one call are the same for 2^10 instances
    /// and for several IKNP (2^16) or KK13 (2^12) chunks.
    @Test func roundsDoNotGrowWithTheBatch() throws {
        typealias Body = @Sendable (IKNPObliviousTransfer, Party, Int) throws -> Void
        let kinds: [(String, Body, Int)] = [
            ("correlated", { ot, party, count in
                if party == .vendor { _ = try ot.correlatedSend(deltas: [UInt64](repeating: 5, count: count), bits: 37) }
                else { _ = try ot.correlatedReceive(choices: [Bool](repeating: true, count: count), bits: 37) }
            }, 3 * IKNPExtension.chunkRows + 10),
            ("chosen", { ot, party, count in
                if party == .vendor { try ot.chosenSend(m0: [UInt64](repeating: 1, count: count), m1: [UInt64](repeating: 2, count: count), bits: 8) }
                else { _ = try ot.chosenReceive(choices: [Bool](repeating: false, count: count), bits: 8) }
            }, 3 * IKNPExtension.chunkRows + 10),
            ("1-of-16", { ot, party, count in
                if party == .vendor { try ot.chosenSend1ofN(messages: [UInt64](repeating: 3, count: 16 * count), n: 16, bits: 2) }
                else { _ = try ot.chosenReceive1ofN(choices: [UInt8](repeating: 7, count: count), n: 16, bits: 2) }
            }, 20 * KK13Extension.chunkRows + 10),
            ("exchange", { ot, party, count in
                _ = try ot.chosenExchange1ofN(packedMessages: [UInt64](repeating: 0, count: count / 2 + 1), sendCount: count,
                                              choices: [UInt8](repeating: 9, count: count), n: 16, bits: 2, party: party)
            }, 20 * KK13Extension.chunkRows + 10),
        ]
        for (name, body, large) in kinds {
            let small = try Self.rounds(count: 1 << 10, body)
            let big = try Self.rounds(count: large, body)
            #expect(small == big, "\(name): \(small) rounds for 2^10 instances, \(big) for \(large)")
            #expect(small.0 <= 2 && small.1 <= 2, "\(name): \(small) rounds")
        }
    }
}

/// Rounds of at most `limit` instances each way in the engine's `chosenExchange1ofN`.
private func setRoundLimit(_ ot: any ObliviousTransfer, _ limit: Int) {
    if let iknp = ot as? IKNPObliviousTransfer { iknp.kk.exchangeRoundInstances = limit }
    if let silent = ot as? SilentObliviousTransfer { silent.exchangeRoundInstances = limit }
}

/// Forwards everything to an engine but keeps the protocol's default `chosenExchange1ofN`.
private final class DefaultExchange: ObliviousTransfer {
    let inner: any ObliviousTransfer
    init(_ inner: any ObliviousTransfer) { self.inner = inner }
    func randomSend(count: Int) throws -> (m0: [Block], m1: [Block]) { try inner.randomSend(count: count) }
    func randomReceive(choices: [Bool]) throws -> [Block] { try inner.randomReceive(choices: choices) }
    func correlatedSend(deltas: [UInt64], bits: Int) throws -> [UInt64] { try inner.correlatedSend(deltas: deltas, bits: bits) }
    func correlatedReceive(choices: [Bool], bits: Int) throws -> [UInt64] { try inner.correlatedReceive(choices: choices, bits: bits) }
    func chosenSend(m0: [UInt64], m1: [UInt64], bits: Int) throws { try inner.chosenSend(m0: m0, m1: m1, bits: bits) }
    func chosenReceive(choices: [Bool], bits: Int) throws -> [UInt64] { try inner.chosenReceive(choices: choices, bits: bits) }
    func chosenSend1ofN(messages: [UInt64], n: Int, bits: Int) throws { try inner.chosenSend1ofN(messages: messages, n: n, bits: bits) }
    func chosenReceive1ofN(choices: [UInt8], n: Int, bits: Int) throws -> [UInt64] { try inner.chosenReceive1ofN(choices: choices, n: n, bits: bits) }
}

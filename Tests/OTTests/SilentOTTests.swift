import CryptoPrimitives
import Testing
import Transport
@testable import OT

/// What only the silent engine has: the 128-bit Ferret sets behind the public initialiser, the
/// exact wire cost of its OT kinds, and a sender view made of the receiver's d = b ⊕ r bits.
/// (Every protocol body also runs on this engine in `OTProtocolTests`, `OneOfNTests`,
/// `ExchangeTests` and `FailureTests`.)
@Suite struct SilentOTTests {
    /// Public initialiser (OS randomness, 128-bit sets), both directions: correlated OT at ℓ = 37
    /// from the vendor and 1-of-16 OT from the hospital. After a one-instance warm-up per direction
    /// (set-up and the bootstrap iteration), a batch costs exactly 1 + ℓ bits per correlated OT
    /// and 4 + 16·ℓ bits per 1-of-16 OT, plus the first main iteration's tree messages, which the
    /// batch triggers: t·(2h + 1) blocks = 559,440 bytes from the COT sender (the OT sender).
    @Test func standardParametersAndExactWireCost() throws {
        let count = 200_000, bits = 37
        let inputs = TestInputs(2024)
        let choices = inputs.bools(count), deltas = inputs.values(count, bits: bits)
        let ofN = 50_000
        let table = inputs.values(ofN * 16, bits: 2), digits = inputs.bytes(ofN, below: 16)
        struct Side: Sendable { var values: [UInt64], sent: Int, iterations: Int }
        let (v, h) = try runTwoParties(
            timeout: 300,
            vendor: { channel -> (Side, Side) in
                let ot = try SilentObliviousTransfer(channel: channel, party: .vendor)
                _ = try ot.correlatedSend(deltas: [1], bits: bits)
                _ = try ot.chosenReceive1ofN(choices: [3], n: 16, bits: 2)
                var before = channel.statistics.bytesSent
                let x = try ot.correlatedSend(deltas: deltas, bits: bits)
                let first = Side(values: x, sent: channel.statistics.bytesSent - before, iterations: ot.iterations.asSender)
                before = channel.statistics.bytesSent
                let got = try ot.chosenReceive1ofN(choices: digits, n: 16, bits: 2)
                return (first, Side(values: got, sent: channel.statistics.bytesSent - before, iterations: ot.iterations.asReceiver))
            },
            hospital: { channel -> (Side, Side) in
                let ot = try SilentObliviousTransfer(channel: channel, party: .hospital)
                _ = try ot.correlatedReceive(choices: [true], bits: bits)
                try ot.chosenSend1ofN(messages: [UInt64](repeating: 0, count: 16), n: 16, bits: 2)
                var before = channel.statistics.bytesSent
                let y = try ot.correlatedReceive(choices: choices, bits: bits)
                let first = Side(values: y, sent: channel.statistics.bytesSent - before, iterations: ot.iterations.asReceiver)
                before = channel.statistics.bytesSent
                try ot.chosenSend1ofN(messages: table, n: 16, bits: 2)
                return (first, Side(values: [], sent: channel.statistics.bytesSent - before, iterations: ot.iterations.asSender))
            })
        let m = mask(bits)
        #expect((0..<count).allSatisfy { h.0.values[$0] == (v.0.values[$0] &+ (choices[$0] ? deltas[$0] : 0)) & m })
        #expect(Set(v.0.values).count > count - 10)
        #expect((0..<ofN).allSatisfy { v.1.values[$0] == table[$0 * 16 + Int(digits[$0])] })
        // Bootstrap plus one main iteration in each direction, and nothing more.
        #expect(v.0.iterations == 2 && h.0.iterations == 2 && v.1.iterations == 2 && h.1.iterations == 2)
        let iteration = FerretParameters.main.t * (2 * FerretParameters.main.treeDepth + 1) * 16
        #expect(iteration == 559_440)
        // Correlated: ℓ bits from the sender, 1 bit from the receiver (per 2^14-instance chunk).
        #expect(v.0.sent == (count * bits + 7) / 8 + iteration)
        #expect(h.0.sent == count / 8)
        // 1-of-16: 16·2 bits from the sender, 4 bits from the receiver.
        #expect(h.1.sent == ofN * 16 * 2 / 8 + iteration)
        #expect(v.1.sent == ofN * 4 / 8)
    }

    /// The sender's whole view of a random-OT batch is the Ferret bootstrap's IKNP matrix (fixed
    /// by the receiver's own randomness) and then the d_i = b_i ⊕ r_i: with fixed randomness, two
    /// choice vectors change the view by exactly their difference in the d bits, and the d bits
    /// are balanced even for all-zero or all-one choices (r is a one-time pad the sender cannot
    /// remove).
    @Test func senderSeesOnlyChoicesPaddedByRandomBits() throws {
        let count = 3000
        let inputs = TestInputs(9)
        let choiceSets = [inputs.bools(count), inputs.bools(count), [Bool](repeating: false, count: count), [Bool](repeating: true, count: count)]
        let views = try choiceSets.map { choices in
            try runTwoParties(
                vendor: { channel -> [UInt8] in
                    let recording = RecordingChannel(channel)
                    let ot = try Engine.silent.seeded(recording, .vendor, seed: 11)
                    recording.mark()
                    _ = try ot.randomSend(count: count)
                    return Array(recording.received[recording.markedOffset...])
                },
                hospital: { channel in try Engine.silent.seeded(channel, .hospital, seed: 22).randomReceive(choices: choices) }).0
        }
        let dBytes = (count + 7) / 8
        for (view, choices) in zip(views.dropFirst(), choiceSets.dropFirst()) {
            #expect(view.count == views[0].count)
            var difference = [UInt8](repeating: 0, count: dBytes)
            for i in 0..<count where choices[i] != choiceSets[0][i] { difference[i / 8] |= 1 << UInt8(i % 8) }
            let expected = [UInt8](repeating: 0, count: view.count - dBytes) + difference
            #expect(SenderViewTests.xor(view, views[0]) == expected)
        }
        for view in views { #expect(abs(SenderViewTests.onesFraction(Array(view.suffix(dBytes))) - 0.5) < 0.05) }
    }
}

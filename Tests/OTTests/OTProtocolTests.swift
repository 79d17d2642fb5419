import CryptoPrimitives
import Testing
import Transport
@testable import OT

/// Counts that cross chunk boundaries (IKNP chunks hold 2^14 instances) and are not multiples of 128.
private let counts = [1, 10_000, 2 * IKNPExtension.chunkRows + 77]

/// Every OT kind of the `ObliviousTransfer` protocol, on every engine (`Engine`).
@Suite struct OTProtocolTests {
    @Test(arguments: Engine.allCases)
    func randomOTGivesTheChosenMessageAndDistinctPairs(engine: Engine) throws {
        for count in counts {
            let choices = TestInputs(UInt64(count)).bools(count)
            let ((m0, m1), received) = try runTwoParties(
                vendor: { try engine.make($0, .vendor).randomSend(count: count) },
                hospital: { try engine.make($0, .hospital).randomReceive(choices: choices) })
            #expect(m0.count == count && m1.count == count && received.count == count)
            #expect((0..<count).allSatisfy { received[$0] == (choices[$0] ? m1[$0] : m0[$0]) })
            #expect((0..<count).allSatisfy { m0[$0] != m1[$0] })
            #expect(Set(m0 + m1).count == 2 * count)
        }
    }

    /// Random bit OT: every plane of the receiver's messages is m_c for its (engine-drawn) choice c,
    /// padding bits are 0, and messages and choices are balanced (each about half ones).
    @Test(arguments: Engine.allCases, [1, 2, 64])
    func randomBitOTGivesTheMessageOfTheChoice(engine: Engine, width: Int) throws {
        for count in [1, 100, 2 * IKNPExtension.chunkRows + 77] {
            let ((m0, m1), (c, m)) = try runTwoParties(
                vendor: { try engine.make($0, .vendor).randomBitSend(count: count, width: width) },
                hospital: { try engine.make($0, .hospital).randomBitReceive(count: count, width: width) })
            let words = (count + 63) / 64
            #expect(m0.count == words * width && m1.count == words * width && c.count == words && m.count == words * width)
            #expect((0..<(words * width)).allSatisfy { m[$0] == (m0[$0] & ~c[$0 % words]) | (m1[$0] & c[$0 % words]) })
            let pad: UInt64 = count % 64 == 0 ? .max : (1 << UInt64(count % 64)) &- 1
            for j in 0..<width {
                #expect([m0, m1, m].allSatisfy { $0[j * words + words - 1] & ~pad == 0 })
            }
            #expect(c[words - 1] & ~pad == 0)
            if count > 10_000 {
                let x = (0..<(words * width)).map { m[$0] ^ m0[$0] ^ m1[$0] }
                for (v, n) in [(m0, count * width), (m1, count * width), (c, count), (x, count * width)] {
                    let ones = v.reduce(0) { $0 + $1.nonzeroBitCount }
                    #expect(abs(ones - n / 2) < n / 50)
                }
                // Planes differ (the bits of one message are not copies of each other).
                if width > 1 { #expect(Array(m0[0..<words]) != Array(m0[words..<(2 * words)])) }
            }
        }
    }

    @Test(arguments: Engine.allCases, [1, 8, 37, 64])
    func correlatedOTGivesXPlusBDelta(engine: Engine, bits: Int) throws {
        let count = IKNPExtension.chunkRows + 1000
        let inputs = TestInputs(UInt64(bits))
        let choices = inputs.bools(count), deltas = inputs.values(count, bits: bits)
        let (x, y) = try runTwoParties(
            vendor: { try engine.make($0, .vendor).correlatedSend(deltas: deltas, bits: bits) },
            hospital: { try engine.make($0, .hospital).correlatedReceive(choices: choices, bits: bits) })
        let m = mask(bits)
        #expect(x.allSatisfy { $0 <= m } && y.allSatisfy { $0 <= m })
        #expect((0..<count).allSatisfy { y[$0] == (x[$0] &+ (choices[$0] ? deltas[$0] : 0)) & m })
        // x is random: not stuck at one value (for ℓ = 1 about half are 1).
        #expect(Set(x).count > 1)
        if bits == 1 { #expect(abs(x.filter { $0 == 1 }.count - count / 2) < count / 10) }
    }

    @Test(arguments: Engine.allCases, [1, 13, 64])
    func chosenOTGivesTheChosenMessage(engine: Engine, bits: Int) throws {
        let count = 10_000
        let inputs = TestInputs(100 + UInt64(bits))
        let choices = inputs.bools(count), m0 = inputs.values(count, bits: bits), m1 = inputs.values(count, bits: bits)
        let (_, got) = try runTwoParties(
            vendor: { try engine.make($0, .vendor).chosenSend(m0: m0, m1: m1, bits: bits) },
            hospital: { try engine.make($0, .hospital).chosenReceive(choices: choices, bits: bits) })
        #expect((0..<count).allSatisfy { got[$0] == (choices[$0] ? m1[$0] : m0[$0]) })
    }

    /// Chosen OT sends 2ℓ bits per instance and nothing else (silent: after a warm-up call that
    /// bootstraps the generator; the 300 instances then come out of the bootstrap iteration's
    /// output, so no Ferret iteration runs during the measured call).
    @Test(arguments: Engine.allCases)
    func chosenOTPacksMessagesToTheirWidth(engine: Engine) throws {
        let count = engine == .iknp ? 4096 : 300, bits = 13
        let choices = TestInputs(7).bools(count), m = TestInputs(8).values(count, bits: bits)
        let (sent, _) = try runTwoParties(
            vendor: { channel in
                let ot = try engine.make(channel, .vendor)
                try ot.chosenSend(m0: [1], m1: [2], bits: bits)
                let before = channel.statistics.bytesSent
                try ot.chosenSend(m0: m, m1: m, bits: bits)
                return channel.statistics.bytesSent - before
            },
            hospital: { channel in
                let ot = try engine.make(channel, .hospital)
                _ = try ot.chosenReceive(choices: [true], bits: bits)
                return try ot.chosenReceive(choices: choices, bits: bits)
            })
        #expect(sent == (2 * count * bits + 7) / 8)
    }

    @Test(arguments: Engine.allCases)
    func bothDirectionsInterleavedOnOneObjectPair(engine: Engine) throws {
        let count = 3000
        let inputs = TestInputs(42)
        let bV = inputs.bools(count), bH = inputs.bools(count)
        let deltas = inputs.values(count, bits: 37)
        let m0 = inputs.values(count, bits: 20), m1 = inputs.values(count, bits: 20)
        let table = inputs.values(count * 16, bits: 4), digits = inputs.bytes(count, below: 16)

        struct VendorView: Sendable { var r0: [Block], r1: [Block], gotFromHospital: [Block], x: [UInt64], chosen: [UInt64], gotDigits: [UInt64] }
        struct HospitalView: Sendable { var got: [Block], r0: [Block], r1: [Block], y: [UInt64], gotDigits: [UInt64] }
        let (v, h) = try runTwoParties(
            vendor: { channel in
                let ot = try engine.make(channel, .vendor)
                let (r0, r1) = try ot.randomSend(count: count)                         // vendor sends
                let got = try ot.randomReceive(choices: bV)                            // hospital sends
                let x = try ot.correlatedSend(deltas: deltas, bits: 37)                // vendor sends
                let chosen = try ot.chosenReceive(choices: bV, bits: 20)               // hospital sends
                try ot.chosenSend1ofN(messages: table, n: 16, bits: 4)                 // vendor sends
                let gotDigits = try ot.chosenReceive1ofN(choices: digits, n: 16, bits: 4)  // hospital sends
                return VendorView(r0: r0, r1: r1, gotFromHospital: got, x: x, chosen: chosen, gotDigits: gotDigits)
            },
            hospital: { channel in
                let ot = try engine.make(channel, .hospital)
                let got = try ot.randomReceive(choices: bH)
                let (r0, r1) = try ot.randomSend(count: count)
                let y = try ot.correlatedReceive(choices: bH, bits: 37)
                try ot.chosenSend(m0: m0, m1: m1, bits: 20)
                let gotDigits = try ot.chosenReceive1ofN(choices: digits, n: 16, bits: 4)
                try ot.chosenSend1ofN(messages: table, n: 16, bits: 4)
                return HospitalView(got: got, r0: r0, r1: r1, y: y, gotDigits: gotDigits)
            })
        #expect((0..<count).allSatisfy { h.got[$0] == (bH[$0] ? v.r1[$0] : v.r0[$0]) })
        #expect((0..<count).allSatisfy { v.gotFromHospital[$0] == (bV[$0] ? h.r1[$0] : h.r0[$0]) })
        #expect((0..<count).allSatisfy { h.y[$0] == (v.x[$0] &+ (bH[$0] ? deltas[$0] : 0)) & mask(37) })
        #expect((0..<count).allSatisfy { v.chosen[$0] == (bV[$0] ? m1[$0] : m0[$0]) })
        #expect((0..<count).allSatisfy { h.gotDigits[$0] == table[$0 * 16 + Int(digits[$0])] })
        #expect((0..<count).allSatisfy { v.gotDigits[$0] == table[$0 * 16 + Int(digits[$0])] })
        // The two directions are independent: different random messages.
        #expect(Set(v.r0).isDisjoint(with: h.r0))
    }

    @Test(arguments: Engine.allCases)
    func emptyBatchesSendNothing(engine: Engine) throws {
        let (sent, got) = try runTwoParties(
            vendor: { channel in
                let ot = try engine.make(channel, .vendor)
                let before = channel.statistics.bytesSent
                _ = try ot.randomSend(count: 0)
                _ = try ot.correlatedSend(deltas: [], bits: 8)
                return channel.statistics.bytesSent - before
            },
            hospital: { channel in
                let ot = try engine.make(channel, .hospital)
                return try ot.randomReceive(choices: []).count + ot.correlatedReceive(choices: [], bits: 8).count
            })
        #expect(sent == 0 && got == 0)
    }

    @Test(arguments: Engine.allCases)
    func badWidthsAreTypedErrors(engine: Engine) throws {
        let (a, b) = try runTwoParties(
            vendor: { channel -> [OTError] in
                let ot = try engine.make(channel, .vendor)
                var errors: [OTError] = []
                do { _ = try ot.correlatedSend(deltas: [1], bits: 65) } catch let e as OTError { errors.append(e) }
                do { try ot.chosenSend(m0: [1, 2], m1: [1], bits: 8) } catch let e as OTError { errors.append(e) }
                do { try ot.chosenSend1ofN(messages: [1, 2, 3], n: 3, bits: 8) } catch let e as OTError { errors.append(e) }
                return errors
            },
            hospital: { channel -> [OTError] in
                let ot = try engine.make(channel, .hospital)
                var errors: [OTError] = []
                do { _ = try ot.chosenReceive1ofN(choices: [4], n: 4, bits: 8) } catch let e as OTError { errors.append(e) }
                do { _ = try ot.chosenReceive(choices: [true], bits: 0) } catch let e as OTError { errors.append(e) }
                return errors
            })
        #expect(a.count == 3 && b.count == 2)
    }
}

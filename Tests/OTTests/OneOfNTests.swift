import CryptoPrimitives
import Testing
import Transport
@testable import OT

@Suite struct OneOfNTests {
    static let cases: [(Int, Int)] = [2, 4, 16, 256].flatMap { n in [1, 2, 8, 64].map { (n, $0) } }

    @Test(arguments: Engine.allCases, cases)
    func receiverGetsTheChosenMessage(engine: Engine, nAndBits: (Int, Int)) throws {
        let (n, bits) = nAndBits
        // Crosses KK13 chunk boundaries (2^12 instances); fewer instances for N = 256.
        let count = n == 256 ? KK13Extension.chunkRows + 300 : 2 * KK13Extension.chunkRows + 1809
        let inputs = TestInputs(UInt64(n * 100 + bits))
        let messages = inputs.values(count * n, bits: bits), choices = inputs.bytes(count, below: n)
        let (sent, got) = try runTwoParties(
            vendor: { channel in
                let ot = try engine.make(channel, .vendor)
                try ot.chosenSend1ofN(messages: [UInt64](repeating: 0, count: n), n: n, bits: bits)   // bootstraps a silent engine
                let before = channel.statistics.bytesSent
                try ot.chosenSend1ofN(messages: messages, n: n, bits: bits)
                return channel.statistics.bytesSent - before
            },
            hospital: { channel in
                let ot = try engine.make(channel, .hospital)
                _ = try ot.chosenReceive1ofN(choices: [0], n: n, bits: bits)
                return try ot.chosenReceive1ofN(choices: choices, n: n, bits: bits)
            })
        #expect(got.count == count)
        #expect((0..<count).allSatisfy { got[$0] == messages[$0 * n + Int(choices[$0])] })
        // Packed: N·ℓ bits per instance (per chunk, rounded up to a byte). The silent sender also
        // sends Ferret's tree messages: 16 trees of 17 blocks per test-size iteration (3,456 COTs),
        // for the log2(N) COTs per instance this batch uses, plus at most two partial iterations.
        let ferret = engine == .silent ? (count * n.trailingZeroBitCount / 3456 + 2) * 16 * 17 * 16 : 0
        #expect(sent <= (count * n * bits) / 8 + 3 + ferret)
        #expect(sent >= (count * n * bits) / 8)
    }

    @Test(arguments: Engine.allCases)
    func hospitalAsSender(engine: Engine) throws {
        let count = 5000, n = 16, bits = 2
        let inputs = TestInputs(99)
        let messages = inputs.values(count * n, bits: bits), choices = inputs.bytes(count, below: n)
        let (got, _) = try runTwoParties(
            vendor: { try engine.make($0, .vendor).chosenReceive1ofN(choices: choices, n: n, bits: bits) },
            hospital: { try engine.make($0, .hospital).chosenSend1ofN(messages: messages, n: n, bits: bits) })
        #expect((0..<count).allSatisfy { got[$0] == messages[$0 * n + Int(choices[$0])] })
    }
}

import CryptoPrimitives
import Testing
import Transport
@testable import OT

@Suite struct OneOfNTests {
    static let cases: [(Int, Int)] = [2, 4, 16, 256].flatMap { n in [1, 2, 8, 64].map { (n, $0) } }

    @Test(arguments: cases)
    func receiverGetsTheChosenMessage(n: Int, bits: Int) throws {
        // Crosses KK13 chunk boundaries (2^12 instances); fewer instances for N = 256.
        let count = n == 256 ? KK13Extension.chunkRows + 300 : 2 * KK13Extension.chunkRows + 1809
        let inputs = TestInputs(UInt64(n * 100 + bits))
        let messages = inputs.values(count * n, bits: bits), choices = inputs.bytes(count, below: n)
        let (sent, got) = try runTwoParties(
            vendor: { channel in
                let ot = try IKNPObliviousTransfer(channel: channel, party: .vendor)
                let before = channel.statistics.bytesSent
                try ot.chosenSend1ofN(messages: messages, n: n, bits: bits)
                return channel.statistics.bytesSent - before
            },
            hospital: { try IKNPObliviousTransfer(channel: $0, party: .hospital).chosenReceive1ofN(choices: choices, n: n, bits: bits) })
        #expect(got.count == count)
        #expect((0..<count).allSatisfy { got[$0] == messages[$0 * n + Int(choices[$0])] })
        // Packed: N·ℓ bits per instance (per chunk, rounded up to a byte).
        #expect(sent <= (count * n * bits) / 8 + 3)
    }

    @Test func hospitalAsSender() throws {
        let count = 5000, n = 16, bits = 2
        let inputs = TestInputs(99)
        let messages = inputs.values(count * n, bits: bits), choices = inputs.bytes(count, below: n)
        let (got, _) = try runTwoParties(
            vendor: { try IKNPObliviousTransfer(channel: $0, party: .vendor).chosenReceive1ofN(choices: choices, n: n, bits: bits) },
            hospital: { try IKNPObliviousTransfer(channel: $0, party: .hospital).chosenSend1ofN(messages: messages, n: n, bits: bits) })
        #expect((0..<count).allSatisfy { got[$0] == messages[$0 * n + Int(choices[$0])] })
    }
}

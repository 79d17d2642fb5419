import CryptoPrimitives
import Transport

/// One party's end of the oblivious-transfer machinery on one channel.
///
/// Calls come in matching pairs run at the same time by the two parties: when one calls a `…Send`
/// method, the other calls the corresponding `…Receive` with the same count and widths. Either
/// party may be the sender of a given batch. All methods are batched: one call serves many instances.
///
/// Security (semi-honest): the sender learns nothing about the choices; the receiver learns only
/// the chosen messages (for random OT, nothing about the other message).
public protocol ObliviousTransfer: AnyObject {
    /// Random OT, sender side: `count` pairs of random 128-bit messages.
    func randomSend(count: Int) throws -> (m0: [Block], m1: [Block])
    /// Random OT, receiver side: the message m_{choice} of each instance.
    func randomReceive(choices: [Bool]) throws -> [Block]

    /// Correlated OT over Z_2^bits, sender side: the sender gives Δ_i and gets a random x_i.
    func correlatedSend(deltas: [UInt64], bits: Int) throws -> [UInt64]
    /// Correlated OT, receiver side: gets x_i + b_i·Δ_i mod 2^bits.
    func correlatedReceive(choices: [Bool], bits: Int) throws -> [UInt64]

    /// Random 1-of-2 OT of single bits with random choices, sender side: bit i (of word i / 64,
    /// least significant first) of `m0` and `m1` are the two random messages of instance i. Both
    /// messages and the receiver's choices are drawn inside the engine, so nothing needs to be
    /// derandomised: on a silent engine the instances cost only the COTs they use.
    func randomBitSend(count: Int) throws -> (m0: [UInt64], m1: [UInt64])
    /// Random bit OT, receiver side: the engine's random choices c_i and the messages m_{c_i}, packed
    /// like `randomBitSend`'s (padding bits above `count` are 0).
    func randomBitReceive(count: Int) throws -> (choices: [UInt64], messages: [UInt64])
    /// Bits both parties send per random bit OT, amortised over a large batch (the engine's cost
    /// model: protocols that could use either random bit OTs or chosen OTs pick the cheaper).
    var bitsPerRandomBitOT: Double { get }

    /// Chosen-message 1-of-2 OT of `bits`-bit messages (bits ≤ 64), sender side.
    func chosenSend(m0: [UInt64], m1: [UInt64], bits: Int) throws
    /// Chosen-message 1-of-2 OT, receiver side: m_{b_i}.
    func chosenReceive(choices: [Bool], bits: Int) throws -> [UInt64]

    /// Chosen-message 1-of-N OT (N a power of two, 2 ≤ N ≤ 256) of `bits`-bit messages, sender side:
    /// `messages[i * n + j]` is message j of instance i.
    func chosenSend1ofN(messages: [UInt64], n: Int, bits: Int) throws
    /// Chosen-message 1-of-N OT, receiver side: message `choices[i]` of instance i.
    func chosenReceive1ofN(choices: [UInt8], n: Int, bits: Int) throws -> [UInt64]

    /// Two batches of chosen 1-of-N OT in opposite directions in one call: this party is the
    /// sender of `sendCount` instances whose messages are packed (message j of instance i is value
    /// i·n + j of `packedMessages`, `bits` bits each, least significant bit first, as on the wire)
    /// and the receiver with `choices`; the peer makes the mirrored call at the same time (its
    /// `sendCount` is this party's `choices.count` and vice versa). Returns message `choices[i]` of
    /// the peer's instance i. `party` fixes who speaks first.
    ///
    /// An engine can overlap the two directions so that both parties do sender work at the same
    /// time; the default runs them one after the other (vendor's batch first).
    func chosenExchange1ofN(packedMessages: [UInt64], sendCount: Int, choices: [UInt8], n: Int, bits: Int,
                            party: Party) throws -> [UInt64]
}

extension ObliviousTransfer {
    /// Default random bit OT, sender: the low bits of a random OT's messages.
    public func randomBitSend(count: Int) throws -> (m0: [UInt64], m1: [UInt64]) {
        let (m0, m1) = try randomSend(count: count)
        return (packLowBits(m0), packLowBits(m1))
    }

    /// Default random bit OT, receiver: choices from the OS CSPRNG, then a random OT.
    public func randomBitReceive(count: Int) throws -> (choices: [UInt64], messages: [UInt64]) {
        var choices = [UInt64](repeating: 0, count: (count + 63) / 64)
        choices.withUnsafeMutableBytes { SecureRandom.fill($0) }
        if count % 64 != 0 { choices[choices.count - 1] &= (1 << UInt64(count % 64)) &- 1 }
        let bits = choices
        let received = try randomReceive(choices: (0..<count).map { (bits[$0 >> 6] >> UInt64($0 & 63)) & 1 == 1 })
        return (choices, packLowBits(received))
    }

    /// Default cost: a random OT of an extension-style engine (a 128-bit row).
    public var bitsPerRandomBitOT: Double { 128 }

    public func chosenExchange1ofN(packedMessages: [UInt64], sendCount: Int, choices: [UInt8], n: Int, bits: Int,
                                   party: Party) throws -> [UInt64] {
        guard (1...64).contains(bits), packedMessages.count * 64 >= sendCount * n * bits else {
            throw OTError.invalidArgument("1-of-\(n) OT of \(sendCount) instances with \(packedMessages.count) packed words of \(bits)-bit messages")
        }
        let messages = packedMessages.withUnsafeBufferPointer { words in
            (0..<(sendCount * n)).map { BitPacking.extract(words.baseAddress!, index: $0, bits: bits) }
        }
        if party == .vendor {
            try chosenSend1ofN(messages: messages, n: n, bits: bits)
            return try chosenReceive1ofN(choices: choices, n: n, bits: bits)
        } else {
            let received = try chosenReceive1ofN(choices: choices, n: n, bits: bits)
            try chosenSend1ofN(messages: messages, n: n, bits: bits)
            return received
        }
    }
}

/// Bit i of the result is the low bit of blocks[i].
func packLowBits(_ blocks: [Block]) -> [UInt64] {
    var words = [UInt64](repeating: 0, count: (blocks.count + 63) / 64)
    for i in blocks.indices { words[i >> 6] |= (blocks[i].low & 1) << UInt64(i & 63) }
    return words
}

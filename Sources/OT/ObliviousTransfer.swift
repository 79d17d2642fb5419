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

    /// Random 1-of-2 OT of short messages with random choices, sender side: `count` instances of
    /// `width`-bit messages (1 ≤ width ≤ 64) as bit planes: with W = ⌈count / 64⌉ words per plane,
    /// bit i of word j·W + i / 64 of `m0` (`m1`) is bit j of message 0 (1) of instance i, least
    /// significant first. Both messages and the receiver's choices are drawn inside the engine, so
    /// nothing needs to be derandomised: on a silent engine the instances cost only their COTs.
    func randomBitSend(count: Int, width: Int) throws -> (m0: [UInt64], m1: [UInt64])
    /// Random OT of short messages, receiver side: the engine's random choices c_i (one plane) and
    /// the messages m_{c_i} (`width` planes, laid out as `randomBitSend`'s; padding bits are 0).
    func randomBitReceive(count: Int, width: Int) throws -> (choices: [UInt64], messages: [UInt64])
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
    /// Default random bit OT, sender: the low `width` bits of a random OT's messages.
    public func randomBitSend(count: Int, width: Int) throws -> (m0: [UInt64], m1: [UInt64]) {
        try checkPlaneWidth(width)
        let (m0, m1) = try randomSend(count: count)
        return (bitPlanes(m0.map(\.low), width: width), bitPlanes(m1.map(\.low), width: width))
    }

    /// Default random bit OT, receiver: choices from the OS CSPRNG, then a random OT.
    public func randomBitReceive(count: Int, width: Int) throws -> (choices: [UInt64], messages: [UInt64]) {
        try checkPlaneWidth(width)
        var choices = [UInt64](repeating: 0, count: (count + 63) / 64)
        choices.withUnsafeMutableBytes { SecureRandom.fill($0) }
        if count % 64 != 0 { choices[choices.count - 1] &= (1 << UInt64(count % 64)) &- 1 }
        let bits = choices
        let received = try randomReceive(choices: (0..<count).map { (bits[$0 >> 6] >> UInt64($0 & 63)) & 1 == 1 })
        return (choices, bitPlanes(received.map(\.low), width: width))
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

/// The low `width` bits of `values` as bit planes: bit i of word j·W + i / 64 is bit j of
/// values[i], W = ⌈values.count / 64⌉.
func bitPlanes(_ values: [UInt64], width: Int) -> [UInt64] {
    let w = (values.count + 63) / 64
    var planes = [UInt64](repeating: 0, count: w * width)
    for i in values.indices {
        for j in 0..<width { planes[j * w + (i >> 6)] |= ((values[i] >> UInt64(j)) & 1) << UInt64(i & 63) }
    }
    return planes
}

/// Throws unless 1 ≤ width ≤ 64.
func checkPlaneWidth(_ width: Int) throws {
    guard (1...64).contains(width) else { throw OTError.invalidArgument("random OT message width \(width) bits; must be 1…64") }
}

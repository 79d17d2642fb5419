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

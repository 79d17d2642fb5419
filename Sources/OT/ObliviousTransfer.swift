import CryptoPrimitives

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
}

import CryptoPrimitives
import Transport

/// The OT machinery of one party on one channel: Chou–Orlandi base OTs, IKNP extension in both
/// directions (random, correlated and chosen 1-of-2 OT) and Kolesnikov–Kumaresan 1-of-N OT.
///
/// Who holds what: each party is the extension sender in one direction (it holds a secret Δ, its
/// base-OT choices, and the base-OT keys it chose) and the extension receiver in the other (it holds
/// both base-OT keys of each of 128 columns). Revealed (semi-honest): to the receiver of a batch
/// only its chosen messages; to the sender nothing about the choices. Set-up costs one round trip
/// of 2·128 P-256 base OTs and 2·256 IKNP OTs; afterwards random OT costs 16 bytes per instance,
/// correlated OT 16 bytes + ℓ bits, chosen 1-of-2 OT 16 bytes + 2ℓ bits, 1-of-N OT 32 bytes + Nℓ
/// bits.
///
/// Every batched call streams its chunks: one round trip whatever the batch (random OT: none),
/// `chosenExchange1ofN` two per 2^20 instances each way.
///
/// Calls must be matched by the peer (see `ObliviousTransfer`) and made from one thread at a time.
/// Security: 128-bit computational (P-256, AES-128 as PRG and, under a fixed public key, as the
/// ideal permutation of the correlation-robust hash); no statistical parameter is involved.
/// Needs an x86-64 CPU with AVX2 (the module is built with `-target-cpu haswell`).
public final class IKNPObliviousTransfer: ObliviousTransfer {
    /// This party.
    public let party: Party
    let iknp: IKNPExtension
    let kk: KK13Extension
    private let secrets: SecretRandomness

    /// Sets up OT with the peer (which must call this at the same time with the other party),
    /// secrets drawn from the OS CSPRNG. Throws `OTError.invalidPoint` if the peer's base-OT points
    /// are invalid, or the channel's `TransportError`.
    public convenience init(channel: Channel, party: Party) throws {
        try self.init(channel: channel, party: party, secrets: .system())
    }

    /// Tests only: every secret (Δ, s, base-OT scalars) comes from `randomness`.
    /// - Warning: insecure unless `randomness` was seeded with a secret, unpredictable seed.
    convenience init(channel: Channel, party: Party, randomness: AESPRG) throws {
        try self.init(channel: channel, party: party, secrets: .insecureSeeded(randomness))
    }

    /// Set-up steps (both parties run them in the same order):
    /// 1–2. Δ and the base OTs in both directions (`IKNPExtension.establish`).
    /// 3. KK13 set-up: 256 IKNP random OTs each way seed the 256-bit extension
    ///    (`KK13Extension.init(bootstrappingFrom:secrets:)`).
    init(channel: Channel, party: Party, secrets: SecretRandomness) throws {
        self.party = party
        self.secrets = secrets
        // Steps 1–2.
        iknp = try IKNPExtension.establish(channel: channel, party: party, secrets: secrets)
        // Step 3.
        kk = try KK13Extension(bootstrappingFrom: iknp, secrets: secrets)
    }

    public func randomSend(count: Int) throws -> (m0: [Block], m1: [Block]) {
        try iknp.randomSend(count: count)
    }

    public func randomReceive(choices: [Bool]) throws -> [Block] {
        try iknp.randomReceive(choices: choices)
    }

    /// Random bit OT, sender: the low `width` bits of an IKNP random OT's two messages (16 bytes
    /// per instance from the receiver, as for any IKNP OT).
    public func randomBitSend(count: Int, width: Int) throws -> (m0: [UInt64], m1: [UInt64]) {
        try checkPlaneWidth(width)
        let (m0, m1) = try iknp.randomSend(count: count)
        return (bitPlanes(m0.map(\.low), width: width), bitPlanes(m1.map(\.low), width: width))
    }

    /// Random bit OT, receiver: choices from this party's secret randomness, then an IKNP random OT.
    public func randomBitReceive(count: Int, width: Int) throws -> (choices: [UInt64], messages: [UInt64]) {
        try checkPlaneWidth(width)
        var choices = secrets.words((count + 63) / 64)
        if count % 64 != 0 { choices[choices.count - 1] &= (1 << UInt64(count % 64)) &- 1 }
        let bits = choices
        let received = try iknp.randomReceive(choices: (0..<count).map { (bits[$0 >> 6] >> UInt64($0 & 63)) & 1 == 1 })
        return (choices, bitPlanes(received.map(\.low), width: width))
    }

    /// IKNP: the receiver's 128-bit row of the extension matrix per instance.
    public var bitsPerRandomBitOT: Double { 128 }

    /// Correlated OT over Z_2^bits (1 ≤ bits ≤ 64), sender: x_i is random; Δ_i is taken mod 2^bits.
    public func correlatedSend(deltas: [UInt64], bits: Int) throws -> [UInt64] {
        try iknp.correlatedSend(deltas: deltas, bits: bits)
    }

    public func correlatedReceive(choices: [Bool], bits: Int) throws -> [UInt64] {
        try iknp.correlatedReceive(choices: choices, bits: bits)
    }

    /// Chosen 1-of-2 OT (1 ≤ bits ≤ 64); message bits above `bits` are ignored.
    public func chosenSend(m0: [UInt64], m1: [UInt64], bits: Int) throws {
        try iknp.chosenSend(m0: m0, m1: m1, bits: bits)
    }

    public func chosenReceive(choices: [Bool], bits: Int) throws -> [UInt64] {
        try iknp.chosenReceive(choices: choices, bits: bits)
    }

    /// Chosen 1-of-N OT (Kolesnikov–Kumaresan); message bits above `bits` are ignored.
    public func chosenSend1ofN(messages: [UInt64], n: Int, bits: Int) throws {
        try kk.send(messages: messages, n: n, bits: bits)
    }

    public func chosenReceive1ofN(choices: [UInt8], n: Int, bits: Int) throws -> [UInt64] {
        try kk.receive(choices: choices, n: n, bits: bits)
    }

    /// Both directions at once (Kolesnikov–Kumaresan): the two parties' sender work overlaps, and
    /// the call costs two round trips per 2^20 instances each way (`KK13Extension.exchange`).
    public func chosenExchange1ofN(packedMessages: [UInt64], sendCount: Int, choices: [UInt8], n: Int, bits: Int,
                                   party: Party) throws -> [UInt64] {
        guard party == self.party else { throw OTError.invalidArgument("chosenExchange1ofN called for \(party) on the \(self.party)'s engine") }
        return try kk.exchange(packedMessages: packedMessages, sendCount: sendCount, choices: choices, n: n, bits: bits,
                               speaksFirst: party == .vendor)
    }
}


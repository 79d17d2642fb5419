import CryptoPrimitives
import OT
import Transport

/// One party's end of a two-party computation: who it is, the channel to the peer, the oblivious
/// transfer engine on that channel, and its randomness. Every protocol is a method on the session,
/// so there is no global state; both parties call the same methods in the same order with inputs
/// of the same public shapes.
///
/// Randomness:
/// - `prg` is private: seeded from the OS CSPRNG, never shared (masks, share splitting).
/// - `commonPRG` is seeded with a value both parties know (`establish` has the vendor send it).
///   It only serves randomness that may be public to both parties, e.g. the peer's share of a
///   value the owner shares ("share = x − r, peer's share = r"): that is secure because r is
///   independent of x and the owner keeps x − r. Both parties must draw from it in lockstep.
///
/// A session is used by one thread at a time (like its channel).
public final class TwoPartySession {
    public let party: Party
    public let channel: any Channel
    public let ot: any ObliviousTransfer
    /// Private randomness.
    public let prg: AESPRG
    /// Randomness known to both parties (see the type's documentation).
    public let commonPRG: AESPRG

    /// A session from explicit seeds (tests that need determinism; production uses `establish`).
    public init(party: Party, channel: any Channel, ot: any ObliviousTransfer, commonSeed: Block,
                privateSeed: Block = SecureRandom.block()) {
        self.party = party
        self.channel = channel
        self.ot = ot
        self.prg = AESPRG(seed: privateSeed)
        self.commonPRG = AESPRG(seed: commonSeed)
    }

    /// Agrees on the common seed (the vendor draws it and sends it; semi-honest model) and returns
    /// the session. Both parties call it at the same time on the two ends of the channel.
    public static func establish(party: Party, channel: any Channel, ot: any ObliviousTransfer) throws -> TwoPartySession {
        let seed: Block
        if party == .vendor {
            seed = SecureRandom.block()
            try channel.send(value: seed)
            try channel.flush()
        } else {
            seed = try channel.receive(Block.self)
        }
        return TwoPartySession(party: party, channel: channel, ot: ot, commonSeed: seed)
    }

    /// Whether this party is the one that adds public constants (the vendor, by convention).
    @inlinable public var isLeader: Bool { party == .vendor }

    /// Exchanges equally long word arrays with the peer in one round trip and returns the peer's.
    ///
    /// The vendor sends first and the hospital answers after reading, so two blocking TCP endpoints
    /// never both wait on full send buffers (a simultaneous exchange could deadlock on large batches).
    package func exchange(_ mine: [UInt64]) throws -> [UInt64] {
        if party == .vendor {
            try channel.send(mine)
            try channel.flush()
            return try channel.receive(UInt64.self, count: mine.count)
        } else {
            let theirs = try channel.receive(UInt64.self, count: mine.count)
            try channel.send(mine)
            try channel.flush()
            return theirs
        }
    }

    /// Sends words to the peer (and flushes).
    func sendWords(_ words: [UInt64]) throws {
        try channel.send(words)
        try channel.flush()
    }

    /// Receives `count` words from the peer.
    func receiveWords(_ count: Int) throws -> [UInt64] {
        try channel.receive(UInt64.self, count: count)
    }
}

/// Bit-packing helpers for sending shares of bits.
enum BitPacking {
    /// Packs 0/1 bytes into words (bit i of the result is `bits[i] & 1`).
    static func pack(_ bits: [UInt8]) -> [UInt64] {
        var words = [UInt64](repeating: 0, count: (bits.count + 63) / 64)
        bits.withUnsafeBufferPointer { b in
            words.withUnsafeMutableBufferPointer { w in
                for i in 0..<b.count { w[i >> 6] |= UInt64(b[i] & 1) << UInt64(i & 63) }
            }
        }
        return words
    }

    /// Unpacks `count` bits.
    static func unpack(_ words: [UInt64], count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { b, initialized in
            words.withUnsafeBufferPointer { w in
                for i in 0..<count { b[i] = UInt8(truncatingIfNeeded: (w[i >> 6] >> UInt64(i & 63)) & 1) }
            }
            initialized = count
        }
    }
}

/// 2^bits − 1 (all ones for 64).
@inlinable @inline(__always)
func ringMask(_ bits: Int) -> UInt64 { bits >= 64 ? .max : (1 << UInt64(bits)) &- 1 }

import CryptoPrimitives
import Foundation
@testable import OT
@testable import Protocols
import RingArithmetic
import Transport

/// The OT engines every protocol test runs against (one generic test body per engine).
enum OTEngine: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Test-only, insecure: the sender sends both messages.
    case insecureIdeal
    /// The real engine: Chou–Orlandi base OT, IKNP extension, Kolesnikov–Kumaresan 1-of-N.
    case iknp
    /// Ferret silent OT at the insecure test sizes (an iteration every 3,456 COTs), so that the
    /// protocols cross many Ferret iterations in milliseconds; the 128-bit sets are exercised by
    /// `OTTests.SilentOTTests` and by the benchmark.
    case silent

    var description: String { rawValue }

    /// Sets up the engine (the peer does the same at the same time).
    func make(channel: MemoryChannel, party: Party) throws -> any ObliviousTransfer {
        switch self {
        case .insecureIdeal: InsecureIdealOT(channel: channel)
        case .iknp: try IKNPObliviousTransfer(channel: channel, party: party)
        case .silent: try SilentObliviousTransfer(channel: channel, party: party, secrets: .system(), schedule: .insecureTest)
        }
    }
}

/// What one party's run produced and what its channel saw.
struct PartyRun<T: Sendable>: Sendable {
    var result: T
    var statistics: ChannelStatistics
    /// Ferret iterations the silent engine ran in both directions (bootstrap included; 0 for
    /// other engines): each one may add up to two rounds (`SilentObliviousTransfer`).
    var otIterations: Int = 0
}

/// Rounds of one party with the OT engine's extra iterations, for comparing two batch sizes.
struct RoundCount: Equatable, Sendable, CustomStringConvertible {
    var rounds: Int
    var otIterations: Int
    var description: String { "\(rounds) rounds (\(otIterations) Ferret iterations)" }

    /// Whether `larger` (a bigger batch) cost the same rounds as `self`, apart from up to two
    /// rounds per Ferret iteration either run saw: an iteration adds rounds or not depending on
    /// the call it starts in (its tree messages may travel with a message that goes anyway), so
    /// with iterations the counts may differ either way by that much; without, they must match.
    func sameProtocolRounds(as larger: RoundCount) -> Bool {
        let slack = 2 * Swift.max(otIterations, larger.otIterations)
        return abs(larger.rounds - rounds) <= slack
    }
}

extension PartyRun {
    var roundCount: RoundCount { RoundCount(rounds: statistics.rounds, otIterations: otIterations) }
}

/// Runs `body` as the vendor and as the hospital on two threads over an in-memory channel pair
/// (with the given OT engine; the shared `TwoPartyRunner`) and returns both results and channel
/// statistics.
func runTwoParties<T: Sendable>(_ engine: OTEngine, timeout: Double = 120,
                                _ body: @escaping @Sendable (TwoPartySession) throws -> T) throws -> (vendor: PartyRun<T>, hospital: PartyRun<T>) {
    let seed = SecureRandom.block()
    @Sendable func party(_ party: Party, _ channel: MemoryChannel) throws -> PartyRun<T> {
        let ot = try engine.make(channel: channel, party: party)
        let session = TwoPartySession(party: party, channel: channel, ot: ot, commonSeed: seed)
        let result = try body(session)
        let iterations = (ot as? SilentObliviousTransfer).map { $0.iterations.asSender + $0.iterations.asReceiver } ?? 0
        return PartyRun(result: result, statistics: channel.statistics, otIterations: iterations)
    }
    let r = try TwoPartyRunner.run(timeout: timeout, vendor: { try party(.vendor, $0) }, hospital: { try party(.hospital, $0) })
    return (r.vendor, r.hospital)
}

/// Random additive shares of signed values over Z_2^bits, made in the clear by the test.
func splitShares(_ values: [Int64], bits: Int, prg: AESPRG = AESPRG()) -> (vendor: ArithmeticShare, hospital: ArithmeticShare) {
    let m = bits == 64 ? UInt64.max : (1 << UInt64(bits)) &- 1
    let r = prg.ringElements(values.count, bits: bits)
    let other = zip(values, r).map { (UInt64(bitPattern: $0) &- $1) & m }
    return (ArithmeticShare(bits: bits, values: r), ArithmeticShare(bits: bits, values: other))
}

/// Random XOR shares of bits.
func splitBits(_ bits: [UInt8]) -> (vendor: BooleanShare, hospital: BooleanShare) {
    let r = SecureRandom.bytes(bits.count).map { $0 & 1 }
    return (BooleanShare(bits: r), BooleanShare(bits: zip(bits, r).map { $0 ^ $1 }))
}

/// The signed values two shares add up to.
func reconstruct(_ a: ArithmeticShare, _ b: ArithmeticShare) -> [Int64] {
    precondition(a.bits == b.bits && a.count == b.count)
    let shift = UInt64(64 - a.bits)
    return zip(a.values, b.values).map { Int64(bitPattern: ($0 &+ $1) << shift) >> Int64(shift) }
}

/// The bits two XOR shares add up to.
func reconstruct(_ a: BooleanShare, _ b: BooleanShare) -> [UInt8] {
    zip(a.bits, b.bits).map { $0 ^ $1 }
}

/// The formats every protocol is tested at: CrypTFlow2's ℓ = 37, s = 12; the full ℓ = 64, s = 16;
/// and a small ring ℓ = 8, s = 3 where exhaustive-ish coverage is cheap.
let testFormats: [FixedPointFormat] = [
    try! FixedPointFormat(ringBits: 37, scale: 12),
    try! FixedPointFormat(ringBits: 64, scale: 16),
    try! FixedPointFormat(ringBits: 8, scale: 3),
]

extension FixedPointFormat {
    /// Edge values: 0, ±1 ulp, the extremes and their neighbours, and values next to multiples of
    /// 2^s (the truncation boundary), positive and negative.
    var edgeValues: [Int64] {
        var v: [Int64] = [0, 1, -1, 2, -2, minSigned, minSigned + 1, minSigned + 2, maxSigned, maxSigned - 1, maxSigned - 2]
        let step = Int64(1) << Int64(scale)
        for k: Int64 in [1, 2, 3, 5] {
            for base in [k * step, -k * step] {
                for delta: Int64 in [-1, 0, 1] { v.append(base + delta) }
            }
        }
        for delta: Int64 in [-1, 0, 1] {
            v.append(wrap(minSigned &+ step &+ delta))
            v.append(wrap(maxSigned &- step &+ delta))
        }
        return v.map(wrap)
    }

    /// Uniformly random signed values.
    func randomValues(_ count: Int, prg: AESPRG = AESPRG()) -> [Int64] {
        prg.ringElements(count, bits: ringBits).map { wrap(Int64(bitPattern: $0)) }
    }

    /// Random values of small magnitude (|x| < 2^magnitudeBits), the common case in networks.
    func smallValues(_ count: Int, magnitudeBits: Int, prg: AESPRG = AESPRG()) -> [Int64] {
        let bits = Swift.min(magnitudeBits, ringBits - 1)
        return prg.words(count).map { w in
            let v = Int64(bitPattern: w) >> Int64(64 - bits - 1)
            return wrap(v)
        }
    }

    /// Edge values, random values and small values, shuffled together.
    func testValues(random: Int = 300, small: Int = 300) -> [Int64] {
        (edgeValues + randomValues(random) + smallValues(small, magnitudeBits: scale + 4)).shuffled()
    }
}

import CryptoPrimitives
import Foundation
import Transport
@testable import OT

/// Runs the vendor's and the hospital's sides concurrently on two threads over a fresh
/// `MemoryChannel` pair (the shared `TwoPartyRunner`: a side that throws closes its end, so the
/// other fails with `peerClosed` instead of waiting; both ends must be drained at the end) and
/// returns both results, or rethrows the first error.
func runTwoParties<V: Sendable, H: Sendable>(timeout: Double = 60,
                                             vendor: @escaping @Sendable (MemoryChannel) throws -> V,
                                             hospital: @escaping @Sendable (MemoryChannel) throws -> H) throws -> (V, H) {
    let r = try TwoPartyRunner.run(timeout: timeout, vendor: vendor, hospital: hospital)
    return (r.vendor, r.hospital)
}

/// A channel that forwards to another and records every byte this end receives, with the
/// boundaries of the receive calls.
final class RecordingChannel: Channel {
    let inner: Channel
    private(set) var received: [UInt8] = []
    private(set) var receiveSizes: [Int] = []
    /// Position in `received` at which `mark()` was last called.
    private(set) var markedOffset = 0

    init(_ inner: Channel) { self.inner = inner }

    func send(_ bytes: UnsafeRawBufferPointer) throws { try inner.send(bytes) }
    func flush() throws { try inner.flush() }
    var statistics: ChannelStatistics { inner.statistics }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws {
        try inner.receive(into: buffer)
        received.append(contentsOf: buffer)
        receiveSizes.append(buffer.count)
    }

    /// Marks the end of the set-up part of the transcript.
    func mark() { markedOffset = received.count }
}

/// Deterministic test inputs (not secrets).
struct TestInputs {
    let prg: AESPRG
    init(_ seed: UInt64) { prg = AESPRG(seed: Block(low: seed, high: 0x7e57)) }
    func bools(_ count: Int) -> [Bool] { prg.words(count).map { $0 & 1 == 1 } }
    func bytes(_ count: Int, below n: Int) -> [UInt8] { prg.words(count).map { UInt8(truncatingIfNeeded: $0 % UInt64(n)) } }
    func values(_ count: Int, bits: Int) -> [UInt64] { prg.ringElements(count, bits: bits) }
}

/// Seeded OT objects for both parties (tests only).
func seededOT(_ channel: Channel, _ party: Party, seed: UInt64) throws -> IKNPObliviousTransfer {
    try IKNPObliviousTransfer(channel: channel, party: party,
                              randomness: AESPRG(seed: Block(low: seed, high: party == .vendor ? 1 : 2)))
}

func mask(_ bits: Int) -> UInt64 { bits == 64 ? .max : (1 << UInt64(bits)) - 1 }

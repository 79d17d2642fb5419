import OT
import CryptoPrimitives
import Foundation
import Transport

/// One OT throughput measurement: both parties in this process on two threads over
/// `MemoryChannel.pair()`, the vendor as sender. Set-up (base OTs, KK13 bootstrap) is timed
/// separately and excluded from `seconds`.
public struct OTBenchmarkResult: Sendable, Equatable, Codable {
    /// "random", "correlated", "1-of-N" (IKNP / KK13), "silent-cot" (Ferret random COT),
    /// "silent-correlated" or "silent-1-of-N" (`SilentObliviousTransfer`).
    public var kind: String
    /// OT instances in the timed batch.
    public var count: Int
    /// Correlation or message width ℓ (128 for random OT).
    public var bits: Int
    /// N for 1-of-N OT, 2 otherwise.
    public var n: Int
    /// Wall-clock seconds of the batch (both parties finished).
    public var seconds: Double
    /// Instances per second.
    public var perSecond: Double
    /// Bytes both parties sent during the batch, per instance.
    public var bytesPerOT: Double
    /// Direction changes (rounds) seen by the receiver during the batch.
    public var rounds: Int
    /// CPU seconds the sender's and the receiver's thread spent on the batch. On a shared,
    /// loaded machine these are steadier than `seconds`.
    public var senderCPUSeconds: Double
    public var receiverCPUSeconds: Double
    /// Instances per second if each party had a core to itself: count / the larger CPU time.
    public var perSecondCPUBound: Double
    /// Wall-clock seconds of the engine's set-up (slower party): `IKNPObliviousTransfer.init`, or
    /// for silent COT the base OTs, IKNP and Ferret's bootstrap iteration.
    public var setupSeconds: Double
    /// Bytes both parties sent during set-up.
    public var setupBytes: Int

    enum CodingKeys: String, CodingKey {
        case kind, count, bits, n, seconds, rounds
        case perSecond = "per_second", bytesPerOT = "bytes_per_ot", setupSeconds = "setup_seconds", setupBytes = "setup_bytes"
        case senderCPUSeconds = "sender_cpu_seconds", receiverCPUSeconds = "receiver_cpu_seconds"
        case perSecondCPUBound = "per_second_cpu_bound"
    }
}

/// OT throughput benchmarks, for `validate-inspect bench primitives` (JSON keys `random_ot_per_s`,
/// `correlated_ot_per_s`, …). Inputs are fixed-seed test data, not secrets.
public enum OTBenchmark {
    /// Random OTs (128-bit messages) per second.
    public static func randomOTsPerSecond(count: Int) throws -> Double { try measureRandomOT(count: count).perSecond }

    /// Correlated OTs over Z_2^bits per second.
    public static func correlatedOTsPerSecond(count: Int, bits: Int) throws -> Double {
        try measureCorrelatedOT(count: count, bits: bits).perSecond
    }

    /// 1-of-16 OTs of `bits`-bit messages per second (the millionaires' protocol's 4-bit digits).
    public static func oneOf16OTsPerSecond(count: Int, bits: Int = 2) throws -> Double {
        try measureOneOfNOT(count: count, n: 16, bits: bits).perSecond
    }

    public static func measureRandomOT(count: Int) throws -> OTBenchmarkResult {
        let choices = randomChoices(count)
        return try measure(kind: "random", count: count, bits: 128, n: 2,
                           sender: { _ = try $0.randomSend(count: count) },
                           receiver: { _ = try $0.randomReceive(choices: choices) })
    }

    public static func measureCorrelatedOT(count: Int, bits: Int) throws -> OTBenchmarkResult {
        let choices = randomChoices(count)
        let deltas = AESPRG(seed: Block(low: 2, high: 0)).ringElements(count, bits: bits)
        return try measure(kind: "correlated", count: count, bits: bits, n: 2,
                           sender: { _ = try $0.correlatedSend(deltas: deltas, bits: bits) },
                           receiver: { _ = try $0.correlatedReceive(choices: choices, bits: bits) })
    }

    public static func measureOneOfNOT(count: Int, n: Int, bits: Int) throws -> OTBenchmarkResult {
        let prg = AESPRG(seed: Block(low: 3, high: 0))
        let messages = prg.ringElements(count * n, bits: bits)
        let choices = prg.words(count).map { UInt8(truncatingIfNeeded: $0) & UInt8(truncatingIfNeeded: n - 1) }
        return try measure(kind: "1-of-N", count: count, bits: bits, n: n,
                           sender: { try $0.chosenSend1ofN(messages: messages, n: n, bits: bits) },
                           receiver: { _ = try $0.chosenReceive1ofN(choices: choices, n: n, bits: bits) })
    }

    /// Ferret silent random COTs (`FerretCOTSender` / `FerretCOTReceiver`, the 128-bit parameter
    /// sets), vendor as COT sender. Set-up (base OTs, IKNP, and the bootstrap iteration, whose
    /// output is drawn before the clock starts) is excluded; the timed batch is `count` rounded up
    /// to whole main iterations (10,001,981 COTs each), so no iteration is timed half-used.
    /// `bytesPerOT` · 8 is the amortised communication in bits per COT.
    public static func measureSilentCOT(count requested: Int) throws -> OTBenchmarkResult {
        let schedule = FerretSchedule.standard
        let perIteration = schedule.outputPerIteration
        let count = max(1, (requested + perIteration - 1) / perIteration) * perIteration
        let bootstrapLeft = schedule.bootstrap.n - schedule.main.reserve
        return try measure(kind: "silent-cot", count: count, bits: 128, n: 2,
                           setUp: { (channel: Channel, party: Party) -> SilentBenchmarkEnds in
                               let secrets = SecretRandomness.system()
                               let iknp = try IKNPExtension.establish(channel: channel, party: party, secrets: secrets, deltaLowBitSet: true)
                               let ends = SilentBenchmarkEnds()
                               if party == .vendor {
                                   ends.sender = try .bootstrapping(from: iknp, schedule: schedule, secrets: secrets)
                                   _ = try ends.sender!.next(count: bootstrapLeft)
                               } else {
                                   ends.receiver = try .bootstrapping(from: iknp, schedule: schedule, secrets: secrets)
                                   _ = try ends.receiver!.next(count: bootstrapLeft)
                               }
                               return ends
                           },
                           sender: { (ends: SilentBenchmarkEnds) in try Self.drain(count: count) { try ends.sender!.next(count: $1, into: $0) } },
                           receiver: { (ends: SilentBenchmarkEnds) in try Self.drain(count: count) { try ends.receiver!.next(count: $1, into: $0) } })
    }

    /// Correlated OTs over Z_2^bits on `SilentObliviousTransfer` (128-bit sets), vendor as sender.
    /// A warm-up call in the set-up uses up the bootstrap iteration's output, so the timed batch
    /// (`iterations` · 10,001,981 instances, one COT each) runs and pays for exactly that many
    /// main iterations.
    public static func measureSilentCorrelatedOT(iterations: Int = 1, bits: Int) throws -> OTBenchmarkResult {
        let schedule = FerretSchedule.standard
        let count = iterations * schedule.outputPerIteration
        let warmUp = schedule.bootstrap.n - schedule.main.reserve
        let choices = randomChoices(count)
        let deltas = AESPRG(seed: Block(low: 2, high: 0)).ringElements(count, bits: bits)
        return try measure(kind: "silent-correlated", count: count, bits: bits, n: 2,
                           setUp: { (channel: Channel, party: Party) -> SilentObliviousTransfer in
                               let ot = try SilentObliviousTransfer(channel: channel, party: party)
                               if party == .vendor { _ = try ot.correlatedSend(deltas: [UInt64](repeating: 0, count: warmUp), bits: bits) }
                               else { _ = try ot.correlatedReceive(choices: [Bool](repeating: false, count: warmUp), bits: bits) }
                               return ot
                           },
                           sender: { (ot: SilentObliviousTransfer) in _ = try ot.correlatedSend(deltas: deltas, bits: bits) },
                           receiver: { (ot: SilentObliviousTransfer) in _ = try ot.correlatedReceive(choices: choices, bits: bits) })
    }

    /// Chosen 1-of-N OTs on `SilentObliviousTransfer` (log2 N COTs each), vendor as sender. As for
    /// correlated OT, the warm-up uses up the bootstrap output and the timed batch is as many
    /// instances as `iterations` main iterations feed (2,500,495 for N = 16).
    public static func measureSilentOneOfNOT(iterations: Int = 1, n: Int, bits: Int) throws -> OTBenchmarkResult {
        let schedule = FerretSchedule.standard
        let perInstance = n.trailingZeroBitCount
        let count = iterations * schedule.outputPerIteration / perInstance
        let warmUp = (schedule.bootstrap.n - schedule.main.reserve) / perInstance
        let prg = AESPRG(seed: Block(low: 3, high: 0))
        let messages = prg.ringElements(count * n, bits: bits)
        let choices = prg.words(count).map { UInt8(truncatingIfNeeded: $0) & UInt8(truncatingIfNeeded: n - 1) }
        return try measure(kind: "silent-1-of-N", count: count, bits: bits, n: n,
                           setUp: { (channel: Channel, party: Party) -> SilentObliviousTransfer in
                               let ot = try SilentObliviousTransfer(channel: channel, party: party)
                               if party == .vendor { try ot.chosenSend1ofN(messages: [UInt64](repeating: 0, count: warmUp * n), n: n, bits: bits) }
                               else { _ = try ot.chosenReceive1ofN(choices: [UInt8](repeating: 0, count: warmUp), n: n, bits: bits) }
                               return ot
                           },
                           sender: { (ot: SilentObliviousTransfer) in try ot.chosenSend1ofN(messages: messages, n: n, bits: bits) },
                           receiver: { (ot: SilentObliviousTransfer) in _ = try ot.chosenReceive1ofN(choices: choices, n: n, bits: bits) })
    }

    /// The LPN step of one Ferret main iteration on this thread alone (`LPNEncoder.encode`, the
    /// 128-bit main set: 10,608,640 rows, each the XOR of 10 of the 589,824 blocks of u, chosen by
    /// an AES-CTR stream), in rows per second: the best of `runs` timed encodings after one
    /// warm-up, on a random u. Every COT costs one row on each side (the sender's generator and
    /// the receiver's), so this is the ceiling this step alone puts on COTs per second per core.
    public static func measureLPNEncoding(runs: Int = 3) -> Double {
        let parameters = FerretParameters.main
        let prg = AESPRG(seed: Block(low: 4, high: 0))
        var u = [Block](repeating: .zero, count: parameters.k)
        u.withUnsafeMutableBytes { prg.fill($0) }
        var out = [Block](repeating: .zero, count: parameters.n)
        let encoder = LPNEncoder(parameters: parameters, seed: Block(low: 5, high: 0))
        var best = Double.infinity
        u.withUnsafeBufferPointer { u in
            out.withUnsafeMutableBufferPointer { out in
                for run in 0...max(runs, 1) {
                    let start = Date()
                    encoder.encode(u: u.baseAddress!, into: out.baseAddress!)
                    if run > 0 { best = min(best, Date().timeIntervalSince(start)) }
                }
            }
        }
        return Double(parameters.n) / best
    }

    /// Draws `count` COTs through one reused 1 MiB buffer (the caller's side of a generator).
    private static func drain(count: Int, _ next: (UnsafeMutablePointer<Block>, Int) throws -> Void) throws {
        let chunk = 1 << 16
        let buffer = UnsafeMutablePointer<Block>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        var done = 0
        while done < count {
            let n = min(chunk, count - done)
            try next(buffer, n)
            done += n
        }
    }

    /// Benchmark inputs, not secrets: a fixed-seed stream is fine here.
    private static func randomChoices(_ count: Int) -> [Bool] {
        let words = AESPRG(seed: Block(low: 1, high: 0)).words((count + 63) / 64)
        return (0..<count).map { (words[$0 >> 6] >> UInt64($0 & 63)) & 1 == 1 }
    }

    /// Runs set-up on both threads, waits until both are ready, then times the batch.
    private static func measure(kind: String, count: Int, bits: Int, n: Int,
                                sender: @escaping @Sendable (IKNPObliviousTransfer) throws -> Void,
                                receiver: @escaping @Sendable (IKNPObliviousTransfer) throws -> Void) throws -> OTBenchmarkResult {
        try measure(kind: kind, count: count, bits: bits, n: n,
                    setUp: { try IKNPObliviousTransfer(channel: $0, party: $1) }, sender: sender, receiver: receiver)
    }

    /// The same for any engine `setUp` builds on each thread.
    private static func measure<Engine>(kind: String, count: Int, bits: Int, n: Int,
                                        setUp: @escaping @Sendable (Channel, Party) throws -> Engine,
                                        sender: @escaping @Sendable (Engine) throws -> Void,
                                        receiver: @escaping @Sendable (Engine) throws -> Void) throws -> OTBenchmarkResult {
        let (vendorChannel, hospitalChannel) = MemoryChannel.pair()
        let state = BenchmarkState()
        let ready = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        func party(_ party: Party, _ channel: MemoryChannel, _ work: @escaping @Sendable (Engine) throws -> Void) -> Thread {
            Thread {
                defer { done.signal() }
                do {
                    let start = Date()
                    let ot = try setUp(channel, party)
                    state.setUp(seconds: Date().timeIntervalSince(start), bytes: channel.statistics.bytesSent)
                    ready.signal()
                    go.wait()
                    let before = channel.statistics
                    let cpuBefore = threadCPUSeconds()
                    try work(ot)
                    let cpu = threadCPUSeconds() - cpuBefore
                    let after = channel.statistics
                    state.ran(party: party, bytes: after.bytesSent - before.bytesSent, rounds: after.rounds - before.rounds, cpuSeconds: cpu)
                } catch {
                    state.fail(error)
                    ready.signal()
                    channel.close()
                }
            }
        }
        let threads = [party(.vendor, vendorChannel, sender), party(.hospital, hospitalChannel, receiver)]
        for t in threads { t.stackSize = 8 << 20; t.start() }
        ready.wait(); ready.wait()
        let start = Date()
        go.signal(); go.signal()
        done.wait(); done.wait()
        let seconds = Date().timeIntervalSince(start)
        let s = state.snapshot()
        if let error = s.error { throw error }
        return OTBenchmarkResult(kind: kind, count: count, bits: bits, n: n, seconds: seconds,
                                 perSecond: Double(count) / seconds, bytesPerOT: Double(s.bytes) / Double(max(count, 1)),
                                 rounds: s.rounds, senderCPUSeconds: s.vendorCPU, receiverCPUSeconds: s.hospitalCPU,
                                 perSecondCPUBound: Double(count) / max(s.vendorCPU, s.hospitalCPU, 1e-9),
                                 setupSeconds: s.setupSeconds, setupBytes: s.setupBytes)
    }
}

/// One party's Ferret generator in the silent-COT benchmark (the vendor's sender or the
/// hospital's receiver), used only on that party's thread.
private final class SilentBenchmarkEnds {
    var sender: FerretCOTSender?
    var receiver: FerretCOTReceiver?
}

/// Results collected from the two benchmark threads.
private final class BenchmarkState: @unchecked Sendable {
    struct Snapshot { var setupSeconds = 0.0, setupBytes = 0, bytes = 0, rounds = 0, vendorCPU = 0.0, hospitalCPU = 0.0, error: Error? }
    private let lock = NSLock()
    private var value = Snapshot()

    func setUp(seconds: Double, bytes: Int) {
        lock.withLock { value.setupSeconds = max(value.setupSeconds, seconds); value.setupBytes += bytes }
    }
    /// The vendor sends in every benchmark; rounds are counted at the receiver (the hospital).
    func ran(party: Party, bytes: Int, rounds: Int, cpuSeconds: Double) {
        lock.withLock {
            value.bytes += bytes
            if party == .vendor { value.vendorCPU = cpuSeconds } else { value.hospitalCPU = cpuSeconds; value.rounds = rounds }
        }
    }
    func fail(_ error: Error) { lock.withLock { if value.error == nil { value.error = error } } }
    func snapshot() -> Snapshot { lock.withLock { value } }
}

/// CPU time of the calling thread.
private func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

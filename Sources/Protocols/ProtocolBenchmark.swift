import CryptoPrimitives
import Foundation
import OT
import Transport

/// Figures of one nonlinear-protocol benchmark run (both parties in one process, two threads, over
/// `MemoryChannel.pair`): throughput, communication and rounds, beside seconds.
public struct NonLinearBenchmarkResult: Sendable, Equatable, Codable {
    /// ℓ.
    public var ringBits: Int
    /// Elements per batch (one DReLU call and one ReLU call on this many elements).
    public var batch: Int
    /// The OT engine's type name.
    public var engine: String
    /// Wall-clock seconds of the DReLU call (both parties running; OT set-up excluded).
    public var dreluSeconds: Double
    public var dreluPerSecond: Double
    /// Bytes sent by both parties together during the DReLU call, per element.
    public var bytesPerDReLU: Double
    /// Rounds (the vendor's direction changes) of one DReLU call on the whole batch.
    public var roundsPerDReLU: Int
    public var reluSeconds: Double
    public var reluPerSecond: Double
    public var bytesPerReLU: Double
    /// Rounds of one ReLU call on the whole batch (a ReLU layer).
    public var roundsPerReLULayer: Int

    enum CodingKeys: String, CodingKey {
        case ringBits = "ring_bits", batch, engine
        case dreluSeconds = "drelu_seconds", dreluPerSecond = "drelu_per_s", bytesPerDReLU = "bytes_per_drelu"
        case roundsPerDReLU = "rounds_per_drelu", reluSeconds = "relu_seconds", reluPerSecond = "relu_per_s"
        case bytesPerReLU = "bytes_per_relu", roundsPerReLULayer = "rounds_per_relu_layer"
    }
}

/// Benchmarks of the nonlinear protocols (not timed tests; called by `validate-inspect bench`).
public enum ProtocolBenchmark {
    /// Sets up an OT engine on one end of the channel (both parties call it at the same time).
    public typealias OTFactory = @Sendable (any Channel, Party) throws -> any ObliviousTransfer

    /// The real engine: Chou–Orlandi base OT, IKNP extension, Kolesnikov–Kumaresan 1-of-N OT.
    public static let iknp: OTFactory = { channel, party in try IKNPObliviousTransfer(channel: channel, party: party) }

    /// Measures DReLU and ReLU on `batch` random shared values over Z_2^ℓ.
    ///
    /// Steps (each party on its own thread): 1. set up the OT engine (not timed); 2. one byte each
    /// way to line up; 3. time a DReLU call on the batch; 4. time a ReLU call on the batch.
    /// Bytes are both parties' sent bytes; rounds are the vendor's direction changes.
    public static func nonLinear(ringBits: Int, batch: Int = 1 << 16, ot makeOT: @escaping OTFactory = iknp) throws -> NonLinearBenchmarkResult {
        let (a, b) = MemoryChannel.pair(timeout: 600)
        let commonSeed = SecureRandom.block()
        let box = BenchmarkBox()
        let group = DispatchGroup()
        for (channel, party) in [(a, Party.vendor), (b, Party.hospital)] {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    let ot = try makeOT(channel, party)
                    box.engine = String(describing: type(of: ot))
                    let session = TwoPartySession(party: party, channel: channel, ot: ot, commonSeed: commonSeed)
                    let x = ArithmeticShare(bits: ringBits, values: session.prg.ringElements(batch, bits: ringBits))
                    _ = try session.exchange([0])
                    let s0 = channel.statistics, t0 = Date()
                    _ = try session.drelu(x)
                    let s1 = channel.statistics, t1 = Date()
                    _ = try session.relu(x)
                    let s2 = channel.statistics, t2 = Date()
                    box.record(party, [t0, t1, t2], [s0, s1, s2])
                } catch {
                    box.fail(error)
                    channel.close()
                }
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
        if let error = box.error { throw error }
        let (times, stats) = box.merged()
        let dreluSeconds = times.1 - times.0, reluSeconds = times.2 - times.1
        let n = Double(batch)
        return NonLinearBenchmarkResult(
            ringBits: ringBits, batch: batch, engine: box.engine,
            dreluSeconds: dreluSeconds, dreluPerSecond: n / dreluSeconds,
            bytesPerDReLU: Double(stats.dreluBytes) / n, roundsPerDReLU: stats.dreluRounds,
            reluSeconds: reluSeconds, reluPerSecond: n / reluSeconds,
            bytesPerReLU: Double(stats.reluBytes) / n, roundsPerReLULayer: stats.reluRounds)
    }
}

/// Collects both threads' timestamps and counters.
private final class BenchmarkBox: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [Party: [Date]] = [:]
    private var stats: [Party: [ChannelStatistics]] = [:]
    private(set) var error: (any Error)?
    private var engineName = ""
    var engine: String {
        get { lock.withLock { engineName } }
        set { lock.withLock { engineName = newValue } }
    }

    func record(_ party: Party, _ t: [Date], _ s: [ChannelStatistics]) {
        lock.withLock { times[party] = t; stats[party] = s }
    }

    func fail(_ e: any Error) { lock.withLock { if error == nil { error = e } } }

    /// Earliest start and latest ends over both parties; bytes of both; the vendor's rounds.
    func merged() -> ((Double, Double, Double), (dreluBytes: Int, dreluRounds: Int, reluBytes: Int, reluRounds: Int)) {
        lock.withLock {
            let v = times[.vendor]!, h = times[.hospital]!
            let start = Swift.min(v[0], h[0]).timeIntervalSinceReferenceDate
            let mid = Swift.max(v[1], h[1]).timeIntervalSinceReferenceDate
            let end = Swift.max(v[2], h[2]).timeIntervalSinceReferenceDate
            let sv = stats[.vendor]!, sh = stats[.hospital]!
            let dreluBytes = (sv[1].bytesSent - sv[0].bytesSent) + (sh[1].bytesSent - sh[0].bytesSent)
            let reluBytes = (sv[2].bytesSent - sv[1].bytesSent) + (sh[2].bytesSent - sh[1].bytesSent)
            return ((start, mid, end), (dreluBytes, sv[1].rounds - sv[0].rounds, reluBytes, sv[2].rounds - sv[1].rounds))
        }
    }
}

import Protocols
import CryptoPrimitives
import Foundation
import OT
import Transport

/// Figures of one nonlinear-protocol benchmark run (both parties in one process, two threads, over
/// `MemoryChannel.pair` or TLS on 127.0.0.1): throughput, communication, rounds and CPU time,
/// beside seconds.
public struct NonLinearBenchmarkResult: Sendable, Equatable, Codable {
    /// ℓ.
    public var ringBits: Int
    /// Elements per batch (one DReLU call and one ReLU call on this many elements).
    public var batch: Int
    /// The OT engine's type name.
    public var engine: String
    /// The channel both parties used: "memory" (`MemoryChannel.pair`) or "tls" (TLS 1.3 on 127.0.0.1).
    public var transport: String
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
    /// CPU seconds the vendor's and the hospital's thread spent in the DReLU call. On a shared,
    /// loaded machine these are steadier than the wall clock.
    public var dreluVendorCPUSeconds: Double
    public var dreluHospitalCPUSeconds: Double
    /// DReLUs per second if each party had a core to itself: batch / the larger CPU time.
    public var dreluPerSecondCPUBound: Double
    /// Wall-clock seconds of the untimed warm-up, a ReLU call on the whole batch: on a fresh engine
    /// it also allocates and first touches the buffers a batch of this size needs (silent OT: the
    /// COT pool and the 1-of-N key buffers, hundreds of MB), which later calls, like a model's
    /// later layers, reuse.
    public var firstReLUSeconds: Double

    enum CodingKeys: String, CodingKey {
        case ringBits = "ring_bits", batch, engine, transport
        case dreluVendorCPUSeconds = "drelu_vendor_cpu_seconds", dreluHospitalCPUSeconds = "drelu_hospital_cpu_seconds"
        case dreluPerSecondCPUBound = "drelu_per_s_cpu_bound"
        case dreluSeconds = "drelu_seconds", dreluPerSecond = "drelu_per_s", bytesPerDReLU = "bytes_per_drelu"
        case roundsPerDReLU = "rounds_per_drelu", reluSeconds = "relu_seconds", reluPerSecond = "relu_per_s"
        case bytesPerReLU = "bytes_per_relu", roundsPerReLULayer = "rounds_per_relu_layer"
        case firstReLUSeconds = "first_relu_seconds"
    }
}

/// Benchmarks of the nonlinear protocols (not timed tests; called by `validate-inspect bench`).
public enum ProtocolBenchmark {
    /// Sets up an OT engine on one end of the channel (both parties call it at the same time).
    public typealias OTFactory = @Sendable (any Channel, Party) throws -> any ObliviousTransfer

    /// The real engine: Chou–Orlandi base OT, IKNP extension, Kolesnikov–Kumaresan 1-of-N OT.
    public static let iknp: OTFactory = { channel, party in try IKNPObliviousTransfer(channel: channel, party: party) }

    /// Silent OT: Chou–Orlandi base OT, IKNP, then Ferret correlated OT at its 128-bit parameter
    /// sets (`SilentObliviousTransfer`).
    public static let silent: OTFactory = { channel, party in try SilentObliviousTransfer(channel: channel, party: party) }

    /// The channel a benchmark runs over.
    public enum Transport: String, Sendable, CaseIterable {
        /// `MemoryChannel.pair`: compute-bound figures.
        case memory
        /// TLS 1.3 with mutual authentication on 127.0.0.1 (throwaway certificates in a temporary
        /// directory, removed afterwards): adds encryption and the kernel's socket copies.
        case tls
    }

    /// Measures DReLU and ReLU on `batch` random shared values over Z_2^ℓ.
    ///
    /// Steps (each party on its own thread): 1. connect (TLS: the vendor listens, the hospital
    /// connects) and set up the OT engine (not timed); 2. a warm-up ReLU on the whole batch (timed
    /// apart as `firstReLUSeconds`, not in the figures: it starts what an engine sets up lazily,
    /// e.g. Ferret's bootstrap and iterations in both directions, and grows the buffers a batch of
    /// this size needs) and one word each way to line up; 3. time a DReLU call on the batch (wall
    /// clock and each thread's CPU time); 4. time a ReLU call. So the figures are the steady state
    /// a model's later layers see; on silent OT at 2^20 elements the first call took 1.6× as long
    /// as the second (2026-12-07: 4.0 s against 2.5 s for a DReLU), most of it fresh memory.
    /// Bytes are both parties' sent bytes; rounds are the vendor's direction changes.
    ///
    /// Silent OT: the Ferret iterations that start inside a timed call are counted (time, bytes,
    /// rounds) as they happen, but the COTs left over from the warm-up's last iteration are free;
    /// a batch large enough to run several iterations (e.g. 2^20 elements at ℓ = 37) makes that
    /// error small (one iteration sends about 0.56 MB each way).
    public static func nonLinear(ringBits: Int, batch: Int = 1 << 16, transport: Transport = .memory,
                                 ot makeOT: @escaping OTFactory = iknp) throws -> NonLinearBenchmarkResult {
        let connect = try Connector(transport)
        defer { connect.cleanUp() }
        let commonSeed = SecureRandom.block()
        let box = BenchmarkBox()
        let group = DispatchGroup()
        for party in [Party.vendor, Party.hospital] {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                var channel: (any Channel)?
                do {
                    // Step 1.
                    let ch = try connect.channel(for: party)
                    channel = ch
                    let ot = try makeOT(ch, party)
                    box.engine = String(describing: type(of: ot))
                    let session = TwoPartySession(party: party, channel: ch, ot: ot, commonSeed: commonSeed)
                    let x = ArithmeticShare(bits: ringBits, values: session.prg.ringElements(batch, bits: ringBits))
                    // Step 2.
                    let w0 = Date()
                    _ = try session.relu(x)
                    _ = try session.exchange([0])
                    box.recordWarmUp(seconds: Date().timeIntervalSince(w0))
                    // Step 3.
                    let s0 = ch.statistics, t0 = Date(), c0 = threadCPUSeconds()
                    _ = try session.drelu(x)
                    let s1 = ch.statistics, t1 = Date(), c1 = threadCPUSeconds()
                    // Step 4.
                    _ = try session.relu(x)
                    let s2 = ch.statistics, t2 = Date()
                    _ = try session.exchange([0])     // neither end closes while the peer still reads
                    box.record(party, [t0, t1, t2], [s0, s1, s2], cpu: c1 - c0)
                    connect.close(ch)
                } catch {
                    box.fail(error)
                    if let channel { connect.close(channel) }
                    connect.abort()
                }
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
        if let error = box.error { throw error }
        let (times, stats, cpu) = box.merged()
        let dreluSeconds = times.1 - times.0, reluSeconds = times.2 - times.1
        let n = Double(batch)
        return NonLinearBenchmarkResult(
            ringBits: ringBits, batch: batch, engine: box.engine, transport: transport.rawValue,
            dreluSeconds: dreluSeconds, dreluPerSecond: n / dreluSeconds,
            bytesPerDReLU: Double(stats.dreluBytes) / n, roundsPerDReLU: stats.dreluRounds,
            reluSeconds: reluSeconds, reluPerSecond: n / reluSeconds,
            bytesPerReLU: Double(stats.reluBytes) / n, roundsPerReLULayer: stats.reluRounds,
            dreluVendorCPUSeconds: cpu.vendor, dreluHospitalCPUSeconds: cpu.hospital,
            dreluPerSecondCPUBound: n / Swift.max(cpu.vendor, cpu.hospital), firstReLUSeconds: box.warmUpSeconds)
    }
}

/// This thread's CPU time in seconds.
private func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Makes the two ends of a benchmark's channel: a memory pair, or a TLS listener (vendor) and
/// client (hospital) on 127.0.0.1 with throwaway certificates.
private final class Connector: @unchecked Sendable {
    private let memory: (MemoryChannel, MemoryChannel)?
    private let listener: TLSListener?
    private let directory: String?
    private let vendorIdentity: TLSIdentity?
    private let hospitalIdentity: TLSIdentity?
    static let timeout = 600.0

    init(_ transport: ProtocolBenchmark.Transport) throws {
        switch transport {
        case .memory:
            memory = MemoryChannel.pair(timeout: Self.timeout)
            listener = nil
            directory = nil
            vendorIdentity = nil
            hospitalIdentity = nil
        case .tls:
            memory = nil
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sv-bench-\(UUID().uuidString)").path
            directory = dir
            do {
                let files = try CertificateAuthority.writeTestCertificates(to: dir, days: 1)
                vendorIdentity = try files.identity(for: .vendor)
                hospitalIdentity = try files.identity(for: .hospital)
                listener = try TLSListener(host: "127.0.0.1", port: 0, identity: vendorIdentity!)
            } catch {
                try? FileManager.default.removeItem(atPath: dir)
                throw error
            }
        }
    }

    func channel(for party: Party) throws -> any Channel {
        if let memory { return party == .vendor ? memory.0 : memory.1 }
        if party == .vendor { return try listener!.accept(timeout: Self.timeout) }
        return try TLSChannel.connect(host: "127.0.0.1", port: listener!.port, identity: hospitalIdentity!, timeout: Self.timeout)
    }

    func close(_ channel: any Channel) {
        (channel as? MemoryChannel)?.close()
        (channel as? TLSChannel)?.close()
    }

    /// After a failure: wakes the peer (closes the memory pair and the listener).
    func abort() {
        memory?.0.close()
        memory?.1.close()
        listener?.close()
    }

    func cleanUp() {
        listener?.close()
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// Collects both threads' timestamps and counters.
private final class BenchmarkBox: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [Party: [Date]] = [:]
    private var stats: [Party: [ChannelStatistics]] = [:]
    private var cpu: [Party: Double] = [:]
    private(set) var error: (any Error)?
    private var engineName = ""
    var engine: String {
        get { lock.withLock { engineName } }
        set { lock.withLock { engineName = newValue } }
    }

    func record(_ party: Party, _ t: [Date], _ s: [ChannelStatistics], cpu seconds: Double) {
        lock.withLock { times[party] = t; stats[party] = s; cpu[party] = seconds }
    }

    func fail(_ e: any Error) { lock.withLock { if error == nil { error = e } } }

    private var warmUp: Double = 0
    /// The longer of the two parties' warm-up calls.
    func recordWarmUp(seconds: Double) { lock.withLock { warmUp = Swift.max(warmUp, seconds) } }
    var warmUpSeconds: Double { lock.withLock { warmUp } }

    /// Earliest start and latest ends over both parties; bytes of both; the vendor's rounds.
    func merged() -> ((Double, Double, Double), (dreluBytes: Int, dreluRounds: Int, reluBytes: Int, reluRounds: Int),
                      (vendor: Double, hospital: Double)) {
        lock.withLock {
            let v = times[.vendor]!, h = times[.hospital]!
            let start = Swift.min(v[0], h[0]).timeIntervalSinceReferenceDate
            let mid = Swift.max(v[1], h[1]).timeIntervalSinceReferenceDate
            let end = Swift.max(v[2], h[2]).timeIntervalSinceReferenceDate
            let sv = stats[.vendor]!, sh = stats[.hospital]!
            let dreluBytes = (sv[1].bytesSent - sv[0].bytesSent) + (sh[1].bytesSent - sh[0].bytesSent)
            let reluBytes = (sv[2].bytesSent - sv[1].bytesSent) + (sh[2].bytesSent - sh[1].bytesSent)
            return ((start, mid, end), (dreluBytes, sv[1].rounds - sv[0].rounds, reluBytes, sv[2].rounds - sv[1].rounds),
                    (cpu[.vendor]!, cpu[.hospital]!))
        }
    }
}

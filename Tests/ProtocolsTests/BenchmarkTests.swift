import Benchmarks
import Protocols
import Testing

@Suite("Protocol benchmark")
struct BenchmarkTests {
    /// Not a timed test: checks that the benchmark runs and reports consistent figures.
    @Test("the DReLU/ReLU benchmark runs with the real OT and reports bytes and rounds", arguments: [37, 64])
    func runs(ringBits: Int) throws {
        let result = try ProtocolBenchmark.nonLinear(ringBits: ringBits, batch: 512)
        #expect(result.engine == "IKNPObliviousTransfer")
        #expect(result.dreluPerSecond > 0 && result.bytesPerDReLU > 0 && result.roundsPerDReLU > 0)
        #expect(result.bytesPerReLU > result.bytesPerDReLU)
        #expect(result.roundsPerReLULayer >= result.roundsPerDReLU)
    }

    /// Silent OT at its 128-bit sets: the warm-up (a ReLU on the whole batch) runs Ferret's
    /// bootstrap, the timed calls report the same kinds of figures.
    @Test("the DReLU/ReLU benchmark runs on silent OT", arguments: [37, 64])
    func runsSilent(ringBits: Int) throws {
        // 64 elements: the warm-up and both timed calls draw their COTs from the first Ferret
        // output (COT use is deterministic), so no iteration's bytes fall inside a timed call.
        let result = try ProtocolBenchmark.nonLinear(ringBits: ringBits, batch: 64, ot: ProtocolBenchmark.silent)
        #expect(result.engine == "SilentObliviousTransfer")
        #expect(result.dreluPerSecond > 0 && result.bytesPerDReLU > 0 && result.roundsPerDReLU > 0)
        // The warm-up (a ReLU on the whole batch, Ferret's bootstrap and first iterations) is timed apart.
        #expect(result.firstReLUSeconds > 0)
        #expect(result.bytesPerReLU > result.bytesPerDReLU)
    }

    /// The TLS variant: both parties over TLS 1.3 on 127.0.0.1 with throwaway certificates; the
    /// protocol's bytes and rounds are the same as over the in-memory channel (TLS framing is not
    /// counted), and the CPU figures are filled in.
    @Test("the benchmark runs over TLS on loopback with the same bytes and rounds")
    func runsOverTLS() throws {
        let memory = try ProtocolBenchmark.nonLinear(ringBits: 37, batch: 512, transport: .memory)
        let tls = try ProtocolBenchmark.nonLinear(ringBits: 37, batch: 512, transport: .tls)
        #expect(tls.transport == "tls" && memory.transport == "memory")
        #expect(tls.bytesPerDReLU == memory.bytesPerDReLU && tls.bytesPerReLU == memory.bytesPerReLU)
        #expect(tls.roundsPerDReLU == memory.roundsPerDReLU && tls.roundsPerReLULayer == memory.roundsPerReLULayer)
        #expect(tls.dreluVendorCPUSeconds > 0 && tls.dreluHospitalCPUSeconds > 0 && tls.dreluPerSecondCPUBound > 0)
    }
}

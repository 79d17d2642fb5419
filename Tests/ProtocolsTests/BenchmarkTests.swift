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
}

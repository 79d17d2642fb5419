import Testing
import Compiler

@Suite("Threshold count ⌈τ·N⌉ in exact arithmetic")
struct ThresholdCountTests {
    @Test("decimal thresholds that floating point rounds the wrong way")
    func exact() {
        // 0.55 · 100 = 55.000000000000007 in binary floating point: ⌈⌉ would give 56.
        #expect(ThresholdCount.needed(threshold: 0.55, images: 100) == 55)
        #expect(ThresholdCount.needed(threshold: 0.07, images: 100) == 7)      // 7.000000000000001
        #expect(ThresholdCount.needed(threshold: 0.9, images: 360) == 324)
        #expect(ThresholdCount.needed(threshold: 0.9001, images: 360) == 325)
        #expect(ThresholdCount.needed(threshold: 0.3333, images: 100) == 34)
        #expect(ThresholdCount.needed(threshold: 0.00001, images: 100_000) == 1)
        #expect(ThresholdCount.needed(threshold: 0.000011, images: 100_000) == 2)
        #expect(ThresholdCount.needed(threshold: 0, images: 143) == 0)
        #expect(ThresholdCount.needed(threshold: 1, images: 143) == 143)
    }

    @Test("agrees with integer arithmetic on every τ = k/1000 for several N")
    func everyMille() {
        for n in [1, 7, 100, 143, 360, 1149] {
            for k in 0...1000 {
                let tau = Double(k) / 1000
                let expected = Int64((k * n + 999) / 1000)
                #expect(ThresholdCount.needed(threshold: tau, images: n) == expected, "τ = \(tau), N = \(n)")
            }
        }
    }
}

import CryptoPrimitives
import Foundation
@testable import Protocols
import RingArithmetic
import Testing
import Transport

@Suite("Metric: top-k correct count")
struct TopKTests {
    /// The plaintext reference: rank(c) = #{j : x_j > x_c} + #{j < c : x_j = x_c}.
    static func rank(_ x: ArraySlice<Int64>, _ c: Int) -> Int {
        let base = x.startIndex, v = x[base + c]
        var r = 0
        for j in 0..<x.count where x[base + j] > v || (j < c && x[base + j] == v) { r += 1 }
        return r
    }

    static func expectedCount(_ x: [Int64], classes: Int, labels: [Int], k: Int) -> Int {
        labels.indices.filter { g in rank(x[(g * classes)..<((g + 1) * classes)], labels[g]) < k }.count
    }

    /// Logits with many ties: MetricTests' mix (small values, all equal, extremes, random) and,
    /// every other group, values from a tiny range {−2, …, 2}.
    static func logits(_ format: FixedPointFormat, groups: Int, classes: Int, fullRange: Bool = true) -> [Int64] {
        let prg = AESPRG()
        let tiny = prg.words(groups * classes).map { Int64($0 % 5) - 2 }
        var x = fullRange ? MetricTests.logits(format, groups: groups, classes: classes)
                          : format.smallValues(groups * classes, magnitudeBits: format.ringBits - 3, prg: prg)
        for g in stride(from: 1, to: groups, by: 2) {
            for c in 0..<classes { x[g * classes + c] = format.wrap(tiny[g * classes + c]) }
        }
        return x
    }

    /// Random labels, a third of them the argmax (so every k sees correct and wrong examples).
    static func labels(_ x: [Int64], groups: Int, classes: Int) -> [Int] {
        let prg = AESPRG()
        return prg.words(groups).enumerated().map { g, w in
            w % 3 == 0 ? MetricTests.argmax(x[(g * classes)..<((g + 1) * classes)]) : Int((w >> 8) % UInt64(classes))
        }
    }

    static let formats: [FixedPointFormat] = [
        try! FixedPointFormat(ringBits: 37, scale: 12),
        try! FixedPointFormat(ringBits: 64, scale: 16),
        try! FixedPointFormat(ringBits: 8, scale: 3),
    ]

    @Test("count equals the plaintext rank reference; k = 1 equals countCorrect", arguments: OTEngine.allCases, formats)
    func matchesReference(engine: OTEngine, format: FixedPointFormat) throws {
        for classes in [10, 3, 2] {
            let groups = 120
            let x = Self.logits(format, groups: groups, classes: classes)
            let labels = Self.labels(x, groups: groups, classes: classes)
            let ks = Array(Set([1, 2, 5, classes].filter { $0 <= classes })).sorted()
            let (v, h) = splitShares(x, bits: format.ringBits)
            let runs = try runTwoParties(engine) { s in
                let hospital = s.party == .hospital
                let mine = hospital ? h : v
                let mineLabels = hospital ? labels : nil
                var counts: [ArithmeticShare] = []
                for k in ks {
                    counts.append(try s.countCorrectTopK(logits: mine, classes: classes, k: k, labels: mineLabels))
                }
                counts.append(try s.countCorrect(logits: mine, classes: classes, labels: mineLabels))
                return counts
            }
            for (i, k) in ks.enumerated() {
                let count = reconstruct(runs.vendor.result[i], runs.hospital.result[i])
                #expect(count == [Int64(Self.expectedCount(x, classes: classes, labels: labels, k: k))],
                        "classes \(classes), k \(k), \(format), \(engine)")
            }
            let top1 = reconstruct(runs.vendor.result[0], runs.hospital.result[0])
            let argmaxCount = reconstruct(runs.vendor.result[ks.count], runs.hospital.result[ks.count])
            #expect(top1 == argmaxCount)
            // A non-trivial mix: some but not all examples correct at k = 1.
            #expect(top1[0] > 0 && top1[0] < Int64(groups))
        }
    }

    @Test("half-range comparisons and a small count ring", arguments: OTEngine.allCases)
    func halfRange(engine: OTEngine) throws {
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let classes = 10, groups = 100
        let x = Self.logits(format, groups: groups, classes: classes, fullRange: false)
        let labels = Self.labels(x, groups: groups, classes: classes)
        let (v, h) = splitShares(x, bits: format.ringBits)
        let runs = try runTwoParties(engine) { s in
            let hospital = s.party == .hospital
            return try [1, 2, 5].map { k in
                try s.countCorrectTopK(logits: hospital ? h : v, classes: classes, k: k, labels: hospital ? labels : nil,
                                       countBits: 16, range: .halfRange)
            }
        }
        for (i, k) in [1, 2, 5].enumerated() {
            #expect(runs.vendor.result[i].bits == 16)
            #expect(reconstruct(runs.vendor.result[i], runs.hospital.result[i]) == [Int64(Self.expectedCount(x, classes: classes, labels: labels, k: k))])
        }
    }

    @Test("more than 256 classes (correlated-OT selection)", arguments: OTEngine.allCases)
    func manyClasses(engine: OTEngine) throws {
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let classes = 300, groups = 6
        let x = Self.logits(format, groups: groups, classes: classes)
        let labels = Self.labels(x, groups: groups, classes: classes)
        let (v, h) = splitShares(x, bits: format.ringBits)
        let ks = [1, 5, 150]
        let runs = try runTwoParties(engine) { s in
            let hospital = s.party == .hospital
            return try ks.map { k in
                try s.countCorrectTopK(logits: hospital ? h : v, classes: classes, k: k, labels: hospital ? labels : nil)
            }
        }
        for (i, k) in ks.enumerated() {
            #expect(reconstruct(runs.vendor.result[i], runs.hospital.result[i]) == [Int64(Self.expectedCount(x, classes: classes, labels: labels, k: k))])
        }
    }

    /// The vendor's transcript size and rounds, and the spread of its output share, for one label vector.
    static func vendorView(_ engine: OTEngine, logits x: [Int64], classes: Int, k: Int, labels: [Int]) throws -> ChannelStatistics {
        let (v, h) = splitShares(x, bits: 37)
        let runs = try runTwoParties(engine) { s in
            try s.countCorrectTopK(logits: s.party == .vendor ? v : h, classes: classes, k: k,
                                   labels: s.party == .hospital ? labels : nil)
        }
        var stats = runs.vendor.statistics
        stats.waitSeconds = 0
        return stats
    }

    @Test("the vendor's view does not depend on the labels", arguments: OTEngine.allCases)
    func vendorViewIndependentOfLabels(engine: OTEngine) throws {
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let classes = 10, groups = 64
        let x = Self.logits(format, groups: groups, classes: classes)
        let argmaxLabels = (0..<groups).map { MetricTests.argmax(x[($0 * classes)..<(($0 + 1) * classes)]) }
        for k in [1, 5] {
            let a = try Self.vendorView(engine, logits: x, classes: classes, k: k, labels: argmaxLabels)
            let b = try Self.vendorView(engine, logits: x, classes: classes, k: k, labels: [Int](repeating: classes - 1, count: groups))
            let c = try Self.vendorView(engine, logits: x, classes: classes, k: k, labels: (0..<groups).map { $0 % classes })
            #expect(a == b)
            #expect(a == c)
        }
    }

    /// Channel statistics of one top-k count (or, with `argmax`, of `countCorrect`) on random logits.
    static func statistics(_ engine: OTEngine, groups: Int, classes: Int = 10, k: Int = 5, bits: Int = 37,
                           range: ComparisonRange = .full, argmax: Bool = false) throws
        -> (vendor: ChannelStatistics, hospital: ChannelStatistics, rounds: (vendor: RoundCount, hospital: RoundCount)) {
        let format = try FixedPointFormat(ringBits: bits, scale: 12)
        let x = range == .full ? format.randomValues(groups * classes) : format.smallValues(groups * classes, magnitudeBits: bits - 3)
        let labels = Self.labels(x, groups: groups, classes: classes)
        let (v, h) = splitShares(x, bits: bits)
        let runs = try runTwoParties(engine) { s in
            let mine = s.party == .vendor ? v : h, mineLabels = s.party == .hospital ? labels : nil
            return argmax ? try s.countCorrect(logits: mine, classes: classes, labels: mineLabels, range: range)
                          : try s.countCorrectTopK(logits: mine, classes: classes, k: k, labels: mineLabels, range: range)
        }
        return (runs.vendor.statistics, runs.hospital.statistics, (runs.vendor.roundCount, runs.hospital.roundCount))
    }

    @Test("rounds do not grow with the number of examples", arguments: OTEngine.allCases)
    func constantRounds(engine: OTEngine) throws {
        let one = try Self.statistics(engine, groups: 1)
        let many = try Self.statistics(engine, groups: 200)
        #expect(one.rounds.vendor.sameProtocolRounds(as: many.rounds.vendor), "vendor: \(one.rounds.vendor) vs \(many.rounds.vendor)")
        #expect(one.rounds.hospital.sameProtocolRounds(as: many.rounds.hospital), "hospital: \(one.rounds.hospital) vs \(many.rounds.hospital)")
        #expect(one.vendor.rounds > 0)
    }

    /// Cost per example for k = 5 over 10 classes at ℓ = 37 with the real engine (the difference
    /// of two batch sizes, so the one-time base OTs cancel).
    /// (Printed for comparison: the same with `.halfRange`, and `countCorrect`, i.e. top-1 by argmax.)
    @Test("cost per example, k = 5 of 10 classes, ℓ = 37 (IKNP)")
    func costPerExample() throws {
        let setup = try Self.statistics(.iknp, groups: 0)
        print("IKNP setup alone (no examples): \(setup.vendor.rounds) rounds, \(setup.vendor.bytesSent + setup.vendor.bytesReceived) bytes")
        for (name, range, argmax) in [("top-5 full range", ComparisonRange.full, false), ("top-5 half range", .halfRange, false),
                                      ("countCorrect (argmax) full range", .full, true)] {
            let small = try Self.statistics(.iknp, groups: 1024, range: range, argmax: argmax)
            let large = try Self.statistics(.iknp, groups: 2048, range: range, argmax: argmax)
            let bytes = Double(large.vendor.bytesSent + large.vendor.bytesReceived - small.vendor.bytesSent - small.vendor.bytesReceived) / 1024
            print("\(name) (10 classes, ℓ = 37, IKNP): \(bytes) bytes per example (both directions, vendor sent "
                  + "\(Double(large.vendor.bytesSent - small.vendor.bytesSent) / 1024)); rounds \(large.vendor.rounds) (vendor) / "
                  + "\(large.hospital.rounds) (hospital) for 2048 examples, \(small.vendor.rounds) / \(small.hospital.rounds) for 1024")
            #expect(small.vendor.rounds == large.vendor.rounds)
            #expect(bytes > 0)
        }
    }

    @Test("invalid k, labels and shapes are typed errors that never contain a label")
    func validation() throws {
        let (a, _) = MemoryChannel.pair(timeout: 1)
        let hospital = TwoPartySession(party: .hospital, channel: a, ot: InsecureIdealOT(channel: a), commonSeed: SecureRandom.block())
        let vendor = TwoPartySession(party: .vendor, channel: a, ot: InsecureIdealOT(channel: a), commonSeed: SecureRandom.block())
        let logits = ArithmeticShare.zeros(count: 20, bits: 37)
        for k in [0, -1, 11] {
            #expect(throws: ProtocolError.self) { try hospital.countCorrectTopK(logits: logits, classes: 10, k: k, labels: [0, 1]) }
            #expect(throws: ProtocolError.self) { try vendor.countCorrectTopK(logits: logits, classes: 10, k: k, labels: nil) }
        }
        #expect(throws: ProtocolError.self) { try hospital.countCorrectTopK(logits: logits, classes: 3, k: 1, labels: [0, 1]) }
        #expect(throws: ProtocolError.self) { try hospital.countCorrectTopK(logits: logits, classes: 10, k: 1, labels: nil) }
        #expect(throws: ProtocolError.self) { try hospital.countCorrectTopK(logits: logits, classes: 10, k: 1, labels: [0]) }
        #expect(throws: ProtocolError.self) { try vendor.countCorrectTopK(logits: logits, classes: 10, k: 1, labels: nil, countBits: 1) }
        for secret in [98_765, -4_321, 10] {
            do {
                _ = try hospital.countCorrectTopK(logits: logits, classes: 10, k: 1, labels: [0, secret])
                Issue.record("an out-of-range label was accepted")
            } catch let error as ProtocolError {
                #expect(!error.description.contains(String(secret)) || secret == 10)
                #expect(error.description.contains("example 1"))
            }
        }
        // k = classes: every example counts, no communication.
        let all = try hospital.countCorrectTopK(logits: logits, classes: 10, k: 10, labels: [3, 9])
        let allVendor = try vendor.countCorrectTopK(logits: logits, classes: 10, k: 10, labels: nil)
        #expect(reconstruct(allVendor, all) == [2])
        #expect(a.statistics.bytesSent == 0)
    }
}

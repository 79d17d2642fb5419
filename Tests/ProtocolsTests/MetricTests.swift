import CryptoPrimitives
@testable import Protocols
import RingArithmetic
import Testing
import Transport

@Suite("Metric: argmax, label equality, count, threshold")
struct MetricTests {
    /// The reference argmax (Sources/Reference/Evaluation.swift): the lowest index wins a tie.
    static func argmax(_ values: ArraySlice<Int64>) -> Int {
        var best = values.startIndex
        for i in values.indices where values[i] > values[best] { best = i }
        return best - values.startIndex
    }

    /// Logits with many ties: random groups, groups of equal values, extremes.
    static func logits(_ format: FixedPointFormat, groups: Int, classes: Int) -> [Int64] {
        var x = format.randomValues(groups * classes)
        let prg = AESPRG()
        let small = format.smallValues(groups * classes, magnitudeBits: 2, prg: prg)
        for g in 0..<groups {
            switch g % 5 {
            case 0: for c in 0..<classes { x[g * classes + c] = small[g * classes + c] }  // many ties
            case 1: for c in 0..<classes { x[g * classes + c] = 7 }                       // all equal
            case 2: x[g * classes + classes - 1] = format.maxSigned; x[g * classes] = format.maxSigned
            case 3: for c in 0..<classes { x[g * classes + c] = format.minSigned }
            default: break
            }
        }
        return x
    }

    @Test("argmax index and maximum, lowest index wins ties", arguments: OTEngine.allCases, testFormats)
    func argmax(engine: OTEngine, format: FixedPointFormat) throws {
        for classes in [1, 2, 3, 10, 14] { try argmax(engine: engine, format: format, classes: classes) }
    }

    func argmax(engine: OTEngine, format: FixedPointFormat, classes: Int) throws {
        let groups = 40
        let x = Self.logits(format, groups: groups, classes: classes)
        let (v, h) = splitShares(x, bits: format.ringBits)
        let runs = try runTwoParties(engine) { s in try s.argmax(s.party == .vendor ? v : h, classes: classes) }
        let index = reconstruct(runs.vendor.result.index, runs.hospital.result.index)
        let maximum = reconstruct(runs.vendor.result.maximum, runs.hospital.result.maximum)
        for g in 0..<groups {
            let slice = x[(g * classes)..<((g + 1) * classes)]
            #expect(index[g] == Int64(Self.argmax(slice)))
            #expect(maximum[g] == slice.max()!)
        }
    }

    @Test("correct-prediction count, label equality, threshold and opening", arguments: OTEngine.allCases, testFormats)
    func count(engine: OTEngine, format: FixedPointFormat) throws {
        let classes = 10, groups = 100
        let x = Self.logits(format, groups: groups, classes: classes)
        let predictions = (0..<groups).map { Self.argmax(x[($0 * classes)..<(($0 + 1) * classes)]) }
        // About 60 % correct labels.
        let prg = AESPRG()
        let labels = prg.words(groups).enumerated().map { i, w in w % 5 < 3 ? predictions[i] : Int(w % UInt64(classes)) }
        let expected = zip(predictions, labels).filter { $0 == $1 }.count
        let (v, h) = splitShares(x, bits: format.ringBits)
        let runs = try runTwoParties(engine) { s in
            let hospital = s.party == .hospital
            let count = try s.countCorrect(logits: hospital ? h : v, classes: classes, labels: hospital ? labels : nil)
            let below = try s.revealAtLeast(count, threshold: Int64(expected) + 1)
            let at = try s.revealAtLeast(count, threshold: Int64(expected), to: .hospital)
            let opened = try s.open(count)
            return (count, below, at, opened)
        }
        #expect(reconstruct(runs.vendor.result.0, runs.hospital.result.0) == [Int64(expected)])
        #expect(runs.vendor.result.1 == false && runs.hospital.result.1 == false)
        #expect(runs.vendor.result.2 == nil && runs.hospital.result.2 == true)
        #expect(runs.vendor.result.3 == [Int64(expected)] && runs.hospital.result.3 == [Int64(expected)])
    }

    @Test("equality of a shared index with the hospital's private label", arguments: OTEngine.allCases, [1, 2, 3, 10, 16, 1000])
    func labelEquality(engine: OTEngine, classes: Int) throws {
        let n = 300, bits = 37
        let prg = AESPRG()
        let index = prg.words(n).map { Int64($0 % UInt64(classes)) }
        let labels = prg.words(n).enumerated().map { i, w in w % 2 == 0 ? Int(index[i]) : Int(w % UInt64(classes)) }
        let (v, h) = splitShares(index, bits: bits)
        let runs = try runTwoParties(engine) { s in
            try s.equalsLabel(s.party == .vendor ? v : h, labels: s.party == .hospital ? labels : nil, classes: classes)
        }
        #expect(reconstruct(runs.vendor.result, runs.hospital.result) == zip(index, labels).map { $0 == Int64($1) ? 1 : 0 })
    }

    @Test("the vendor's view of the label step does not depend on the labels", arguments: OTEngine.allCases)
    func vendorViewIndependentOfLabels(engine: OTEngine) throws {
        let classes = 10, n = 256, bits = 37
        let index = [Int64](repeating: 3, count: n)
        let (v, h) = splitShares(index, bits: bits)
        var views: [(sent: Int, received: Int, rounds: Int, ones: Double)] = []
        for labels in [[Int](repeating: 3, count: n), [Int](repeating: 4, count: n), (0..<n).map { $0 % classes }] {
            let runs = try runTwoParties(engine) { s in
                try s.equalsLabel(s.party == .vendor ? v : h, labels: s.party == .hospital ? labels : nil, classes: classes)
            }
            let share = runs.vendor.result.bits
            views.append((runs.vendor.statistics.bytesSent, runs.vendor.statistics.bytesReceived, runs.vendor.statistics.rounds,
                          Double(share.reduce(0) { $0 + Int($1) }) / Double(n)))
        }
        for view in views.dropFirst() {
            #expect(view.sent == views[0].sent)
            #expect(view.received == views[0].received)
            #expect(view.rounds == views[0].rounds)
        }
        // The vendor's output share looks uniform whatever the labels (all-correct, all-wrong, mixed).
        for view in views { #expect(view.ones > 0.35 && view.ones < 0.65) }
    }
}

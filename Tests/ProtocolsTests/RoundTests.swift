import CryptoPrimitives
@testable import Protocols
import RingArithmetic
import Testing
import Transport

/// Batching: one call costs a number of rounds that does not depend on the batch size.
@Suite("Rounds do not grow with the batch")
struct RoundTests {
    enum Operation: String, CaseIterable, CustomStringConvertible, Sendable {
        case millionaire, drelu, relu, reluTruncate, truncate, max, maxPool, divide, argmax, countCorrect
        var description: String { rawValue }
    }

    static func rounds(_ engine: OTEngine, _ operation: Operation, batch: Int) throws -> (RoundCount, RoundCount) {
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let x = format.randomValues(batch * 4)
        let (v, h) = splitShares(x, bits: format.ringBits)
        let runs = try runTwoParties(engine) { s in
            let mine = s.party == .vendor ? v : h
            let half = ArithmeticShare(bits: mine.bits, values: Array(mine.values.prefix(batch)))
            let other = ArithmeticShare(bits: mine.bits, values: Array(mine.values[batch..<(2 * batch)]))
            switch operation {
            case .millionaire: _ = try s.lessThan(half.values, bits: 37)
            case .drelu: _ = try s.drelu(half)
            case .relu: _ = try s.relu(half)
            case .reluTruncate: _ = try s.reluTruncate(half, shift: 12)
            case .truncate: _ = try s.truncate(half, shift: 12)
            case .max: _ = try s.max(half, other)
            case .maxPool: _ = try s.maxPool(mine, planes: batch, planeSize: 4, windows: [[0, 1, 2, 3]])
            case .divide: _ = try s.divide(half, by: 9)
            case .argmax: _ = try s.argmax(mine, classes: 4)
            case .countCorrect:
                _ = try s.countCorrect(logits: mine, classes: 4, labels: s.party == .hospital ? [Int](repeating: 1, count: batch) : nil)
            }
            return 0
        }
        return (runs.vendor.roundCount, runs.hospital.roundCount)
    }

    /// With every engine: batch 1 and batch 64 (below the OT engines' internal chunk sizes). Silent
    /// OT at its test sizes runs a Ferret iteration every 3,456 COTs; those rounds are allowed for.
    @Test("rounds for batch 1 and 64 are equal", arguments: OTEngine.allCases, Operation.allCases)
    func constantRounds(engine: OTEngine, operation: Operation) throws {
        let small = try Self.rounds(engine, operation, batch: 1)
        let medium = try Self.rounds(engine, operation, batch: 64)
        #expect(small.0.sameProtocolRounds(as: medium.0), "vendor: \(small.0) vs \(medium.0)")
        #expect(small.1.sameProtocolRounds(as: medium.1), "hospital: \(small.1) vs \(medium.1)")
        #expect(small.0.rounds > 0)
    }

    /// With the real engine, a whole ReLU layer costs the same number of rounds for 2^10 and 2^17
    /// elements: the OT engine streams its chunks and the millionaire's OTs go in one exchange
    /// (2^17 · 15 one-of-16 OTs at ℓ = 37 stay within one exchange round).
    @Test("rounds per ReLU layer: batch 2^10 and 2^17 equal (IKNP)")
    func constantRoundsRealEngine() throws {
        let small = try Self.rounds(.iknp, .relu, batch: 1 << 10)
        let large = try Self.rounds(.iknp, .relu, batch: 1 << 17)
        #expect(small == large)
    }

    /// The protocols' own rounds at a large batch, with the one-message ideal OT.
    @Test("rounds for batch 1 and 5000 are equal (ideal OT)", arguments: Operation.allCases)
    func constantRoundsLargeBatch(operation: Operation) throws {
        let small = try Self.rounds(.insecureIdeal, operation, batch: 1)
        let large = try Self.rounds(.insecureIdeal, operation, batch: 5000)
        #expect(small == large)
    }
}

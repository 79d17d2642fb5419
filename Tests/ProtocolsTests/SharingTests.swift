import CryptoPrimitives
@testable import Protocols
import RingArithmetic
import Testing
import Transport

@Suite("Sharing")
struct SharingTests {
    @Test("share, local operations and opening to one party or both", arguments: OTEngine.allCases, testFormats)
    func shareAndOpen(engine: OTEngine, format: FixedPointFormat) throws {
        let x = format.testValues(), y = format.testValues(random: x.count - format.edgeValues.count - 300)
        let l = format.ringBits
        let runs = try runTwoParties(engine) { s in
            // The vendor holds x, the hospital y.
            let xs = try s.share(s.party == .vendor ? x : nil, count: x.count, bits: l, owner: .vendor)
            let ys = try s.share(s.party == .hospital ? y : nil, count: y.count, bits: l, owner: .hospital)
            let combined = try xs.adding(ys).multiplied(by: 3).subtracting(ys).adding(constant: 7, party: s.party).negated()
            let both = try s.open(combined)
            let toHospital = try s.open(xs, to: .hospital)
            return (both, toHospital)
        }
        let expected = zip(x, y).map { format.wrap(0 &- (3 &* ($0 &+ $1) &- $1 &+ 7)) }
        #expect(runs.vendor.result.0 == expected)
        #expect(runs.hospital.result.0 == expected)
        #expect(runs.vendor.result.1 == nil)
        #expect(runs.hospital.result.1 == x)
    }

    /// The vendor's private signs: every element negated or kept as its bit says, bit for bit in
    /// the ring (edge values included: −minSigned wraps to itself), on every engine and format.
    @Test("signs chosen by the vendor alone: (−1)^n·x", arguments: OTEngine.allCases, testFormats)
    func chosenSign(engine: OTEngine, format: FixedPointFormat) throws {
        let x = format.testValues()
        let negate = SecureRandom.bytes(x.count).map { $0 & 1 == 1 }
        let (v, h) = splitShares(x, bits: format.ringBits)
        let runs = try runTwoParties(engine) { s in
            try s.party == .vendor ? s.negate(v, where: negate) : s.negate(h, where: nil)
        }
        #expect(reconstruct(runs.vendor.result, runs.hospital.result) == zip(x, negate).map { format.wrap($1 ? 0 &- $0 : $0) })
        // The hospital's share is no function of its input share alone: r masks it.
        #expect(runs.hospital.result != h)
    }

    @Test("a vendor without one sign per element is refused")
    func chosenSignRefusal() throws {
        let (v, _) = splitShares([1, 2, 3], bits: 37)
        let runs = try runTwoParties(.silent) { s in
            guard s.party == .vendor else { return "" }
            do { _ = try s.negate(v, where: [true]); return "accepted" } catch { return "\(error)" }
        }
        #expect(runs.vendor.result.contains("signed shift"))
    }

    @Test("Boolean shares open, and B2A gives additive shares of the bits", arguments: OTEngine.allCases, testFormats)
    func booleanToArithmetic(engine: OTEngine, format: FixedPointFormat) throws {
        let bits = SecureRandom.bytes(1000).map { $0 & 1 }
        let (v, h) = splitBits(bits)
        let runs = try runTwoParties(engine) { s in
            let mine = s.party == .vendor ? v : h
            return (try s.toArithmetic(mine, bits: format.ringBits), try s.open(mine, to: .vendor))
        }
        #expect(reconstruct(runs.vendor.result.0, runs.hospital.result.0) == bits.map { Int64($0) })
        #expect(runs.vendor.result.1 == bits)
        #expect(runs.hospital.result.1 == nil)
    }

    /// Both triple generators on every engine (whichever the engine's cost model picks for
    /// `booleanTriples`, the other is checked too): c = a ∧ b bit for bit, and a, b not constant.
    @Test("Boolean triples from 1-of-16 OTs and from random bit OTs", arguments: OTEngine.allCases)
    func booleanTriples(engine: OTEngine) throws {
        let runs = try runTwoParties(engine) { s in
            [try s.sixteenWayOTs(leafDigits: [], tripleCount: 1000).triples, try s.triplesFromRandomBitOTs(count: 1000),
             try s.booleanTriples(count: 300)]
        }
        for (v, h) in zip(runs.vendor.result, runs.hospital.result) {
            #expect(v.count >= 256 && v.count == h.count)
            let a = zip(v.a, h.a).map { $0 ^ $1 }, b = zip(v.b, h.b).map { $0 ^ $1 }, c = zip(v.c, h.c).map { $0 ^ $1 }
            #expect(c == zip(a, b).map { $0 & $1 })
            for x in [a, b, v.a, v.b, v.c, h.a, h.b, h.c] {
                let ones = x.reduce(0) { $0 + $1.nonzeroBitCount }
                #expect(ones > v.count / 4 && ones < 3 * v.count / 4)
            }
        }
    }

    /// Correlated triples on every engine: every plane j has c_j = a ∧ b_j with the same a, and the
    /// planes' b differ.
    @Test("correlated triples share a: c_j = a ∧ b_j for every plane", arguments: OTEngine.allCases)
    func correlatedTriples(engine: OTEngine) throws {
        let runs = try runTwoParties(engine) { s in try s.correlatedTriples(count: 700, width: 3) }
        let v = runs.vendor.result, h = runs.hospital.result
        let words = v.words
        #expect(words == 11 && h.words == words && v.b.count == 3 * words && v.c.count == 3 * words)
        let a = zip(v.a, h.a).map { $0 ^ $1 }, b = zip(v.b, h.b).map { $0 ^ $1 }, c = zip(v.c, h.c).map { $0 ^ $1 }
        #expect((0..<(3 * words)).allSatisfy { c[$0] == a[$0 % words] & b[$0] })
        #expect(Array(b[0..<words]) != Array(b[words..<(2 * words)]))
        for x in [a, b, v.a, v.b, h.b, v.c] {
            let ones = x.reduce(0) { $0 + $1.nonzeroBitCount }
            #expect(ones > x.count * 16 && ones < x.count * 48)
        }
    }

    @Test("AND of shared bits", arguments: OTEngine.allCases)
    func and(engine: OTEngine) throws {
        let x = SecureRandom.bytes(777).map { $0 & 1 }, y = SecureRandom.bytes(777).map { $0 & 1 }
        let (xv, xh) = splitBits(x), (yv, yh) = splitBits(y)
        let runs = try runTwoParties(engine) { s in
            s.party == .vendor ? try s.and(xv, yv) : try s.and(xh, yh)
        }
        #expect(reconstruct(runs.vendor.result, runs.hospital.result) == zip(x, y).map { $0 & $1 })
    }
}

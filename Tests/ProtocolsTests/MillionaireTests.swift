import CryptoPrimitives
@testable import Protocols
import Testing
import Transport

@Suite("Millionaire")
struct MillionaireTests {
    static let widths = [1, 2, 3, 4, 5, 8, 12, 16, 31, 36, 37, 63, 64]

    @Test("x < y and x = y of private inputs, random and edge values", arguments: OTEngine.allCases, widths)
    func compare(engine: OTEngine, bits: Int) throws {
        let mask = bits == 64 ? UInt64.max : (1 << UInt64(bits)) &- 1
        let prg = AESPRG()
        var x = prg.words(400).map { $0 & mask }
        var y = prg.words(400).map { $0 & mask }
        // Equal values, neighbours, extremes; equal high digits with different low digits.
        let edges: [(UInt64, UInt64)] = [(0, 0), (0, 1), (1, 0), (mask, mask), (mask, 0), (0, mask), (mask - 1, mask), (mask, mask - 1)]
        for (a, b) in edges { x.append(a & mask); y.append(b & mask) }
        for i in 0..<100 { y.append(x[i] ^ (prg.words(1)[0] & 0xF & mask)); x.append(x[i]) }
        let runs = try runTwoParties(engine) { [x, y] s in
            let mine = s.party == .vendor ? x : y
            let shares = try s.compare([ComparisonJob(values: mine, bits: bits, wantLess: true, wantEqual: true)])[0]
            return (shares.less!, shares.equal!, try s.lessThan(mine, bits: bits), try s.equal(mine, bits: bits))
        }
        let v = runs.vendor.result, h = runs.hospital.result
        let less = zip(x, y).map { UInt8($0 < $1 ? 1 : 0) }, same = zip(x, y).map { UInt8($0 == $1 ? 1 : 0) }
        #expect(reconstruct(v.0, h.0) == less)
        #expect(reconstruct(v.1, h.1) == same)
        #expect(reconstruct(v.2, h.2) == less)
        #expect(reconstruct(v.3, h.3) == same)
    }

    @Test("several jobs of different widths in one run", arguments: OTEngine.allCases)
    func jobs(engine: OTEngine) throws {
        let prg = AESPRG()
        let specs = [(bits: 12, n: 50), (bits: 37, n: 70), (bits: 3, n: 9), (bits: 64, n: 20)]
        let inputs = specs.map { spec in
            let mask = spec.bits == 64 ? UInt64.max : (1 << UInt64(spec.bits)) &- 1
            return (prg.words(spec.n).map { $0 & mask }, prg.words(spec.n).map { $0 & mask })
        }
        let runs = try runTwoParties(engine) { s in
            try s.compare(specs.indices.map { j in
                ComparisonJob(values: s.party == .vendor ? inputs[j].0 : inputs[j].1, bits: specs[j].bits, wantLess: true, wantEqual: j % 2 == 0)
            }).map { ($0.less, $0.equal) }
        }
        for j in specs.indices {
            let (x, y) = inputs[j]
            #expect(reconstruct(runs.vendor.result[j].0!, runs.hospital.result[j].0!) == zip(x, y).map { UInt8($0 < $1 ? 1 : 0) })
            if j % 2 == 0 {
                #expect(reconstruct(runs.vendor.result[j].1!, runs.hospital.result[j].1!) == zip(x, y).map { UInt8($0 == $1 ? 1 : 0) })
            }
        }
    }
}

@Suite("Millionaire leaves on 1-of-2^m OTs")
struct LeafOTTests {
    @Test("the engine's digit width: 3 bits on silent OT, 4 on IKNP")
    func digitWidth() throws {
        let runs = try runTwoParties(.silent) { s in s.leafDigitBits }
        #expect(runs.vendor.result == 3 && runs.hospital.result == 3)
        let iknp = try runTwoParties(.iknp) { s in s.leafDigitBits }
        #expect(iknp.vendor.result == 4 && iknp.hospital.result == 4)
    }

    @Test("each leaf shares 1{x_k < y_k} and 1{x_k = y_k} for every digit pair", arguments: [1, 2, 3, 4, 5])
    func leaves(m: Int) throws {
        let n = 1 << m
        // Every (x, y) digit pair, plus an odd count so that the two senders' halves differ.
        var x: [UInt8] = [], y: [UInt8] = []
        for a in 0..<n { for b in 0..<n { x.append(UInt8(a)); y.append(UInt8(b)) } }
        x.append(UInt8(n - 1)); y.append(0)
        let runs = try runTwoParties(.silent) { [x, y] s in
            try s.leafOTs(leafDigits: s.party == .vendor ? x : y, digitBits: m)
        }
        for i in x.indices {
            let leaf = runs.vendor.result[i] ^ runs.hospital.result[i]
            #expect(leaf & 1 == (x[i] < y[i] ? 1 : 0), "lt of (\(x[i]), \(y[i])) at m = \(m)")
            #expect(leaf >> 1 == (x[i] == y[i] ? 1 : 0), "eq of (\(x[i]), \(y[i])) at m = \(m)")
        }
        // The sender's own shares are its random bits: not constant across leaves.
        #expect(Set(runs.vendor.result).count > 1)
    }
}

@Suite("Millionaire: comparisons of a prefix of digits")
struct PrefixComparisonTests {
    @Test("prefixLess = 1{x mod 2^(m·k) < y mod 2^(m·k)} for k = 1, 2, 4, 8", arguments: OTEngine.allCases)
    func prefix(engine: OTEngine) throws {
        let bits = 36
        let mask: UInt64 = (1 << 36) - 1
        let prg = AESPRG()
        var x = prg.words(300).map { $0 & mask }, y = prg.words(300).map { $0 & mask }
        // Equal low parts with different high parts, and the reverse.
        for i in 0..<50 { y.append((x[i] & 0xFFF) | (y[i] & ~0xFFF & mask)); x.append(x[i]) }
        for i in 0..<50 { y.append((x[i] & ~0xFFF & mask) | (y[i] & 0xFFF)); x.append(x[i]) }
        let runs = try runTwoParties(engine) { [x, y] s in
            let mine = s.party == .vendor ? x : y
            let m = s.leafDigitBits
            return try [1, 2, 4, 8].map { k in
                var job = ComparisonJob(values: mine, bits: bits)
                job.prefixDigits = k
                let shares = try s.compare([job])[0]
                return (m, shares.less!, shares.prefixLess!)
            }
        }
        for (index, k) in [1, 2, 4, 8].enumerated() {
            let (m, vLess, vPrefix) = runs.vendor.result[index], (_, hLess, hPrefix) = runs.hospital.result[index]
            let low: UInt64 = (1 << UInt64(m * k)) - 1
            #expect(reconstruct(vLess, hLess) == zip(x, y).map { UInt8($0 < $1 ? 1 : 0) })
            #expect(reconstruct(vPrefix, hPrefix) == zip(x, y).map { UInt8($0 & low < $1 & low ? 1 : 0) }, "k = \(k), m = \(m)")
        }
    }

    @Test("a prefix that is not a power of two of the job's digits is refused before any OT")
    func refused() throws {
        let runs = try runTwoParties(.silent) { s in
            var job = ComparisonJob(values: [1, 2, 3], bits: 12)
            job.prefixDigits = 3
            var tooLong = ComparisonJob(values: [1, 2, 3], bits: 6)
            tooLong.prefixDigits = 4
            var noLess = ComparisonJob(values: [1, 2, 3], bits: 12, wantLess: false, wantEqual: true)
            noLess.prefixDigits = 1
            return [job, tooLong, noLess].map { j in (try? s.compare([j])) == nil }
        }
        #expect(runs.vendor.result == [true, true, true])
    }
}

import CryptoPrimitives
@testable import Protocols
import RingArithmetic
import Testing
import Transport

/// Every nonlinear protocol against the plaintext fixed-point reference, bit for bit.
@Suite("Nonlinear protocols")
struct NonLinearTests {
    /// Runs a one-input protocol on shares of `values` and returns the reconstructed output.
    static func run(_ engine: OTEngine, _ values: [Int64], bits: Int,
                    _ body: @escaping @Sendable (TwoPartySession, ArithmeticShare) throws -> ArithmeticShare) throws -> [Int64] {
        let (v, h) = splitShares(values, bits: bits)
        let runs = try runTwoParties(engine) { s in try body(s, s.party == .vendor ? v : h) }
        return reconstruct(runs.vendor.result, runs.hospital.result)
    }

    static func runBits(_ engine: OTEngine, _ values: [Int64], bits: Int,
                        _ body: @escaping @Sendable (TwoPartySession, ArithmeticShare) throws -> BooleanShare) throws -> [UInt8] {
        let (v, h) = splitShares(values, bits: bits)
        let runs = try runTwoParties(engine) { s in try body(s, s.party == .vendor ? v : h) }
        return reconstruct(runs.vendor.result, runs.hospital.result)
    }

    @Test("DReLU = 1{x ≥ 0} and MSB", arguments: OTEngine.allCases, testFormats)
    func drelu(engine: OTEngine, format: FixedPointFormat) throws {
        let x = format.testValues()
        #expect(try Self.runBits(engine, x, bits: format.ringBits) { try $0.drelu($1) } == x.map { $0 >= 0 ? 1 : 0 })
        #expect(try Self.runBits(engine, x, bits: format.ringBits) { try $0.mostSignificantBit($1) } == x.map { $0 < 0 ? 1 : 0 })
    }

    @Test("ReLU = max(x, 0)", arguments: OTEngine.allCases, testFormats)
    func relu(engine: OTEngine, format: FixedPointFormat) throws {
        let x = format.testValues()
        #expect(try Self.run(engine, x, bits: format.ringBits) { try $0.relu($1) } == x.map { max($0, 0) })
    }

    @Test("multiplexer b·x and select", arguments: OTEngine.allCases, testFormats)
    func multiplexer(engine: OTEngine, format: FixedPointFormat) throws {
        let x = format.testValues(), y = format.testValues()
        let b = SecureRandom.bytes(x.count).map { $0 & 1 }
        let (bv, bh) = splitBits(b), (xv, xh) = splitShares(x, bits: format.ringBits), (yv, yh) = splitShares(y, bits: format.ringBits)
        let runs = try runTwoParties(engine) { s in
            let vendor = s.party == .vendor
            return (try s.multiplex(vendor ? bv : bh, vendor ? xv : xh), try s.select(vendor ? bv : bh, vendor ? xv : xh, vendor ? yv : yh))
        }
        #expect(reconstruct(runs.vendor.result.0, runs.hospital.result.0) == zip(b, x).map { $0 == 1 ? $1 : 0 })
        #expect(reconstruct(runs.vendor.result.1, runs.hospital.result.1) == b.indices.map { b[$0] == 1 ? x[$0] : y[$0] })
    }

    @Test("faithful truncation ⌊x / 2^s⌋ equals FixedPointFormat.truncate", arguments: OTEngine.allCases, testFormats)
    func truncation(engine: OTEngine, format: FixedPointFormat) throws {
        let x = format.testValues()
        #expect(try Self.run(engine, x, bits: format.ringBits) { try $0.truncate($1, shift: format.scale) } == x.map(format.truncate))
        // Other shifts, including 1 and ℓ − 1, and powers of two digits of either engine (the
        // carry read from the wrap job's tree: 3, 6, 24 on silent OT; 4, 8, 16 on IKNP).
        for shift in [1, 3, 4, 6, 8, 16, 24, format.ringBits - 1, format.scale * 2] where shift < format.ringBits {
            #expect(try Self.run(engine, x, bits: format.ringBits) { try $0.truncate($1, shift: shift) } == x.map { $0 >> Int64(shift) })
        }
    }

    @Test("ReLU fused with truncation equals truncate(ReLU(x)) and ReLU(truncate(x))", arguments: OTEngine.allCases, testFormats)
    func reluTruncate(engine: OTEngine, format: FixedPointFormat) throws {
        let x = format.testValues()
        let fused = try Self.run(engine, x, bits: format.ringBits) { try $0.reluTruncate($1, shift: format.scale) }
        #expect(fused == x.map { format.truncate(max($0, 0)) })
        #expect(fused == x.map { max(format.truncate($0), 0) })
        // Shifts whose low carry is read inside the DReLU's tree (a power-of-two number of digits:
        // 3, 6, 12, 24 on silent OT; 4, 8, 16 on IKNP) and shifts that need a second job.
        for shift in [1, 3, 4, 5, 6, 8, 12, 13, 16, 24, format.ringBits - 2, format.ringBits - 1] where shift < format.ringBits {
            let out = try Self.run(engine, x, bits: format.ringBits) { try $0.reluTruncate($1, shift: shift) }
            #expect(out == x.map { max($0, 0) >> Int64(shift) }, "shift \(shift)")
        }
        let nonNegative = x.map { max($0, 0) }
        #expect(try Self.run(engine, nonNegative, bits: format.ringBits) { try $0.truncateNonNegative($1, shift: format.scale) } == nonNegative.map(format.truncate))
    }

    @Test("max of two and 1{a ≥ b}, full range and half range", arguments: OTEngine.allCases, testFormats)
    func maxOfTwo(engine: OTEngine, format: FixedPointFormat) throws {
        var a = format.testValues(), b = format.testValues()
        // Ties and extreme pairs.
        a += [0, 5, format.maxSigned, format.minSigned, format.maxSigned, format.minSigned, -1]
        b += [0, 5, format.minSigned, format.maxSigned, format.maxSigned, format.minSigned, 0]
        let l = format.ringBits
        let (av, ah) = splitShares(a, bits: l), (bv, bh) = splitShares(b, bits: l)
        let runs = try runTwoParties(engine) { s in
            let vendor = s.party == .vendor
            return (try s.max(vendor ? av : ah, vendor ? bv : bh), try s.greaterOrEqual(vendor ? av : ah, vendor ? bv : bh))
        }
        #expect(reconstruct(runs.vendor.result.0, runs.hospital.result.0) == zip(a, b).map { max($0, $1) })
        #expect(reconstruct(runs.vendor.result.1, runs.hospital.result.1) == zip(a, b).map { $0 >= $1 ? 1 : 0 })
        // Half range: inputs in [−2^(ℓ−2), 2^(ℓ−2)).
        let quarter = Int64(1) << Int64(l - 2)
        let ha = a.map { format.wrap($0) >> 1 }.map { min(max($0, -quarter), quarter - 1) }
        let hb = b.map { format.wrap($0) >> 1 }.map { min(max($0, -quarter), quarter - 1) }
        let (hav, hah) = splitShares(ha, bits: l), (hbv, hbh) = splitShares(hb, bits: l)
        let half = try runTwoParties(engine) { s in
            let vendor = s.party == .vendor
            return try s.max(vendor ? hav : hah, vendor ? hbv : hbh, range: .halfRange)
        }
        #expect(reconstruct(half.vendor.result, half.hospital.result) == zip(ha, hb).map { max($0, $1) })
    }

    @Test("max pool over window index tables (variable sizes, empty window = 0)", arguments: OTEngine.allCases, testFormats)
    func maxPool(engine: OTEngine, format: FixedPointFormat) throws {
        // 2 planes of 5×5, 3×3 windows with stride 2 and padding 1 (border windows are smaller).
        let h = 5, w = 5, planes = 2
        var windows: [[Int]] = []
        for oy in 0..<3 {
            for ox in 0..<3 {
                var window: [Int] = []
                for ky in 0..<3 { for kx in 0..<3 {
                    let y = oy * 2 - 1 + ky, x = ox * 2 - 1 + kx
                    if (0..<h).contains(y), (0..<w).contains(x) { window.append(y * w + x) }
                } }
                windows.append(window)
            }
        }
        windows.append([])            // an empty window
        windows.append([7])           // a single element
        windows.append([3, 3, 3])     // repeated elements (ties)
        var x = format.randomValues(planes * h * w)
        x[0] = format.minSigned; x[1] = format.maxSigned; x[6] = format.maxSigned; x[30] = format.minSigned
        let full = try Self.run(engine, x, bits: format.ringBits) { [windows] in try $0.maxPool($1, planes: planes, planeSize: h * w, windows: windows) }
        var expected: [Int64] = []
        for p in 0..<planes {
            for window in windows { expected.append(window.isEmpty ? 0 : window.map { x[p * h * w + $0] }.max()!) }
        }
        #expect(full == expected)
    }

    @Test("division by a public constant equals floorDivide", arguments: OTEngine.allCases, testFormats)
    func division(engine: OTEngine, format: FixedPointFormat) throws {
        let x = format.testValues(random: 200, small: 200)
        let divisors: [Int64] = format.ringBits == 8 ? [1, 2, 3, 4, 7, 9, 25, 31] : [1, 2, 3, 4, 7, 9, 49, 196, 1000, 65_537]
        for d in divisors {
            let got = try Self.run(engine, x, bits: format.ringBits) { try $0.divide($1, by: d) }
            #expect(got == x.map { Self.floorDivide($0, d) }, "d = \(d)")
        }
    }

    /// The reference's floor division (Sources/Reference/FixedPointExecutor.swift).
    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && a < 0) ? q - 1 : q
    }
}

import CryptoPrimitives
@testable import Protocols
import RingArithmetic
import Testing
import Transport

/// The clinical metric stage on secret shares: sign extension, the oblivious sort, ratio division,
/// AUROC and sensitivity/specificity, each reconstructed and compared with the plaintext definition.
@Suite("Clinical statistics: sort, ratio division, AUROC, sensitivity and specificity")
struct ClinicalStatisticsTests {
    static let k = 20

    /// ⌊2^k·a/b⌋, or 2^(k+1) − 1 for b = 0 (the protocols' "undefined").
    static func quotient(_ a: Int, _ b: Int) -> Int64 { b == 0 ? (1 << (k + 1)) - 1 : Int64((a << k) / b) }

    /// 2U by all pairs (the definition), with P and N.
    static func twiceU(_ scores: [Int64], _ labels: [Int]) -> (u: Int, p: Int, n: Int) {
        var u = 0
        for (sp, lp) in zip(scores, labels) where lp == 1 {
            for (sn, ln) in zip(scores, labels) where ln == 0 { u += sp > sn ? 2 : (sp == sn ? 1 : 0) }
        }
        return (u, labels.filter { $0 == 1 }.count, labels.filter { $0 == 0 }.count)
    }

    /// Scores with many ties and extremes; labels with −1 entries; finding 1 has no positives.
    static func data(_ format: FixedPointFormat, images: Int, findings: Int, seed: UInt64) -> (scores: [Int64], labels: [Int]) {
        let prg = AESPRG()
        var scores = format.smallValues(images * findings, magnitudeBits: 2, prg: prg)
        let random = format.randomValues(images * findings, prg: prg)
        let words = prg.words(images * findings)
        var labels = [Int](repeating: 0, count: images * findings)
        for i in 0..<(images * findings) {
            switch words[i] % 7 {
            case 0: scores[i] = format.maxSigned
            case 1: scores[i] = format.minSigned
            case 2, 3: scores[i] = random[i]
            default: break
            }
            labels[i] = Int((words[i] >> 8) % 3) - 1
            if findings > 1 && i % findings == 1 { labels[i] = labels[i] == 1 ? 0 : labels[i] }
        }
        _ = seed
        return (scores, labels)
    }

    @Test("sign extension keeps every signed value, edge values included", arguments: OTEngine.allCases)
    func extend(engine: OTEngine) throws {
        for (from, to) in [(37, 40), (8, 20), (37, 64)] {
            let format = try FixedPointFormat(ringBits: from, scale: 3)
            let x = format.testValues(random: 100, small: 100)
            let (v, h) = splitShares(x, bits: from)
            let runs = try runTwoParties(engine) { s in try s.extendSigned(s.party == .vendor ? v : h, to: to) }
            #expect(reconstruct(runs.vendor.result, runs.hospital.result) == x)
        }
    }

    @Test("bitonic sort of several lists at once: keys ascending, payloads travel with their keys", arguments: OTEngine.allCases)
    func sort(engine: OTEngine) throws {
        let bits = 20, lists = 3, length = 16
        let prg = AESPRG()
        let keys = prg.words(lists * length).map { Int64($0 % 9) - 4 }   // many equal keys
        let payload = (0..<(lists * length)).map { Int64($0) }
        let (kv, kh) = splitShares(keys, bits: bits), (pv, ph) = splitShares(payload, bits: bits)
        let runs = try runTwoParties(engine) { s in
            try s.sortAscending(keys: s.party == .vendor ? kv : kh, payloads: [s.party == .vendor ? pv : ph], lists: lists, length: length)
        }
        let sortedKeys = reconstruct(runs.vendor.result.keys, runs.hospital.result.keys)
        let sortedPayload = reconstruct(runs.vendor.result.payloads[0], runs.hospital.result.payloads[0])
        for l in 0..<lists {
            let range = (l * length)..<((l + 1) * length)
            #expect(Array(sortedKeys[range]) == keys[range].sorted())
            #expect(Set(sortedPayload[range]) == Set(payload[range]), "a permutation of the payload")
            for i in range { #expect(keys[Int(sortedPayload[i])] == sortedKeys[i], "each payload stays with its key") }
        }
        #expect(throws: ProtocolError.self) {
            _ = try runTwoParties(engine) { s in try s.sortAscending(keys: kv, payloads: [], lists: 1, length: 48) }
        }
    }

    @Test("ratio division ⌊2^k·a/b⌋, a = b, a = 0, and b = 0 (undefined)", arguments: OTEngine.allCases)
    func division(engine: OTEngine) throws {
        let bits = 44
        let prg = AESPRG()
        var a: [Int64] = [0, 5, 5, 0, 7, 1], b: [Int64] = [5, 5, 0, 0, 1_000_003, 1]
        for w in prg.words(40) {
            let d = Int64(w % 4_000_000)
            b.append(d); a.append(d == 0 ? 0 : Int64((w >> 24) % UInt64(d + 1)))
        }
        let (av, ah) = splitShares(a, bits: bits), (bv, bh) = splitShares(b, bits: bits)
        let runs = try runTwoParties(engine) { s in
            try s.divideRatio(s.party == .vendor ? av : ah, by: s.party == .vendor ? bv : bh, fractionBits: Self.k)
        }
        #expect(reconstruct(runs.vendor.result, runs.hospital.result) == zip(a, b).map { Self.quotient(Int($0), Int($1)) })
    }

    @Test("AUROC quotients equal the Mann–Whitney definition (ties ½, −1 left out, a finding without positives undefined)",
          arguments: OTEngine.allCases, [37, 8])
    func auroc(engine: OTEngine, bits: Int) throws {
        let format = try FixedPointFormat(ringBits: bits, scale: 3)
        let images = 37, findings = 3
        let (scores, labels) = Self.data(format, images: images, findings: findings, seed: 1)
        let (v, h) = splitShares(scores, bits: bits)
        let runs = try runTwoParties(engine) { s in
            try s.aurocQuotients(scores: s.party == .vendor ? v : h, labels: s.party == .vendor ? nil : labels,
                                 images: images, findings: findings, fractionBits: Self.k)
        }
        let opened = reconstruct(runs.vendor.result, runs.hospital.result)
        for c in 0..<findings {
            let column = (0..<images).map { scores[$0 * findings + c] }, columnLabels = (0..<images).map { labels[$0 * findings + c] }
            let (u, p, n) = Self.twiceU(column, columnLabels)
            #expect(opened[c] == Self.quotient(u, 2 * p * n), "finding \(c): P = \(p), N = \(n), 2U = \(u)")
        }
        #expect(opened[1] == (1 << (Self.k + 1)) - 1, "finding 1 has no positives")
    }

    @Test("AUROC with secret-shared labels (pools) equals the Mann–Whitney definition and the plain-label protocol",
          arguments: OTEngine.allCases)
    func aurocSharedLabels(engine: OTEngine) throws {
        let bits = 37
        let format = try FixedPointFormat(ringBits: bits, scale: 3)
        let images = 37, findings = 3
        let (scores, labels) = Self.data(format, images: images, findings: findings, seed: 2)
        let (v, h) = splitShares(scores, bits: bits)
        let (pv, ph) = splitShares(labels.map { $0 == 1 ? 1 : 0 }, bits: bits)
        let (nv, nh) = splitShares(labels.map { $0 == 0 ? 1 : 0 }, bits: bits)
        let runs = try runTwoParties(engine) { s in
            let vendor = s.party == .vendor
            return try s.aurocQuotients(scores: vendor ? v : h, positive: vendor ? pv : ph, negative: vendor ? nv : nh,
                                        images: images, findings: findings, fractionBits: Self.k)
        }
        let opened = reconstruct(runs.vendor.result, runs.hospital.result)
        for c in 0..<findings {
            let column = (0..<images).map { scores[$0 * findings + c] }, columnLabels = (0..<images).map { labels[$0 * findings + c] }
            let (u, p, n) = Self.twiceU(column, columnLabels)
            #expect(opened[c] == Self.quotient(u, 2 * p * n), "finding \(c): P = \(p), N = \(n), 2U = \(u)")
        }
    }

    @Test("Gilboa multiplication of shares, including values near 2^ℓ", arguments: OTEngine.allCases)
    func multiplication(engine: OTEngine) throws {
        let bits = 48
        let a: [Int64] = [0, 1, 7, -3, 1 << 40, 123_456_789, -(1 << 46)], b: [Int64] = [5, 0, 9, -11, 3, 987_654, 1]
        let (av, ah) = splitShares(a, bits: bits), (bv, bh) = splitShares(b, bits: bits)
        let runs = try runTwoParties(engine) { s in
            try s.multiply(s.party == .vendor ? av : ah, s.party == .vendor ? bv : bh)
        }
        let m: UInt64 = (1 << 48) - 1
        let expected = zip(a, b).map { x, y -> Int64 in
            let w = (UInt64(bitPattern: x) &* UInt64(bitPattern: y)) & m
            return Int64(bitPattern: w << 16) >> 16
        }
        #expect(reconstruct(runs.vendor.result, runs.hospital.result) == expected)
    }

    @Test("AUROC on one image, on all-equal scores, and a 64-bit ring refused", arguments: OTEngine.allCases)
    func aurocEdges(engine: OTEngine) throws {
        let bits = 37
        for (scores, labels) in [([Int64(5)], [1]), ([Int64](repeating: 9, count: 6), [1, 0, 1, 0, 0, -1])] {
            let (v, h) = splitShares(scores, bits: bits)
            let runs = try runTwoParties(engine) { s in
                try s.aurocQuotients(scores: s.party == .vendor ? v : h, labels: s.party == .vendor ? nil : labels,
                                     images: scores.count, findings: 1, fractionBits: Self.k)
            }
            let (u, p, n) = Self.twiceU(scores, labels)
            #expect(reconstruct(runs.vendor.result, runs.hospital.result) == [Self.quotient(u, 2 * p * n)])
        }
        let (v, h) = splitShares([1, 2], bits: 64)
        #expect(throws: ProtocolError.self) {
            _ = try runTwoParties(engine) { s in
                try s.aurocQuotients(scores: s.party == .vendor ? v : h, labels: s.party == .vendor ? nil : [1, 0], images: 2, findings: 1, fractionBits: Self.k)
            }
        }
    }

    @Test("sensitivity and specificity quotients at edge thresholds equal the counts' definition", arguments: OTEngine.allCases, [37, 64, 8])
    func operatingPoints(engine: OTEngine, bits: Int) throws {
        let format = try FixedPointFormat(ringBits: bits, scale: 3)
        let images = 45, findings = 4
        let (scores, labels) = Self.data(format, images: images, findings: findings, seed: 2)
        let thresholds: [Int64] = [0, format.minSigned, format.maxSigned, 1]
        let (v, h) = splitShares(scores, bits: bits)
        let runs = try runTwoParties(engine) { s in
            try s.operatingPointQuotients(scores: s.party == .vendor ? v : h, labels: s.party == .vendor ? nil : labels,
                                          images: images, findings: findings, thresholds: thresholds, fractionBits: Self.k)
        }
        let opened = reconstruct(runs.vendor.result, runs.hospital.result)
        for c in 0..<findings {
            var tp = 0, p = 0, tn = 0, n = 0
            for i in 0..<images {
                let score = scores[i * findings + c], label = labels[i * findings + c]
                if label == 1 { p += 1; if score >= thresholds[c] { tp += 1 } }
                if label == 0 { n += 1; if score < thresholds[c] { tn += 1 } }
            }
            #expect(opened[c] == Self.quotient(tp, p), "sensitivity of finding \(c)")
            #expect(opened[findings + c] == Self.quotient(tn, n), "specificity of finding \(c)")
        }
    }

    @Test("ratio thresholds: 1{t ≤ q ≤ 2^k} per quotient (undefined fails), and one bit for all", arguments: OTEngine.allCases)
    func quotientThresholds(engine: OTEngine) throws {
        let bits = 44, k = Self.k
        let undefined = (Int64(1) << (k + 1)) - 1
        let q: [Int64] = [0, 1 << k, (1 << k) - 1, 800_000, 800_001, undefined, 799_999]
        let (v, h) = splitShares(q, bits: bits)
        for (t, all) in [(Int64(800_000), false), (Int64(800_000), true), (Int64(0), false), (Int64(1) << k, false)] {
            let runs = try runTwoParties(engine) { s in
                try s.quotientsAtLeast(s.party == .vendor ? v : h, threshold: t, fractionBits: k, all: all)
            }
            let opened = reconstruct(runs.vendor.result, runs.hospital.result)
            let expected: [UInt8] = q.map { $0 >= t && $0 <= (1 << k) ? 1 : 0 }
            #expect(opened == (all ? [expected.allSatisfy { $0 == 1 } ? 1 : 0] : expected), "t = \(t), all = \(all)")
        }
        let passing = splitShares([900_000, 1 << k, 850_000], bits: bits)
        let runs = try runTwoParties(engine) { s in
            try s.quotientsAtLeast(s.party == .vendor ? passing.vendor : passing.hospital, threshold: 800_000, fractionBits: k, all: true)
        }
        #expect(reconstruct(runs.vendor.result, runs.hospital.result) == [1])
    }

    @Test("the vendor's view has the same sizes and rounds whatever the labels and scores", arguments: OTEngine.allCases)
    func vendorViewIndependentOfData(engine: OTEngine) throws {
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let images = 20, findings = 2
        var views: [[Int]] = []
        for variant in 0..<3 {
            let scores: [Int64] = variant == 0 ? [Int64](repeating: 0, count: images * findings) : format.randomValues(images * findings)
            let labels: [Int] = (0..<(images * findings)).map { variant == 2 ? -1 : ($0 % 3) - 1 }
            let (v, h) = splitShares(scores, bits: 37)
            let runs = try runTwoParties(engine) { s in
                let mine = s.party == .vendor ? v : h, theirs: [Int]? = s.party == .vendor ? nil : labels
                return (try s.aurocQuotients(scores: mine, labels: theirs, images: images, findings: findings, fractionBits: Self.k),
                        try s.operatingPointQuotients(scores: mine, labels: theirs, images: images, findings: findings,
                                                      thresholds: [0, 5], fractionBits: Self.k))
            }
            let stats = runs.vendor.statistics
            views.append([stats.bytesSent, stats.bytesReceived, stats.rounds])
        }
        #expect(views[0] == views[1] && views[1] == views[2], "\(views)")
    }
}

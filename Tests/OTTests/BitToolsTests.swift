import CryptoPrimitives
import Testing
@testable import OT

@Suite struct BitToolsTests {
    @Test func transpose128MatchesTheDefinition() {
        let prg = AESPRG(seed: Block(low: 5, high: 5))
        let original = prg.blocks(128)
        var m = original
        m.withUnsafeMutableBufferPointer { BitTranspose.transpose128($0.baseAddress!) }
        var mismatches = 0
        for r in 0..<128 {
            for c in 0..<128 where m[r].bit(c) != original[c].bit(r) { mismatches += 1 }
        }
        #expect(mismatches == 0)
        m.withUnsafeMutableBufferPointer { BitTranspose.transpose128($0.baseAddress!) }
        #expect(m == original)
    }

    @Test func columnsToRowsMatchesTheDefinition() {
        let words = 6, rows = 384   // 3 blocks of 128 rows, 128 columns
        let columns = AESPRG(seed: Block(low: 6, high: 0)).words(128 * words)
        var out = [Block](repeating: .zero, count: rows)
        columns.withUnsafeBufferPointer { c in
            out.withUnsafeMutableBufferPointer {
                BitTranspose.columnsToRows(c.baseAddress!, columnWords: words, firstColumn: 0, rowCount: rows, into: $0.baseAddress!)
            }
        }
        var mismatches = 0
        for i in 0..<rows {
            for k in 0..<128 where out[i].bit(k) != ((columns[k * words + i / 64] >> UInt64(i % 64)) & 1 == 1) {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
    }

    @Test(arguments: [1, 2, 7, 13, 37, 63, 64])
    func packingRoundTrips(bits: Int) {
        let values = AESPRG(seed: Block(low: UInt64(bits), high: 0)).ringElements(1001, bits: bits)
        var words = [UInt64](repeating: 0, count: BitPacking.wordCount(values.count, bits: bits))
        words.withUnsafeMutableBufferPointer { w in
            var packer = BitPacker(into: w.baseAddress!, bits: bits)
            for v in values { packer.append(v | ~mask(bits)) }   // high garbage is dropped
            packer.finish()
        }
        #expect(BitPacking.byteCount(values.count, bits: bits) == (1001 * bits + 7) / 8)
        words.withUnsafeBufferPointer { w in
            #expect(values.indices.allSatisfy { BitPacking.extract(w.baseAddress!, index: $0, bits: bits) == values[$0] })
        }
    }

    @Test func walshHadamardCodewordsAreAtDistance128() {
        let codewords = (0..<256).map { WalshHadamardCode.codeword(UInt8($0)) }
        var wrong = 0
        for x in 0..<256 {
            for y in (x + 1)..<256 where (0..<4).reduce(0, { $0 + (codewords[x][$1] ^ codewords[y][$1]).nonzeroBitCount }) != 128 {
                wrong += 1
            }
        }
        #expect(wrong == 0)
    }

    @Test func walshHadamardColumnsMatchCodewords() {
        let values: [UInt8] = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let words = 4
        var columns = [UInt64](repeating: 0, count: 256 * words)
        values.withUnsafeBufferPointer { v in
            columns.withUnsafeMutableBufferPointer { WalshHadamardCode.columns(of: v, words: words, into: $0.baseAddress!) }
        }
        var mismatches = 0
        for (i, v) in values.enumerated() {
            let c = WalshHadamardCode.codeword(v)
            for k in 0..<256 where (columns[k * words + i / 64] >> UInt64(i % 64)) & 1 != (c[k / 64] >> UInt64(k % 64)) & 1 {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
    }
}

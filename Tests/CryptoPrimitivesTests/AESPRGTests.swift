import Testing
@testable import CryptoPrimitives

@Suite struct AESPRGTests {
    @Test func sameSeedGivesTheSameStreamAndChunkingDoesNotMatter() {
        let seed = Block(low: 0x0123_4567_89ab_cdef, high: 0xfedc_ba98_7654_3210)
        let a = AESPRG(seed: seed), b = AESPRG(seed: seed)
        let whole = a.words(100_000)
        var pieces: [UInt64] = []
        for size in [1, 7, 1000, 98_992] { pieces += b.words(size) }
        #expect(whole == pieces)
    }

    @Test func differentSeedsGiveDifferentStreams() {
        let a = AESPRG(seed: Block(low: 1, high: 0)), b = AESPRG(seed: Block(low: 2, high: 0))
        #expect(a.words(16) != b.words(16))
    }

    @Test func matchesAES128CTRKnownAnswer() {
        // Key stream of AES-128-CTR with an all-zero key and IV starts with AES_0(0) =
        // 66e94bd4ef8a2c3b884cfa59ca342b2e (FIPS-197 style known answer).
        let prg = AESPRG(seed: .zero)
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes.withUnsafeMutableBytes { prg.fill($0) }
        #expect(bytes == [0x66, 0xe9, 0x4b, 0xd4, 0xef, 0x8a, 0x2c, 0x3b, 0x88, 0x4c, 0xfa, 0x59, 0xca, 0x34, 0x2b, 0x2e])
    }

    @Test func ringElementsAreReduced() {
        let values = AESPRG(seed: Block(low: 9, high: 9)).ringElements(10_000, bits: 37)
        #expect(values.allSatisfy { $0 < (1 << 37) })
        // Uniform-looking: both halves of the range are hit roughly equally.
        let high = values.filter { $0 >= (1 << 36) }.count
        #expect(high > 4_500 && high < 5_500)
    }

    @Test func secureRandomBlocksDiffer() {
        #expect(SecureRandom.block() != SecureRandom.block())
    }

    @Test func sha256KnownAnswer() {
        let digest = SHA256Hasher().digest(Array("abc".utf8))
        #expect(digest.prefix(4) == [0xba, 0x78, 0x16, 0xbf])
        #expect(digest.suffix(4) == [0xf2, 0x00, 0x15, 0xad])
        // FIPS 180-2's "abc" vector, as the hex the ledgers and reports show.
        #expect(SHA256Hasher().hexDigest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

import Foundation
import CryptoPrimitives
@testable import LatticeHE
import Testing

/// The negacyclic product w·m mod 2^ℓ in the clear (wrapping 64-bit arithmetic, then masked).
func plainProduct(_ w: [Int64], _ m: [UInt64], bits: Int) -> [UInt64] {
    let n = m.count
    var out = [UInt64](repeating: 0, count: n)
    for i in 0..<n where w[i] != 0 {
        let wi = UInt64(bitPattern: w[i])
        for j in 0..<n {
            let p = wi &* m[j]
            if i + j < n { out[i + j] &+= p } else { out[i + j - n] &-= p }
        }
    }
    let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
    return out.map { $0 & mask }
}

func randomSigned(_ n: Int, magnitude: Int64, prg: AESPRG) -> [Int64] {
    prg.words(n).map { Int64($0 % UInt64(2 * magnitude + 1)) - magnitude }
}

/// `nonzero` random positions with random values in [−magnitude, magnitude] (cheap clear products).
func sparseSigned(_ n: Int, nonzero: Int, magnitude: Int64, prg: AESPRG) -> [Int64] {
    var w = [Int64](repeating: 0, count: n)
    let words = prg.words(2 * nonzero)
    for k in 0..<nonzero {
        w[Int(words[2 * k] % UInt64(n))] = Int64(words[2 * k + 1] % UInt64(2 * magnitude + 1)) - magnitude
    }
    return w
}

@Suite struct BFVTests {
    @Test(arguments: [(4096, 37), (4096, 64), (8192, 64), (2048, 20)])
    func encryptDecryptRoundTrip(degree: Int, bits: Int) throws {
        let parameters = switch degree {
        case 2048: try HEParameters.n2048(plaintextBits: bits)
        case 4096: try HEParameters.n4096(plaintextBits: bits)
        default: try HEParameters.n8192(plaintextBits: bits)
        }
        let prg = seededPRG(UInt64(degree + bits))
        let key = SecretKey(parameters: parameters, prg: prg)
        var message = prg.ringElements(degree, bits: bits)
        message[0] = 0
        message[1] = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        let ct = try BFV.encrypt(message, secretKey: key, prg: prg)
        #expect(try BFV.decrypt(ct, secretKey: key) == message)
        #expect(try BFV.decrypt(ct.inverseNTT(), secretKey: key) == message)
        let budget = try BFV.noiseBudget(ct, secretKey: key)
        // Fresh noise ≤ 21.5 < 2^5; the measurement itself resolves about 50 bits.
        #expect(budget > min(Double(parameters.modulusBits - bits - 1) - 6, 45))
    }

    @Test func addAndSubtractPlaintext() throws {
        let parameters = try HEParameters.n4096(plaintextBits: 37)
        let prg = seededPRG(7)
        let key = SecretKey(parameters: parameters, prg: prg)
        let m = prg.ringElements(4096, bits: 37), p = prg.ringElements(4096, bits: 37)
        let mask: UInt64 = (1 << 37) - 1
        let ct = try BFV.encrypt(m, secretKey: key, prg: prg)
        let sum = zip(m, p).map { ($0 &+ $1) & mask }
        let difference = zip(m, p).map { ($0 &- $1) & mask }
        #expect(try BFV.decrypt(BFV.add(ct, plaintext: p), secretKey: key) == sum)
        #expect(try BFV.decrypt(BFV.subtract(ct, plaintext: p), secretKey: key) == difference)
        #expect(try BFV.decrypt(BFV.add(ct.inverseNTT(), plaintext: p), secretKey: key) == sum)
        #expect(try BFV.decrypt(BFV.subtract(ct.inverseNTT(), plaintext: p), secretKey: key) == difference)
        #expect(throws: HEError.valueOutOfRange(index: 0, bits: 37)) {
            try BFV.add(ct, plaintext: [1 << 37] + [UInt64](repeating: 0, count: 4095))
        }
    }

    @Test(arguments: [37, 64])
    func plaintextTimesCiphertextIsExactModT(bits: Int) throws {
        let parameters = try HEParameters.n4096(plaintextBits: bits)
        let prg = seededPRG(UInt64(100 + bits))
        let key = SecretKey(parameters: parameters, prg: prg)
        let m = prg.ringElements(4096, bits: bits)
        let w = randomSigned(4096, magnitude: 1 << 15, prg: prg)
        let ct = try BFV.encrypt(m, secretKey: key, prg: prg)
        let product = try BFV.multiply(PlaintextMultiplier(parameters: parameters, signed: w), ct)
        #expect(try BFV.decrypt(product, secretKey: key) == plainProduct(w, m, bits: bits))
        // The same multiplier given as elements of Z_t (negative values wrapped).
        let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        let wrapped = try PlaintextMultiplier(parameters: parameters, values: w.map { UInt64(bitPattern: $0) & mask })
        #expect(try BFV.decrypt(BFV.multiply(wrapped, ct), secretKey: key) == plainProduct(w, m, bits: bits))
    }

    @Test func sixtyFourAccumulatedProductsThenSwitchFloodAndSparseReturn() throws {
        let bits = 37
        let parameters = try HEParameters.n4096(plaintextBits: bits)
        let prg = seededPRG(64)
        let key = SecretKey(parameters: parameters, prg: prg)
        let publicKey = PublicKey(secretKey: key, prg: prg)
        let mask: UInt64 = (1 << 37) - 1
        var accumulator = ProductAccumulator(parameters: parameters)
        var expected = [UInt64](repeating: 0, count: 4096)
        for _ in 0..<64 {
            let m = prg.ringElements(4096, bits: bits)
            let w = sparseSigned(4096, nonzero: 64, magnitude: 1 << 12, prg: prg)
            let ct = try BFV.encrypt(m, secretKey: key, prg: prg)
            try accumulator.add(PlaintextMultiplier(parameters: parameters, signed: w), ct)
            expected = zip(expected, plainProduct(w, m, bits: bits)).map { ($0 &+ $1) & mask }
        }
        let sum = try accumulator.result()
        #expect(try BFV.decrypt(sum, secretKey: key) == expected)

        // The vendor masks with r, re-randomises and floods, switches to one prime and returns
        // half of the coefficients; the client's share plus r is the product.
        let r = prg.ringElements(4096, bits: bits)
        let workload = LinearWorkload(totalL1Norm: accumulator.totalL1Norm, plaintextAdditions: 1, flooding: true, returnLimbs: 1)
        let report = try NoiseBudget.check(parameters, workload)
        let masked = try BFV.subtract(sum.inverseNTT(), plaintext: r)
        let flooded = try BFV.rerandomize(masked, publicKey: publicKey, floodingBits: report.floodingBits, prg: prg)
        #expect(try BFV.decrypt(flooded, secretKey: key) == zip(expected, r).map { ($0 &- $1) & mask })
        let switched = try BFV.switchModulus(flooded, toLimbs: 1)
        #expect(switched.limbCount == 1)
        let clientShare = try BFV.decrypt(switched, secretKey: key)
        #expect(zip(clientShare, r).map { ($0 &+ $1) & mask } == expected)
        // Measured noise stays within the predicted bound.
        let measured = try BFV.noiseBudget(switched, secretKey: key)
        #expect(measured >= report.switchedMargin - 0.01)

        let indices = Array(stride(from: 3, to: 4096, by: 2))
        let bytes = try SparseCiphertext(switched, indices: indices).serialized()
        #expect(bytes.count == HEWire.sparseSize(parameters, limbs: 1, indexCount: indices.count))
        #expect(bytes.count == 16 + (60 * (4096 + indices.count) + 7) / 8)
        let received = try SparseCiphertext(deserializing: bytes, parameters: parameters, indices: indices)
        #expect(try BFV.decrypt(received, secretKey: key) == indices.map { clientShare[$0] })

        // Cheetah's extraction: the low bits the worst-case budget leaves room for come off the
        // wire, and the share is still exact; the sizes shrink by exactly those bits.
        let drop = NoiseBudget.droppableBits(parameters, report, returnLimbs: 1)
        #expect(drop.c0 > drop.c1 && drop.c1 > 0)
        #expect(report.switchedNoiseBits < report.switchedLimitBits)
        #expect(exp2(report.switchedNoiseBits) + drop.error(degree: 4096) < exp2(report.switchedLimitBits))
        let short = try SparseCiphertext(switched, indices: indices).serialized(dropping: drop)
        #expect(short.count == HEWire.sparseSize(parameters, limbs: 1, indexCount: indices.count, dropped: drop))
        #expect(short.count == 16 + ((60 - drop.c1) * 4096 + (60 - drop.c0) * indices.count + 7) / 8)
        let shortReceived = try SparseCiphertext(deserializing: short, parameters: parameters, indices: indices, dropped: drop)
        #expect(try BFV.decrypt(shortReceived, secretKey: key) == indices.map { clientShare[$0] })
        // The drop is public: read with another drop, the bytes do not parse.
        #expect(throws: HEError.self) { try SparseCiphertext(deserializing: short, parameters: parameters, indices: indices) }
        // Dropping is refused above one prime.
        #expect(throws: HEError.self) { try SparseCiphertext(flooded, indices: indices).serialized(dropping: drop) }
    }

    @Test func floodingChangesTheNoiseButNotTheMessage() throws {
        let parameters = try HEParameters.n4096(plaintextBits: 37)
        let prg = seededPRG(11)
        let key = SecretKey(parameters: parameters, prg: prg)
        let publicKey = PublicKey(secretKey: key, prg: prg)
        let m = prg.ringElements(4096, bits: 37)
        let ct = try BFV.encrypt(m, secretKey: key, prg: prg).inverseNTT()
        let before = try BFV.noiseBudget(ct, secretKey: key)
        let flooded = try BFV.rerandomize(ct, publicKey: publicKey, floodingBits: 60, prg: prg)
        let after = try BFV.noiseBudget(flooded, secretKey: key)
        #expect(try BFV.decrypt(flooded, secretKey: key) == m)
        // Flooding of width 2^60 at a 2^71 limit leaves about 11 bits.
        #expect(after < 12 && after > 10)
        #expect(before > 45)
        #expect(flooded.c1.data != ct.c1.data)
    }

    @Test func switchingDownAtN8192KeepsSixtyFourBitProducts() throws {
        let parameters = try HEParameters.n8192(plaintextBits: 64)
        let prg = seededPRG(8192)
        let key = SecretKey(parameters: parameters, prg: prg)
        let m = prg.ringElements(8192, bits: 64)
        let w = sparseSigned(8192, nonzero: 256, magnitude: 1 << 12, prg: prg)
        let product = try BFV.multiply(PlaintextMultiplier(parameters: parameters, signed: w), BFV.encrypt(m, secretKey: key, prg: prg))
        let expected = plainProduct(w, m, bits: 64)
        for limbs in [3, 2] {
            let switched = try BFV.switchModulus(product.inverseNTT(), toLimbs: limbs)
            #expect(try BFV.decrypt(switched, secretKey: key) == expected)
        }
        #expect(throws: HEError.invalidLevel(requested: 0, available: 1...4)) {
            try BFV.switchModulus(product.inverseNTT(), toLimbs: 0)
        }
    }
}

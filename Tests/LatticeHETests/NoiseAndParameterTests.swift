import CryptoPrimitives
@testable import LatticeHE
import Testing

@Suite struct ParameterTests {
    @Test func standardSetsMeetTheTable() throws {
        for (p, maximum) in [(try HEParameters.n2048(plaintextBits: 20), 54), (try HEParameters.n4096(plaintextBits: 37), 109),
                             (try HEParameters.n8192(plaintextBits: 64), 218)] {
            #expect(p.modulusBits <= maximum)
            #expect(p.modulusBits >= maximum - 1)
            #expect(!p.isInsecure)
        }
    }

    @Test func modulusAboveTheTableIsRejected() {
        #expect(throws: HEError.insecureParameters(degree: 4096, modulusBits: 110, maximumBits: 109)) {
            try HEParameters(degree: 4096, plaintextBits: 37, primeBits: [60, 50])
        }
        #expect(throws: HEError.insecureParameters(degree: 2048, modulusBits: 55, maximumBits: 54)) {
            try HEParameters(degree: 2048, plaintextBits: 20, primeBits: [55])
        }
        #expect(throws: HEError.insecureParameters(degree: 8192, modulusBits: 219, maximumBits: 218)) {
            try HEParameters(degree: 8192, plaintextBits: 64, primeBits: [60, 60, 50, 49])
        }
        #expect(throws: HEError.self) { try HEParameters(degree: 256, plaintextBits: 8, primeBits: [20]) }
        #expect(throws: HEError.unsupportedPlaintextBits(bits: 65)) { try HEParameters.n4096(plaintextBits: 65) }
    }

    @Test func insecureParametersAreExplicit() throws {
        let p = try HEParameters.insecure(degree: 4096, plaintextBits: 37, primeBits: [60, 60])
        #expect(p.isInsecure)
        #expect(p.description.contains("INSECURE"))
    }

    @Test func errorMessagesAreActionable() {
        let e = HEError.insecureParameters(degree: 4096, modulusBits: 110, maximumBits: 109)
        #expect(e.description.contains("109") && e.description.contains("insecure"))
        #expect(HEError.noiseBudgetExceeded(stage: "x", noiseBits: 3, limitBits: 2).description.contains("N = 8192"))
    }
}

@Suite struct SerializationTests {
    @Test func seededRoundTripAndSize() throws {
        let parameters = try HEParameters.n4096(plaintextBits: 37)
        let prg = seededPRG(21)
        let key = SecretKey(parameters: parameters, prg: prg)
        let m = prg.ringElements(4096, bits: 37)
        let ct = try BFV.encrypt(m, secretKey: key, prg: prg)
        let bytes = try ct.serializedWithSeed()
        // 16-byte header + 16-byte seed + 4096·(60 + 49) bits of c0: half a full ciphertext.
        #expect(bytes.count == 16 + 16 + 4096 * 109 / 8)
        #expect(bytes.count == HEWire.seededSize(parameters))
        let received = try Ciphertext<Evaluation>(deserializingSeeded: bytes, parameters: parameters)
        #expect(received.c0.data == ct.c0.data && received.c1.data == ct.c1.data)
        #expect(try BFV.decrypt(received, secretKey: key) == m)
        // Wrong parameters, truncation and operated-on ciphertexts are refused.
        let other = try HEParameters.n4096(plaintextBits: 36)
        #expect(throws: HEError.self) { try Ciphertext<Evaluation>(deserializingSeeded: bytes, parameters: other) }
        #expect(throws: HEError.self) { try Ciphertext<Evaluation>(deserializingSeeded: Array(bytes.dropLast()), parameters: parameters) }
        let w = try PlaintextMultiplier(parameters: parameters, signed: [Int64](repeating: 1, count: 4096))
        #expect(throws: HEError.self) { try BFV.multiply(w, ct).serializedWithSeed() }
    }

    @Test func sparseIndexSetIsValidated() throws {
        let parameters = try HEParameters.n2048(plaintextBits: 16)
        let prg = seededPRG(22)
        let key = SecretKey(parameters: parameters, prg: prg)
        let ct = try BFV.encrypt(prg.ringElements(2048, bits: 16), secretKey: key, prg: prg).inverseNTT()
        #expect(throws: HEError.invalidIndexSet(detail: "index 2048 is outside 0..<2048")) { try SparseCiphertext(ct, indices: [0, 2048]) }
        #expect(throws: HEError.invalidIndexSet(detail: "index 5 appears twice")) { try SparseCiphertext(ct, indices: [5, 5]) }
        let bytes = try SparseCiphertext(ct, indices: [7, 1, 2000]).serialized()
        #expect(throws: HEError.self) { try SparseCiphertext(deserializing: bytes, parameters: parameters, indices: [7, 1]) }
    }
}

/// A worst-case workload built on purpose: one multiplier w with |w_i| = magnitude on all N
/// coefficients (random signs), applied `products` times to one ciphertext whose error is ±21
/// aligned with w, so noise coefficient 0 reaches products·‖w‖₁·21 — the bound's error term exactly.
func worstCaseProduct(parameters: HEParameters, magnitude: Int64, products: Int, seed: UInt64) throws
    -> (decrypted: [UInt64], expected: [UInt64], budget: Double, l1: Double) {
    let n = parameters.degree
    let bits = parameters.plaintextBits
    let prg = seededPRG(seed)
    let key = SecretKey(parameters: parameters, prg: prg)
    let signs = prg.words(n).map { $0 & 1 == 0 ? Int64(1) : -1 }
    let w = signs.map { $0 * magnitude }
    // (w·e)_0 = w_0·e_0 − Σ_{i≥1} w_i·e_{N−i}: choose e_0 = 21·sign(w_0), e_{N−i} = −21·sign(w_i).
    var error = [Int64](repeating: 0, count: n)
    error[0] = 21 * signs[0]
    for i in 1..<n { error[n - i] = -21 * signs[i] }
    let m = prg.ringElements(n, bits: bits)
    let ct = try BFV.encrypt(m, secretKey: key, prg: prg, limbs: nil, chosenError: error)
    let multiplier = try PlaintextMultiplier(parameters: parameters, signed: w)
    var accumulator = ProductAccumulator(parameters: parameters)
    for _ in 0..<products { try accumulator.add(multiplier, ct) }
    let result = try accumulator.result()
    let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
    let once = plainProduct(w, m, bits: bits)
    let expected = once.map { ($0 &* UInt64(products)) & mask }
    return (try BFV.decrypt(result, secretKey: key), expected, try BFV.noiseBudget(result, secretKey: key), accumulator.totalL1Norm)
}

@Suite struct NoiseBudgetTests {
    /// Largest layer shape we plan for, explicitly: plaintext coefficients of magnitude 2^15 on all
    /// 4096 coefficients (‖w‖₁ = 2^27) and 1024 accumulated products — Σ‖w‖₁ = 2^37, far beyond any
    /// DenseNet-121 / ResNet-50 layer (a 3×3×512 kernel has 4608 terms). At N = 4096, t = 2^64, no
    /// flooding, the bound predicts a 2.57-bit margin; a ciphertext driven to that noise decrypts.
    @Test func worstCaseOfTheLargestShapeDecrypts() throws {
        let parameters = try HEParameters.n4096(plaintextBits: 64)
        let workload = LinearWorkload(maximumMagnitude: 1 << 15, nonzeroTerms: 4096, accumulatedProducts: 1024,
                                      plaintextAdditions: 0, flooding: false)
        let report = try NoiseBudget.check(parameters, workload)
        #expect(report.margin > 2.5 && report.margin < 2.65)
        let run = try worstCaseProduct(parameters: parameters, magnitude: 1 << 15, products: 1024, seed: 37)
        #expect(run.l1 == workload.totalL1Norm)
        #expect(run.decrypted == run.expected)
        // The measured budget sits right at the predicted margin (the ε term is random, small).
        #expect(run.budget >= report.margin - 0.01)
        #expect(run.budget < report.margin + 0.1)
    }

    /// Just beyond: 8× the ℓ1 norm (|w_i| = 2^18) is refused by the check, and a ciphertext driven
    /// to that noise really decrypts wrongly — the refusal is not over-cautious.
    @Test func justBeyondIsRefusedAndWouldFail() throws {
        let parameters = try HEParameters.n4096(plaintextBits: 64)
        let workload = LinearWorkload(maximumMagnitude: 1 << 18, nonzeroTerms: 4096, accumulatedProducts: 1024,
                                      plaintextAdditions: 0, flooding: false)
        #expect(throws: HEError.self) { try NoiseBudget.check(parameters, workload) }
        let run = try worstCaseProduct(parameters: parameters, magnitude: 1 << 18, products: 1024, seed: 38)
        #expect(run.decrypted[0] != run.expected[0])
        #expect(run.decrypted[1...] == run.expected[1...])
    }

    /// With flooding (κ = 40) and switching to one 60-bit prime, N = 4096 and t = 2^37 carry a
    /// 3×3 convolution over 512 channels at a 12-bit fixed-point scale (Σ‖w‖₁ = 2^12·4608) but not
    /// the same layer at a 15-bit scale; N = 8192, t = 2^64 carries the largest shape with flooding.
    @Test func floodingBudgets() throws {
        let n4096 = try HEParameters.n4096(plaintextBits: 37)
        let conv = LinearWorkload(maximumMagnitude: 1 << 12, nonzeroTerms: 4608, accumulatedProducts: 1, returnLimbs: 1)
        let report = try NoiseBudget.check(n4096, conv)
        #expect(report.floodingBits == 69 && report.margin > 1 && report.switchedMargin > 1)
        let wide = LinearWorkload(maximumMagnitude: 1 << 15, nonzeroTerms: 4608, accumulatedProducts: 1, returnLimbs: 1)
        #expect(throws: HEError.self) { try NoiseBudget.check(n4096, wide) }

        let n8192 = try HEParameters.n8192(plaintextBits: 64)
        let largest = LinearWorkload(maximumMagnitude: 1 << 15, nonzeroTerms: 4096, accumulatedProducts: 1024, returnLimbs: 2)
        let big = try NoiseBudget.check(n8192, largest)
        #expect(big.floodingBits == 82 && big.margin > 60 && big.switchedMargin > 40)
        // One 60-bit prime cannot hold t = 2^64.
        var oneLimb = largest
        oneLimb.returnLimbs = 1
        #expect(throws: HEError.self) { try NoiseBudget.check(n8192, oneLimb) }
    }

    /// The flooded, switched result of a real 12-bit-scale convolution-sized workload decrypts.
    @Test func floodedConvolutionSizedWorkloadDecrypts() throws {
        let parameters = try HEParameters.n4096(plaintextBits: 37)
        let prg = seededPRG(4608)
        let key = SecretKey(parameters: parameters, prg: prg)
        let publicKey = PublicKey(secretKey: key, prg: prg)
        let mask: UInt64 = (1 << 37) - 1
        var accumulator = ProductAccumulator(parameters: parameters)
        var expected = [UInt64](repeating: 0, count: 4096)
        for _ in 0..<9 {  // 9 kernel positions × 512 channels = 4608 terms of magnitude ≤ 2^12
            var w = [Int64](repeating: 0, count: 4096)
            for i in 0..<512 { w[i * 8] = Int64(prg.words(1)[0] % 8193) - 4096 }
            let m = prg.ringElements(4096, bits: 37)
            try accumulator.add(PlaintextMultiplier(parameters: parameters, signed: w), BFV.encrypt(m, secretKey: key, prg: prg))
            expected = zip(expected, plainProduct(w, m, bits: 37)).map { ($0 &+ $1) & mask }
        }
        let report = try NoiseBudget.check(parameters, LinearWorkload(totalL1Norm: accumulator.totalL1Norm, returnLimbs: 1))
        let r = prg.ringElements(4096, bits: 37)
        let masked = try BFV.subtract(accumulator.result().inverseNTT(), plaintext: r)
        let returned = try BFV.switchModulus(BFV.rerandomize(masked, publicKey: publicKey, floodingBits: report.floodingBits, prg: prg), toLimbs: 1)
        let share = try BFV.decrypt(returned, secretKey: key)
        #expect(zip(share, r).map { ($0 &+ $1) & mask } == expected)
        #expect(try BFV.noiseBudget(returned, secretKey: key) >= report.switchedMargin - 0.01)
    }
}

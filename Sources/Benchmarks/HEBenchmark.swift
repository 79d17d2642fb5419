import LatticeHE
import CryptoPrimitives
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Micro-benchmarks of the lattice layer, in per-thread CPU microseconds (robust on a shared
/// machine): forward/inverse NTT at one prime, plaintext × ciphertext product, one accumulated
/// product, encryption and decryption, plus the sizes on the wire.
public enum HEBenchmark {
    public struct Result: Sendable, CustomStringConvertible {
        public var parameters: String
        public var forwardNTTMicroseconds: Double
        public var inverseNTTMicroseconds: Double
        public var plainCipherProductMicroseconds: Double
        public var accumulatedProductMicroseconds: Double
        public var encryptMicroseconds: Double
        public var decryptMicroseconds: Double
        public var seededCiphertextBytes: Int
        public var returnedCiphertextBytes: Int

        public var description: String {
            func f(_ x: Double) -> String { x < 100 ? String(format: "%.1f", x) : String(format: "%.0f", x) }
            return """
            \(parameters)
              forward NTT (N coefficients, one prime)   \(f(forwardNTTMicroseconds)) µs
              inverse NTT (one prime)                   \(f(inverseNTTMicroseconds)) µs
              plaintext × ciphertext (all primes)       \(f(plainCipherProductMicroseconds)) µs
              one accumulated product (lazy, all primes) \(f(accumulatedProductMicroseconds)) µs
              encrypt (secret key, to evaluation form)  \(f(encryptMicroseconds)) µs
              decrypt (from evaluation form)            \(f(decryptMicroseconds)) µs
              fresh ciphertext on the wire (c0, seed)   \(seededCiphertextBytes) bytes
              returned result, 1 prime, N/2 c0 coeffs   \(returnedCiphertextBytes) bytes
            """
        }
    }

    /// CPU time of the calling thread in microseconds.
    public static func threadMicroseconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e6 + Double(ts.tv_nsec) / 1e3
    }

    /// Median of `repetitions` timings of `body`, each averaged over `inner` calls.
    static func measure(repetitions: Int = 15, inner: Int, _ body: () throws -> Void) rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<repetitions {
            let start = threadMicroseconds()
            for _ in 0..<inner { try body() }
            samples.append((threadMicroseconds() - start) / Double(inner))
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    /// Runs all measurements for `parameters` (deterministic inputs from a fixed seed).
    public static func run(_ parameters: HEParameters, repetitions: Int = 15) throws -> Result {
        let prg = AESPRG(seed: Block(low: 0x5eed, high: 0xbe4c))
        let n = parameters.degree
        let table = parameters.context.tables[0]
        var values = Sampling.uniform(context: parameters.context(limbs: 1), prg: prg)
        let forward = values.withUnsafeMutableBufferPointer { p in
            measure(repetitions: repetitions, inner: 200) { table.forward(p.baseAddress!) }
        }
        let inverse = values.withUnsafeMutableBufferPointer { p in
            measure(repetitions: repetitions, inner: 200) { table.inverse(p.baseAddress!) }
        }
        let key = SecretKey(parameters: parameters, prg: prg)
        let t = parameters.plaintextBits
        let message = prg.ringElements(n, bits: t)
        let weights = (0..<n).map { _ in Int64(prg.words(1)[0] % 4096) - 2048 }
        let w = try PlaintextMultiplier(parameters: parameters, signed: weights)
        var ct = try BFV.encrypt(message, secretKey: key, prg: prg)
        let encrypt = try measure(repetitions: repetitions, inner: 20) { ct = try BFV.encrypt(message, secretKey: key, prg: prg) }
        var product = ct
        let multiply = try measure(repetitions: repetitions, inner: 50) { product = try BFV.multiply(w, ct) }
        var accumulator = ProductAccumulator(parameters: parameters)
        let accumulate = try measure(repetitions: repetitions, inner: 100) { try accumulator.add(w, ct) }
        var decrypted: [UInt64] = []
        let decrypt = try measure(repetitions: repetitions, inner: 20) { decrypted = try BFV.decrypt(product, secretKey: key) }
        _ = decrypted
        let coefficientForm = ct.inverseNTT()
        let returned = try SparseCiphertext(BFV.switchModulus(coefficientForm, toLimbs: 1), indices: Array(0..<(n / 2)))
        return Result(parameters: parameters.description, forwardNTTMicroseconds: forward, inverseNTTMicroseconds: inverse,
                      plainCipherProductMicroseconds: multiply, accumulatedProductMicroseconds: accumulate,
                      encryptMicroseconds: encrypt, decryptMicroseconds: decrypt,
                      seededCiphertextBytes: try ct.serializedWithSeed().count,
                      returnedCiphertextBytes: try returned.serialized().count)
    }
}

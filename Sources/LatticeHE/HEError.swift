import Foundation

/// Errors of the lattice homomorphic-encryption module. Messages name what is wrong and what to do;
/// they never contain a key, a message, a weight or a ciphertext coefficient.
public enum HEError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// The ring degree is not a supported power of two.
    case unsupportedDegree(degree: Int)
    /// A requested prime size is outside what the arithmetic supports.
    case unsupportedPrimeBits(bits: Int, supported: ClosedRange<Int>)
    /// Not enough NTT-friendly primes of the requested size exist below 2^bits.
    case notEnoughPrimes(bits: Int, degree: Int, requested: Int)
    /// The plaintext modulus 2^ℓ has an unsupported ℓ.
    case unsupportedPlaintextBits(bits: Int)
    /// The ciphertext modulus is larger than the Homomorphic Encryption Standard allows for 128-bit
    /// security at this degree.
    case insecureParameters(degree: Int, modulusBits: Int, maximumBits: Int)
    /// The noise of the declared workload could exceed what decryption tolerates.
    case noiseBudgetExceeded(stage: String, noiseBits: Double, limitBits: Double)
    /// Two operands belong to different parameter sets, degrees or RNS levels.
    case mismatchedParameters(detail: String)
    /// A message or plaintext has the wrong number of coefficients.
    case wrongLength(expected: Int, actual: Int)
    /// A value is not in Z_t.
    case valueOutOfRange(index: Int, bits: Int)
    /// Modulus switching cannot go to the requested level.
    case invalidLevel(requested: Int, available: ClosedRange<Int>)
    /// A coefficient index of a sparse serialisation is outside 0..<N or repeated.
    case invalidIndexSet(detail: String)
    /// Serialised bytes do not describe a ciphertext for these parameters.
    case malformedSerialization(detail: String)
    /// The lazy accumulator was used after `finish()` or with no products.
    case accumulatorMisuse(detail: String)

    public var description: String {
        switch self {
        case let .unsupportedDegree(degree):
            "ring degree N = \(degree) is not supported: use a power of two from 1024 to 32768 (2^10…2^15)"
        case let .unsupportedPrimeBits(bits, supported):
            "prime size of \(bits) bits is not supported: use \(supported.lowerBound)…\(supported.upperBound) bits (lazy NTT butterflies need 4q < 2^64)"
        case let .notEnoughPrimes(bits, degree, requested):
            "could not find \(requested) primes q ≡ 1 mod \(2 * degree) of \(bits) bits: use fewer primes of that size or another size"
        case let .unsupportedPlaintextBits(bits):
            "plaintext modulus 2^\(bits) is not supported: ℓ must be in 1…64"
        case let .insecureParameters(degree, modulusBits, maximumBits):
            "a \(modulusBits)-bit ciphertext modulus at N = \(degree) is below 128-bit security (the Homomorphic Encryption Standard allows at most \(maximumBits) bits): use fewer or smaller primes, or a larger N; test-only parameters must use the `insecure` constructor"
        case let .noiseBudgetExceeded(stage, noiseBits, limitBits):
            "noise could reach 2^\(String(format: "%.2f", noiseBits)) \(stage), but decryption needs it below 2^\(String(format: "%.2f", limitBits)): lower the plaintext ℓ1 norm or the number of accumulated products, shrink ℓ, or use larger parameters (N = 8192)"
        case let .mismatchedParameters(detail):
            "operands do not belong together: \(detail)"
        case let .wrongLength(expected, actual):
            "expected \(expected) coefficients, got \(actual)"
        case let .valueOutOfRange(index, bits):
            "coefficient \(index) is not in Z_2^\(bits): reduce it mod 2^\(bits) first"
        case let .invalidLevel(requested, available):
            "cannot switch to \(requested) RNS limbs: choose a level in \(available.lowerBound)…\(available.upperBound) below the ciphertext's current level"
        case let .invalidIndexSet(detail):
            "invalid coefficient index set: \(detail)"
        case let .malformedSerialization(detail):
            "malformed serialised ciphertext: \(detail)"
        case let .accumulatorMisuse(detail):
            "accumulator misuse: \(detail)"
        }
    }

    public var errorDescription: String? { description }
}

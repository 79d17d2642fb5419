import CryptoPrimitives

/// Where one party draws its protocol secrets (base-OT scalars, the IKNP Δ, the KK13 secret s):
/// the operating system's CSPRNG (`SecureRandom`, OpenSSL `RAND_bytes`) in production, or a
/// seeded `AESPRG` that tests inject to make runs reproducible. Never `random()` or
/// `SystemRandomNumberGenerator`.
package final class SecretRandomness {
    private let prg: AESPRG?

    /// The OS CSPRNG.
    package static func system() -> SecretRandomness { SecretRandomness(prg: nil) }

    /// A deterministic stream for tests.
    /// - Warning: insecure unless `prg` was seeded with a secret, unpredictable seed.
    static func insecureSeeded(_ prg: AESPRG) -> SecretRandomness { SecretRandomness(prg: prg) }

    private init(prg: AESPRG?) { self.prg = prg }

    func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        if let prg { prg.fill(buffer) } else { SecureRandom.fill(buffer) }
    }

    func block() -> Block {
        var b = Block.zero
        withUnsafeMutableBytes(of: &b) { fill($0) }
        return b
    }

    func words(_ count: Int) -> [UInt64] {
        var w = [UInt64](repeating: 0, count: count)
        w.withUnsafeMutableBytes { fill($0) }
        return w
    }
}

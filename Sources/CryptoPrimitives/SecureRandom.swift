import COpenSSL

/// Randomness from the operating system's CSPRNG through OpenSSL `RAND_bytes`. Use it for every
/// seed and key a party must not be able to predict.
public enum SecureRandom {
    /// Fills the buffer with cryptographically secure random bytes.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        var offset = 0
        while offset < buffer.count {
            let chunk = min(buffer.count - offset, Int(Int32.max))
            // RAND_bytes fails only when the OS entropy source is unavailable: nothing secure can
            // continue then, so this is a fatal condition rather than a recoverable error.
            guard RAND_bytes(base.advanced(by: offset).assumingMemoryBound(to: UInt8.self), Int32(chunk)) == 1 else {
                fatalError("RAND_bytes failed: the operating system's random source is unavailable")
            }
            offset += chunk
        }
    }

    /// A fresh random 128-bit block (a seed or key).
    public static func block() -> Block {
        var block = Block.zero
        withUnsafeMutableBytes(of: &block) { fill($0) }
        return block
    }

    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { fill($0) }
        return result
    }
}

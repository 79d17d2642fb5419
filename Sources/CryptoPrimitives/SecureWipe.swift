import COpenSSL

/// Wipes secrets from memory with `OPENSSL_cleanse`, which the optimiser cannot remove (a loop
/// or `update(repeating: 0)` on memory that is freed right after is a dead store it may drop).
///
/// Contract: after a call, the given bytes are zero. Used in the `deinit` of every type holding a
/// secret (OT keys and Δ, HE secret keys, PRG seeds) and wherever a secret temporary goes out of
/// scope.
public enum SecureWipe {
    /// Zeroes `count` values at `pointer`.
    @inlinable
    public static func wipe<T>(_ pointer: UnsafeMutablePointer<T>, count: Int) {
        guard count > 0 else { return }
        OPENSSL_cleanse(UnsafeMutableRawPointer(pointer), count * MemoryLayout<T>.stride)
    }

    /// Zeroes every element of `buffer`.
    @inlinable
    public static func wipe<T>(_ buffer: UnsafeMutableBufferPointer<T>) {
        guard let base = buffer.baseAddress else { return }
        wipe(base, count: buffer.count)
    }

    /// Zeroes every element of `array` (in place; the array keeps its count).
    @inlinable
    public static func wipe<T: BitwiseCopyable>(_ array: inout [T]) {
        array.withUnsafeMutableBufferPointer { wipe($0) }
    }

    /// Zeroes a plain value (a key, a seed, Δ).
    @inlinable
    public static func wipe<T: BitwiseCopyable>(_ value: inout T) {
        withUnsafeMutableBytes(of: &value) { raw in
            if let base = raw.baseAddress { OPENSSL_cleanse(base, raw.count) }
        }
    }
}

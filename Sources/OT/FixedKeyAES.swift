import COpenSSL
import CryptoPrimitives

/// AES-128 under a fixed, public key: a public permutation π, modelled as a random permutation.
/// The GGM trees of Ferret (`GGMTree`) use two of them, under different keys, as the halves of a
/// length-doubling PRG.
///
/// Batched: one EVP call per `encrypt` (FIELD-NOTES: 16-byte calls run at 0.8 GB/s, calls of
/// 256 bytes or more at 5–7 GB/s), so callers hand it whole tree levels. Not thread-safe.
final class FixedKeyAES {
    private let context: OpaquePointer

    /// `key`: 16 public bytes naming the permutation.
    init(key: [UInt8]) throws {
        precondition(key.count == 16)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw OTError.openSSL(operation: "EVP_CIPHER_CTX_new") }
        guard EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nil, key, nil) == 1,
              EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 else {
            EVP_CIPHER_CTX_free(ctx)
            throw OTError.openSSL(operation: "EVP_EncryptInit_ex(AES-128-ECB)")
        }
        context = ctx
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// output[i] = π(input[i]) for i < count (in place allowed).
    @inline(__always)
    func encrypt(_ input: UnsafePointer<Block>, _ output: UnsafeMutablePointer<Block>, count: Int) {
        var done = 0
        while done < count {
            let n = min(count - done, 1 << 24)
            var written: Int32 = 0
            let ok = EVP_EncryptUpdate(context, UnsafeMutableRawPointer(output + done).assumingMemoryBound(to: UInt8.self), &written,
                                       UnsafeRawPointer(input + done).assumingMemoryBound(to: UInt8.self), Int32(n * 16))
            // ECB without padding on whole blocks cannot fail short; a failure means a broken library.
            precondition(ok == 1 && Int(written) == n * 16, "EVP_EncryptUpdate(AES-128-ECB) failed")
            done += n
        }
    }
}

import COpenSSL
import CryptoPrimitives
#if canImport(Glibc)
import Glibc
#endif

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

/// Overwrites `count` blocks with zeros in a way the optimiser keeps (`OPENSSL_cleanse`).
@inline(__always)
func cleanse(_ buffer: UnsafeMutablePointer<Block>, count: Int) {
    OPENSSL_cleanse(UnsafeMutableRawPointer(buffer), count * MemoryLayout<Block>.stride)
}

/// A large block buffer for Ferret's iteration state, zeroed at allocation (so its page faults
/// happen at set-up, not in the first iteration) and cleansed at release. It is allocated on
/// 2 MiB boundaries and, on Linux, advised for transparent huge pages (`madvise(MADV_HUGEPAGE)`),
/// since the LPN encoder reads the 9.4 MB secret u at random; measured side by side on this
/// machine, with the encoder's prefetching the advice makes no difference beyond noise (±10%),
/// so it stays as a hint only.
final class BlockBuffer {
    let pointer: UnsafeMutablePointer<Block>
    let count: Int

    init(count: Int) {
        let alignment = 2 << 20
        let bytes = max(count, 1) * MemoryLayout<Block>.stride
        let rounded = (bytes + alignment - 1) / alignment * alignment
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, alignment, rounded) == 0, let raw else {
            fatalError("out of memory: \(rounded) bytes for a Ferret buffer")
        }
        #if os(Linux)
        _ = madvise(raw, rounded, MADV_HUGEPAGE)     // advice only: without huge pages it still works
        #endif
        memset(raw, 0, rounded)
        pointer = raw.bindMemory(to: Block.self, capacity: count)
        self.count = count
    }

    deinit {
        cleanse(pointer, count: count)
        free(UnsafeMutableRawPointer(pointer))
    }
}

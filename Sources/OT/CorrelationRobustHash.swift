import COpenSSL
import CryptoPrimitives

/// The hash that turns IKNP / KK13 extension rows into OT messages: a tweakable circular
/// correlation-robust hash built from one fixed-key AES permutation π (AES-128 under a public
/// key, modelled as a random permutation; Guo–Kolesnikov–Katz–Wang–Yang, S&P 2020):
///
///     H(x, τ) = π(π(x) ⊕ τ) ⊕ π(x)                   (128-bit inputs, IKNP)
///     H((a, b), τ) = H(a ⊕ π(b) ⊕ b, τ)               (256-bit inputs, KK13 rows)
///
/// The tweak τ is unique per hashed value across the session (a counter plus a tag naming the
/// kind of extension and its direction), so outputs of different instances are independent even
/// when their inputs collide. The simpler π(x ⊕ τ) ⊕ x ⊕ τ maps (x, τ) and (x ⊕ τ ⊕ τ', τ') to the
/// same value and is not tweakable-CR; this form costs one more AES per value, which is cheap here.
/// For 256-bit rows both halves go through π before the output is fixed, so the receiver has to
/// guess every secret bit in the difference (weight 128 for the Walsh–Hadamard code) at once.
///
/// Everything is batched: one EVP call encrypts a whole batch of blocks (FIELD-NOTES: 16-byte calls
/// run at 0.8 GB/s, ≥ 256-byte calls at 5–7 GB/s). Not thread-safe: one hasher per party.
final class CorrelationRobustHash {
    /// Blocks per EVP call (8 KiB: well above the 256 bytes an EVP call needs to run at full
    /// speed, and the scratch buffers of a batch stay in L1).
    static let batch = 512

    private let context: OpaquePointer
    private let y: UnsafeMutablePointer<Block>
    private let z: UnsafeMutablePointer<Block>

    init() throws {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw OTError.openSSL(operation: "EVP_CIPHER_CTX_new") }
        // A public, fixed key ("SecureValidation" in ASCII): π is a public permutation.
        let key: [UInt8] = Array("SecureValidation".utf8)
        guard EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nil, key, nil) == 1,
              EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 else {
            EVP_CIPHER_CTX_free(ctx)
            throw OTError.openSSL(operation: "EVP_EncryptInit_ex(AES-128-ECB)")
        }
        context = ctx
        y = .allocate(capacity: Self.batch)
        z = .allocate(capacity: Self.batch)
    }

    deinit {
        SecureWipe.wipe(y, count: Self.batch)
        SecureWipe.wipe(z, count: Self.batch)
        y.deallocate()
        z.deallocate()
        EVP_CIPHER_CTX_free(context)
    }

    /// out[i] = π(input[i]) for `count` ≤ `batch` blocks (in place allowed).
    @inline(__always)
    private func permute(_ input: UnsafePointer<Block>, _ output: UnsafeMutablePointer<Block>, _ count: Int) {
        var written: Int32 = 0
        let ok = EVP_EncryptUpdate(context, UnsafeMutableRawPointer(output).assumingMemoryBound(to: UInt8.self), &written,
                                   UnsafeRawPointer(input).assumingMemoryBound(to: UInt8.self), Int32(count * 16))
        // ECB without padding on whole blocks cannot fail short; a failure means a broken library.
        precondition(ok == 1 && Int(written) == count * 16, "EVP_EncryptUpdate(AES-128-ECB) failed")
    }

    /// out[i] = H(input[i], (tweakBase + i, tag)) for i < count. `out` may alias `input`.
    func hash(_ input: UnsafePointer<Block>, count: Int, tweakBase: UInt64, tag: UInt64, into out: UnsafeMutablePointer<Block>) {
        var done = 0
        while done < count {
            let n = min(Self.batch, count - done)
            permute(input + done, y, n)
            let base = tweakBase &+ UInt64(done)
            for i in 0..<n { z[i] = Block(low: y[i].low ^ (base &+ UInt64(i)), high: y[i].high ^ tag) }
            permute(z, z, n)
            let o = out + done
            for i in 0..<n { o[i] = z[i] ^ y[i] }
            done += n
        }
    }

    /// out[i] = H(input[i] ⊕ offset, (tweakBase + i, tag)): the IKNP sender's second message,
    /// H(q ⊕ Δ), without materialising q ⊕ Δ.
    func hash(_ input: UnsafePointer<Block>, xoring offset: Block, count: Int, tweakBase: UInt64, tag: UInt64,
              into out: UnsafeMutablePointer<Block>) {
        var done = 0
        while done < count {
            let n = min(Self.batch, count - done)
            for i in 0..<n { z[i] = input[done + i] ^ offset }
            permute(z, y, n)
            let base = tweakBase &+ UInt64(done)
            for i in 0..<n { z[i] = Block(low: y[i].low ^ (base &+ UInt64(i)), high: y[i].high ^ tag) }
            permute(z, z, n)
            let o = out + done
            for i in 0..<n { o[i] = z[i] ^ y[i] }
            done += n
        }
    }

    /// out[i] = H(input[i], (tweaks[i], tag)) for i < count, with the tweaks given one by one
    /// (the silent 1-of-N receiver's tweaks are not consecutive). `out` may alias `input`.
    func hash(_ input: UnsafePointer<Block>, tweaks: UnsafePointer<UInt64>, tag: UInt64, count: Int,
              into out: UnsafeMutablePointer<Block>) {
        var done = 0
        while done < count {
            let n = min(Self.batch, count - done)
            permute(input + done, y, n)
            let tw = tweaks + done
            for i in 0..<n { z[i] = Block(low: y[i].low ^ tw[i], high: y[i].high ^ tag) }
            permute(z, z, n)
            let o = out + done
            for i in 0..<n { o[i] = z[i] ^ y[i] }
            done += n
        }
    }

    /// out[k] = low 64 bits of H((a[k], b[k]), (tweaks[k], tag)) for `count` 256-bit values given
    /// as halves; `a` is overwritten (scratch). The KK13 hash.
    func hashWide(a: UnsafeMutablePointer<Block>, b: UnsafePointer<Block>, tweaks: UnsafePointer<UInt64>, tag: UInt64,
                  count: Int, into out: UnsafeMutablePointer<UInt64>) {
        var done = 0
        while done < count {
            let n = min(Self.batch, count - done)
            let aa = a + done, bb = b + done, tw = tweaks + done
            permute(bb, y, n)
            for i in 0..<n { aa[i] = aa[i] ^ y[i] ^ bb[i] }          // compress: a ⊕ π(b) ⊕ b
            permute(aa, y, n)
            for i in 0..<n { z[i] = Block(low: y[i].low ^ tw[i], high: y[i].high ^ tag) }
            permute(z, z, n)
            let o = out + done
            for i in 0..<n { o[i] = z[i].low ^ y[i].low }
            done += n
        }
    }

    /// The KK13 sender's masks, with the hash inputs formed on the fly: for i < instances and
    /// j < n, out[i·n + j] = low 64 bits of H((qa[i] ⊕ offsets[2j], qb[i] ⊕ offsets[2j + 1]),
    /// (tweakBase + i·n + j, tag)) — exactly `hashWide` of those inputs with consecutive tweaks,
    /// without materialising the inputs and tweaks (instances · n ≤ `batch`).
    func hashWide(qa: UnsafePointer<Block>, qb: UnsafePointer<Block>, instances: Int, offsets: UnsafePointer<Block>, n: Int,
                  tweakBase: UInt64, tag: UInt64, into out: UnsafeMutablePointer<UInt64>) {
        let count = instances * n
        precondition(count <= Self.batch)
        let z = self.z, y = self.y
        var k = 0
        for i in 0..<instances {                                  // b_k = qb[i] ⊕ offsets[2j + 1]
            let b = qb[i]
            for j in 0..<n { z[k &+ j] = b ^ offsets[2 &* j &+ 1] }
            k &+= n
        }
        permute(z, y, count)                                       // π(b_k)
        k = 0
        for i in 0..<instances {                                   // compress: a_k ⊕ π(b_k) ⊕ b_k
            let a = qa[i]
            for j in 0..<n { z[k &+ j] = a ^ offsets[2 &* j] ^ y[k &+ j] ^ z[k &+ j] }
            k &+= n
        }
        permute(z, y, count)                                       // π(x)
        for k in 0..<count { z[k] = Block(low: y[k].low ^ (tweakBase &+ UInt64(k)), high: y[k].high ^ tag) }
        permute(z, z, count)
        for k in 0..<count { out[k] = z[k].low ^ y[k].low }
    }
}


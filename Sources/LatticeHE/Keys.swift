import CryptoPrimitives

/// The client's secret key s: a uniform ternary polynomial, kept also in evaluation form for all
/// primes of the chain. Zeroised on deinit. Never leaves the party that generated it.
public final class SecretKey: @unchecked Sendable {
    public let parameters: HEParameters
    /// Ternary coefficients in {−1, 0, 1}.
    private(set) var ternary: [Int8]
    /// s in evaluation form for every prime (limb-major); a level's key is a prefix.
    private(set) var evaluation: [UInt64]
    /// Shoup constants of `evaluation` (s is a fixed multiplier: products with s cost one
    /// high and two low multiplies).
    private var evaluationShoup: [UInt64]

    /// Samples a fresh key from `prg` (use an OS-seeded `AESPRG()` outside tests).
    public init(parameters: HEParameters, prg: AESPRG) {
        self.parameters = parameters
        ternary = Sampling.ternary(degree: parameters.degree, prg: prg)
        var small = ternary.map { Int64($0) }
        var lifted = Sampling.lift(small, context: parameters.context)
        let evaluation = lifted.forwardNTT().data
        // Best-effort scrubbing of the temporaries that held s.
        small.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = 0 } }
        lifted.data.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = 0 } }
        self.evaluation = evaluation
        var shoup = [UInt64](repeating: 0, count: evaluation.count)
        for (j, m) in parameters.context.moduli.enumerated() {
            for i in 0..<parameters.degree { shoup[j * parameters.degree + i] = m.shoup(evaluation[j * parameters.degree + i]) }
        }
        evaluationShoup = shoup
    }

    /// p ⊙= s at p's level (evaluation form).
    func multiply(_ p: inout Polynomial<Evaluation>) {
        let n = parameters.degree
        let moduli = p.context.moduli
        p.data.withUnsafeMutableBufferPointer { out in
            evaluation.withUnsafeBufferPointer { sv in
                evaluationShoup.withUnsafeBufferPointer { ss in
                    for j in 0..<moduli.count {
                        let m = moduli[j]
                        let o = out.baseAddress! + j * n, a = sv.baseAddress! + j * n, b = ss.baseAddress! + j * n
                        for i in 0..<n { o[i] = m.multiplyShoup(o[i], a[i], b[i]) }
                    }
                }
            }
        }
    }

    deinit {
        SecureWipe.wipe(&ternary)
        SecureWipe.wipe(&evaluation)
        SecureWipe.wipe(&evaluationShoup)
    }
}

/// A public key pk = (b, a) with b = −a·s + e, a expanded from `seed`: the vendor uses it only to
/// re-randomise the ciphertexts it returns (circuit privacy), never to encrypt client data.
/// Sent once per session as (b, seed).
public struct PublicKey: Sendable {
    public let parameters: HEParameters
    public let seed: Block
    /// b in evaluation form (all primes).
    let b: Polynomial<Evaluation>
    /// a in evaluation form, recomputed from `seed`.
    let a: Polynomial<Evaluation>

    /// Generates pk from the secret key; `prg` supplies the seed and the error.
    public init(secretKey: SecretKey, prg: AESPRG) {
        let parameters = secretKey.parameters
        let context = parameters.context
        let seed = prg.block()
        let a = Polynomial<Evaluation>(uncheckedContext: context, data: Sampling.uniform(context: context, prg: AESPRG(seed: seed)))
        var b = Sampling.lift(Sampling.binomialError(degree: parameters.degree, prg: prg), context: context).forwardNTT()
        var as_ = a
        secretKey.multiply(&as_)
        try! b.subtract(as_)
        self.init(parameters: parameters, seed: seed, b: b, a: a)
    }

    init(parameters: HEParameters, seed: Block, b: Polynomial<Evaluation>, a: Polynomial<Evaluation>) {
        self.parameters = parameters
        self.seed = seed
        self.b = b
        self.a = a
    }

    /// Rebuilds a received key from b (evaluation form, all primes) and the seed of a.
    public init(parameters: HEParameters, seed: Block, b: Polynomial<Evaluation>) throws(HEError) {
        guard b.context.isCompatible(with: parameters.context) else {
            throw .mismatchedParameters(detail: "public key b is not over the full modulus of \(parameters)")
        }
        let a = Polynomial<Evaluation>(uncheckedContext: parameters.context,
                                       data: Sampling.uniform(context: parameters.context, prg: AESPRG(seed: seed)))
        self.init(parameters: parameters, seed: seed, b: b, a: a)
    }
}

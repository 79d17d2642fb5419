import CryptoPrimitives
import LatticeHE
import Transport

// MARK: - Sessions (keys, set up once)

/// The hospital's (client's) side of an HE linear-layer session: it owns the secret keys (one per
/// parameter set the plans use) and sends the matching public keys once, in `init`.
///
/// Holds: its activation shares and the secret keys. Learns: its shares of every layer output,
/// which are uniformly masked by the vendor (nothing about the weights beyond W·x).
public final class LinearHEClientSession: Sendable {
    let keys: [UInt64: SecretKey]

    /// Generates a key per distinct parameter set of `plans` and sends the public keys (one message).
    public init(plans: [LinearLayerPlan], channel: Channel, prg: AESPRG = AESPRG()) throws(LinearHEError) {
        let parameterSets = LinearHEClientSession.distinctParameters(plans)
        var keys: [UInt64: SecretKey] = [:]
        var message = LinearWire.header(.publicKeys, count: parameterSets.count)
        for parameters in parameterSets {
            let key = SecretKey(parameters: parameters, prg: prg)
            keys[parameters.fingerprint] = key
            // An encryption of zero under s is an RLWE public key (b = −a·s + e, a from the seed).
            let zero = [UInt64](repeating: 0, count: parameters.degree)
            let pk = try lattice { () throws(HEError) in try BFV.encrypt(zero, secretKey: key, prg: prg).serializedWithSeed() }
            message += pk
        }
        self.keys = keys
        try LinearWire.send(message, on: channel)
    }

    static func distinctParameters(_ plans: [LinearLayerPlan]) -> [HEParameters] {
        var seen = Set<UInt64>()
        var out: [HEParameters] = []
        for p in plans.sorted(by: { $0.parameters.degree < $1.parameters.degree }) where seen.insert(p.parameters.fingerprint).inserted {
            out.append(p.parameters)
        }
        return out
    }

    func key(for plan: LinearLayerPlan) throws(LinearHEError) -> SecretKey {
        guard let key = keys[plan.parameters.fingerprint] else {
            throw .sessionMisuse(detail: "the session was set up without the parameters \(plan.parameters) of \(plan.shape)")
        }
        return key
    }
}

/// The vendor's (server's) side of a session: the client's public keys, received once.
///
/// Holds: the weights (in the layer servers) and the public keys. Learns: nothing about the
/// client's shares (every ciphertext it receives is a fresh RLWE encryption).
public final class LinearHEServerSession: Sendable {
    let publicKeys: [UInt64: PublicKey]

    /// Receives the public keys for the parameter sets of `plans` (the same plans as the client's).
    public init(plans: [LinearLayerPlan], channel: Channel) throws(LinearHEError) {
        let parameterSets = LinearHEClientSession.distinctParameters(plans)
        let sizes = parameterSets.map { HEWire.seededSize($0) }
        let bytes = try LinearWire.receive(on: channel, limit: LinearWire.headerBytes + sizes.reduce(0, +))
        try LinearWire.readHeader(bytes, expected: .publicKeys, count: parameterSets.count)
        let pieces = try LinearWire.split(bytes, sizes: sizes)
        var keys: [UInt64: PublicKey] = [:]
        for (parameters, piece) in zip(parameterSets, pieces) {
            keys[parameters.fingerprint] = try lattice { () throws(HEError) in
                let ct = try Ciphertext<Evaluation>(deserializingSeeded: piece, parameters: parameters)
                return try PublicKey(parameters: parameters, seed: ct.c1Seed!, b: ct.c0)
            }
        }
        publicKeys = keys
    }

    func key(for plan: LinearLayerPlan) throws(LinearHEError) -> PublicKey {
        guard let key = publicKeys[plan.parameters.fingerprint] else {
            throw .sessionMisuse(detail: "no public key for the parameters \(plan.parameters) of \(plan.shape)")
        }
        return key
    }
}

// MARK: - One layer

/// The hospital's side of one linear layer: y = W·x for x = x_vendor + x_hospital (mod 2^ℓ).
///
/// Steps (one round trip):
/// 1. encode its share into the plan's input polynomials and encrypt each under its secret key;
///    send them in one query (seeded: c0 and a 16-byte seed per ciphertext);
/// 2. receive the vendor's responses (one per spatial tile) and decrypt the needed coefficients:
///    its output share W·x_hospital − r, where r is the vendor's uniform mask.
public struct LinearLayerClient: Sendable {
    public let plan: LinearLayerPlan

    public init(plan: LinearLayerPlan) { self.plan = plan }

    /// Runs the layer; `share` is [B, …] in the layer's input layout, values in [0, 2^ℓ).
    /// Returns the hospital's share of the output, [B, …] in the output layout.
    public func run(share: [UInt64], session: LinearHEClientSession, channel: Channel,
                    prg: AESPRG = AESPRG()) throws(LinearHEError) -> [UInt64] {
        let plan = self.plan
        guard share.count == plan.inputCount else {
            throw .wrongLength(what: "hospital share of \(plan.shape)", expected: plan.inputCount, actual: share.count)
        }
        let bits = plan.plaintextBits
        if bits < 64 {
            for (i, v) in share.enumerated() where v >> UInt64(bits) != 0 { throw .shareOutOfRange(index: i, bits: bits) }
        }
        let key = try session.key(for: plan)
        let n = plan.parameters.degree
        var query = LinearWire.header(.query, count: plan.inputCiphertextCount)
        query.reserveCapacity(LinearWire.headerBytes + plan.queryBytes)
        var message = [UInt64](repeating: 0, count: n)
        try share.withUnsafeBufferPointer { (x) throws(LinearHEError) in
            for s in plan.spatialTiles.indices {
                for k in 0..<plan.channelTileCount {
                    CoefficientEncoding.inputMessage(plan: plan, share: x, spatialTile: s, channelTile: k, into: &message)
                    query += try lattice { () throws(HEError) in
                        try BFV.encrypt(message, secretKey: key, prg: prg).serializedWithSeed()
                    }
                }
            }
        }
        try LinearWire.send(query, on: channel)

        var output = [UInt64](repeating: 0, count: plan.outputCount)
        var next = 0
        for s in plan.spatialTiles.indices {
            var blocks: [LinearLayerPlan.OutputBlock] = []
            while next < plan.outputs.count, plan.outputs[next].spatialTile == s {
                blocks.append(plan.outputs[next])
                next += 1
            }
            let sizes = blocks.map { HEWire.sparseSize(plan.parameters, limbs: plan.returnLimbs, indexCount: $0.indices.count) }
            let bytes = try LinearWire.receive(on: channel, limit: LinearWire.headerBytes + sizes.reduce(0, +))
            try LinearWire.readHeader(bytes, expected: .response, count: blocks.count)
            let pieces = try LinearWire.split(bytes, sizes: sizes)
            for (block, piece) in zip(blocks, pieces) {
                let values = try lattice { () throws(HEError) in
                    let sparse = try SparseCiphertext(deserializing: piece, parameters: plan.parameters, indices: block.indices)
                    return try BFV.decrypt(sparse, secretKey: key)
                }
                for (value, position) in zip(values, block.positions) { output[position] = value }
            }
        }
        return output
    }
}

/// The vendor's side of one linear layer. `init` is the per-model preparation: the kernel
/// polynomials go to NTT form once and are reused for every call (every image batch).
///
/// Steps per call:
/// 1. compute W·x_vendor locally (ring GEMM) while the hospital encrypts;
/// 2. receive the query; for each spatial tile and output group, accumulate Σ_k ŵ_{g,k}·ct_{s,k}
///    in the NTT domain (lazy 128-bit sums), inverse-transform once;
/// 3. subtract a fresh uniform mask r ∈ Z_2^ℓ at the needed coefficients (its own share gets + r);
/// 4. re-randomise with the hospital's public key and add flooding noise (circuit privacy, below);
/// 5. switch modulus down, keep c0 only at the needed coefficients, send per spatial tile.
///
/// Circuit privacy (semi-honest hospital holding s): a returned ciphertext is
/// (c0, c1) = Σ ŵ·ct − Δ̃·r + Enc_pk(0) + (e_flood, 0). Its c1 = Σ ŵ·a + u·a_pk + e1 is
/// pseudorandom by RLWE (secret u). Its phase c0 + c1·s = (q/t)·(W·x_h − r) + E + e_flood with
/// E = Σ ŵ·(e + ε) + u·e_pk + e1·s + e0 + (mask rounding), where only Σ ŵ·(e + ε) depends on W and
/// |Σ ŵ·(e + ε)| ≤ B_prod = Σ‖ŵ‖₁·21.5 + 1/2 (the plan's worst case over all weights with
/// |w| ≤ 2^weightBits). e_flood is uniform on [−2^b, 2^b) with b = ⌈log2 B_prod⌉ + κ (κ = 40), so
/// for any two weight sets the phases differ in distribution by at most B_prod/2^b ≤ 2^−κ per
/// coefficient; the returned coefficients (c0 at the needed indices, c1 in full) are a function of
/// that phase, fresh pseudorandom values and public data, after a deterministic modulus switch
/// (post-processing). The decrypted values W·x_h − r are uniform (r uniform in Z_2^ℓ and fresh),
/// so the hospital's view is simulatable from its own output share. The κ bound is per
/// coefficient; over the m coefficients a layer returns, the distance is at most m·2^−κ.
public final class LinearLayerServer: Sendable {
    public let plan: LinearLayerPlan
    /// Kernel polynomials, [group][channel tile] (diagonal: [tile]).
    private let kernels: [[PlaintextMultiplier]]
    private let local: PlaintextLinear
    /// Seconds spent in `init` (kernel NTTs and GEMM packing).
    public let preparationSeconds: Double

    /// Prepares the weights ([Cout, Cin, kh, kw] / [N, K] / [C], signed integers at the fixed-point
    /// scale). Throws if a weight exceeds the plan's public bound 2^weightBits.
    public init(plan: LinearLayerPlan, weights: [Int64]) throws(LinearHEError) {
        let start = HEBenchmark.threadMicroseconds()
        guard weights.count == plan.shape.weightCount else {
            throw .wrongLength(what: "weights of \(plan.shape)", expected: plan.shape.weightCount, actual: weights.count)
        }
        let bound = UInt64(1) << UInt64(plan.weightBits)
        for (i, w) in weights.enumerated() where w.magnitude > bound { throw .weightOutOfBound(index: i, weightBits: plan.weightBits) }
        self.plan = plan
        var kernels: [[PlaintextMultiplier]] = []
        if plan.isDiagonal {
            var row: [PlaintextMultiplier] = []
            for k in 0..<plan.channelTileCount {
                let signed = CoefficientEncoding.kernel(plan: plan, weights: weights, group: k, channelTile: k)
                row.append(try lattice { () throws(HEError) in try PlaintextMultiplier(parameters: plan.parameters, signed: signed) })
            }
            kernels = [row]
        } else {
            for g in 0..<plan.groupCount {
                var row: [PlaintextMultiplier] = []
                for k in 0..<plan.channelTileCount {
                    let signed = CoefficientEncoding.kernel(plan: plan, weights: weights, group: g, channelTile: k)
                    row.append(try lattice { () throws(HEError) in try PlaintextMultiplier(parameters: plan.parameters, signed: signed) })
                }
                kernels.append(row)
            }
        }
        self.kernels = kernels
        local = try PlaintextLinear(shape: plan.shape, weights: weights, plaintextBits: plan.plaintextBits)
        preparationSeconds = (HEBenchmark.threadMicroseconds() - start) / 1e6
    }

    /// Runs the layer; `share` is the vendor's input share [B, …]. Returns the vendor's output
    /// share W·x_vendor + r.
    public func run(share: [UInt64], session: LinearHEServerSession, channel: Channel,
                    prg: AESPRG = AESPRG()) throws(LinearHEError) -> [UInt64] {
        let plan = self.plan
        guard share.count == plan.inputCount else {
            throw .wrongLength(what: "vendor share of \(plan.shape)", expected: plan.inputCount, actual: share.count)
        }
        let publicKey = try session.key(for: plan)
        let parameters = plan.parameters
        let n = parameters.degree
        let bits = plan.plaintextBits
        let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) &- 1
        var output = try local.apply(share, batch: plan.batch)

        let seeded = HEWire.seededSize(parameters)
        let query = try LinearWire.receive(on: channel, limit: LinearWire.headerBytes + plan.inputCiphertextCount * seeded)
        try LinearWire.readHeader(query, expected: .query, count: plan.inputCiphertextCount)
        guard query.count == LinearWire.headerBytes + plan.inputCiphertextCount * seeded else {
            throw .malformedMessage(detail: "query of \(query.count) bytes, expected \(LinearWire.headerBytes + plan.inputCiphertextCount * seeded)")
        }
        var accumulator = ProductAccumulator(parameters: parameters)
        var maskMessage = [UInt64](repeating: 0, count: n)
        var next = 0
        let channelTiles = plan.channelTileCount
        for s in plan.spatialTiles.indices {
            // This tile's input ciphertexts.
            var inputs: [Ciphertext<Evaluation>] = []
            inputs.reserveCapacity(channelTiles)
            for k in 0..<channelTiles {
                let offset = LinearWire.headerBytes + (s * channelTiles + k) * seeded
                let piece = Array(query[offset..<(offset + seeded)])
                inputs.append(try lattice { () throws(HEError) in try Ciphertext<Evaluation>(deserializingSeeded: piece, parameters: parameters) })
            }
            var response: [UInt8] = []
            var count = 0
            while next < plan.outputs.count, plan.outputs[next].spatialTile == s {
                let block = plan.outputs[next]
                next += 1
                count += 1
                accumulator.reset()
                if plan.isDiagonal {
                    try lattice { () throws(HEError) in try accumulator.add(kernels[0][block.group], inputs[block.group]) }
                } else {
                    for k in 0..<channelTiles {
                        try lattice { () throws(HEError) in try accumulator.add(kernels[block.group][k], inputs[k]) }
                    }
                }
                let r = prg.ringElements(block.indices.count, bits: bits)
                for i in 0..<n { maskMessage[i] = 0 }
                for (value, index) in zip(r, block.indices) { maskMessage[index] = value }
                for (value, position) in zip(r, block.positions) { output[position] = (output[position] &+ value) & mask }
                let bytes = try lattice { () throws(HEError) -> [UInt8] in
                    let product = try accumulator.result().inverseNTT()
                    let masked = try BFV.subtract(product, plaintext: maskMessage)
                    let private_ = try BFV.rerandomize(masked, publicKey: publicKey, floodingBits: plan.noise.floodingBits, prg: prg)
                    let switched = try BFV.switchModulus(private_, toLimbs: plan.returnLimbs)
                    return try SparseCiphertext(switched, indices: block.indices).serialized()
                }
                if response.isEmpty {
                    response = LinearWire.header(.response, count: 0)
                }
                response += bytes
            }
            let header = LinearWire.header(.response, count: count)
            for i in 0..<LinearWire.headerBytes { response[i] = header[i] }
            try LinearWire.send(response, on: channel)
        }
        return output
    }
}

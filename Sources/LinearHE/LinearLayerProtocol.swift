import CryptoPrimitives
import Foundation
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
        // Deterministic order on both sides: by degree, then fingerprint.
        let ordered = plans.sorted {
            ($0.parameters.degree, $0.parameters.fingerprint) < ($1.parameters.degree, $1.parameters.fingerprint)
        }
        for p in ordered where seen.insert(p.parameters.fingerprint).inserted {
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

    /// The input ciphertexts of the last per-channel-scale call per layout, so that a later call
    /// whose leading channels carry the same shares (DenseNet's growing Concat) can reuse them.
    private let cache = InputCache()

    final class InputCache: @unchecked Sendable {
        let lock = NSLock()
        var entries: [String: [Int: Ciphertext<Evaluation>]] = [:]
    }

    static func cacheKey(_ plan: LinearLayerPlan) -> String { plan.inputLayoutKey }

    func cached(_ plan: LinearLayerPlan, spatialTile s: Int, channelTile k: Int) -> Ciphertext<Evaluation>? {
        cache.lock.withLock { cache.entries[LinearHEServerSession.cacheKey(plan)]?[s * 1_000_000 + k] }
    }

    func store(_ plan: LinearLayerPlan, _ inputs: [Int: Ciphertext<Evaluation>]) {
        cache.lock.withLock { cache.entries[LinearHEServerSession.cacheKey(plan)] = inputs }
    }

    func key(for plan: LinearLayerPlan) throws(LinearHEError) -> PublicKey {
        guard let key = publicKeys[plan.parameters.fingerprint] else {
            throw .sessionMisuse(detail: "no public key for the parameters \(plan.parameters) of \(plan.shape)")
        }
        return key
    }
}

// MARK: - One layer

/// Per-worker state of the vendor's output processing.
final class WorkerScratch: @unchecked Sendable {
    var accumulator: ProductAccumulator
    var mask: [UInt64]
    let prg: AESPRG

    init(accumulator: ProductAccumulator, mask: [UInt64], prg: AESPRG) {
        self.accumulator = accumulator
        self.mask = mask
        self.prg = prg
    }
}

/// Prepared kernels, one slot per (group, channel tile).
final class KernelSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<PlaintextMultiplier, HEError>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Result<PlaintextMultiplier, HEError>) { lock.withLock { slots[i] = value } }
    func get(_ i: Int) -> Result<PlaintextMultiplier, HEError>? { lock.withLock { slots[i] } }
}

/// Results of a parallel batch, one slot per block (each written by exactly one worker).
final class ResultSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<([UInt8], [UInt64]), HEError>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Result<([UInt8], [UInt64]), HEError>) { lock.withLock { slots[i] = value } }
    func get(_ i: Int) -> Result<([UInt8], [UInt64]), HEError>? { lock.withLock { slots[i] } }
}

/// The hospital's side of one linear layer: y = W·x for x = x_vendor + x_hospital (mod 2^ℓ).
///
/// Steps (one logical round trip, streamed):
/// 1. encode its share into the plan's input polynomials and encrypt each under its secret key;
///    send each as soon as it is made (seeded: c0 and a 16-byte seed), so the vendor starts on the
///    first spatial tile while later ones are still being encrypted;
/// 2. receive the vendor's results (one message per returned ciphertext) and decrypt the needed
///    coefficients: its output share W·x_hospital − r, where r is the vendor's uniform mask.
/// The channel's `rounds` counter sees the interleaving as several direction changes; no message
/// depends on an answer to a later one, so the latency is one round trip.
public struct LinearLayerClient: Sendable {
    public let plan: LinearLayerPlan

    public init(plan: LinearLayerPlan) { self.plan = plan }

    /// Runs the layer; `share` is [B, …] in the layer's input layout, values in [0, 2^ℓ).
    /// Returns the hospital's share of the output, [B, …] in the output layout.
    ///
    /// `reusingChannels` (per-channel scale only): the leading channels whose shares are identical
    /// to those of this session's previous per-channel-scale call with the same layout (DenseNet's
    /// Concat only appends channels); the vendor still holds their ciphertexts, so the channel tiles
    /// inside that prefix are not sent again. Public (architecture) information; both parties must
    /// pass the same value.
    public func run(share: [UInt64], session: LinearHEClientSession, channel: Channel,
                    prg: AESPRG = AESPRG(), reusingChannels: Int = 0) throws(LinearHEError) -> [UInt64] {
        let plan = self.plan
        let reusedTiles = try plan.reusedChannelTiles(reusingChannels)
        guard share.count == plan.inputCount else {
            throw .wrongLength(what: "hospital share of \(plan.shape)", expected: plan.inputCount, actual: share.count)
        }
        let bits = plan.plaintextBits
        if bits < 64 {
            for (i, v) in share.enumerated() where v >> UInt64(bits) != 0 { throw .shareOutOfRange(index: i, bits: bits) }
        }
        let key = try session.key(for: plan)
        let n = plan.parameters.degree
        var message = [UInt64](repeating: 0, count: n)
        let encoded = plan.encodedShape == plan.shape ? share
            : Polyphase.input(share, from: plan.shape, to: plan.encodedShape, batch: plan.batch)
        try encoded.withUnsafeBufferPointer { (x) throws(LinearHEError) in
            for s in plan.spatialTiles.indices {
                for k in reusedTiles..<plan.channelTileCount {
                    CoefficientEncoding.inputMessage(plan: plan, share: x, spatialTile: s, channelTile: k, into: &message)
                    let bytes = try lattice { () throws(HEError) in
                        try BFV.encrypt(message, secretKey: key, prg: prg).serializedWithSeed()
                    }
                    try LinearWire.send(LinearWire.header(.query, count: 1) + bytes, on: channel)
                }
            }
        }

        var output = [UInt64](repeating: 0, count: plan.outputCount)
        for block in plan.outputs {
            let size = HEWire.sparseSize(plan.parameters, limbs: plan.returnLimbs, indexCount: block.indices.count,
                                         dropped: plan.returnDrop)
            let bytes = try LinearWire.receive(on: channel, limit: LinearWire.headerBytes + size)
            try LinearWire.readHeader(bytes, expected: .response, count: 1)
            let piece = try LinearWire.split(bytes, sizes: [size])[0]
            let values = try lattice { () throws(HEError) in
                let sparse = try SparseCiphertext(deserializing: piece, parameters: plan.parameters, indices: block.indices,
                                                  dropped: plan.returnDrop)
                return try BFV.decrypt(sparse, secretKey: key)
            }
            for (value, position) in zip(values, block.positions) { output[position] = value }
        }
        return output
    }
}

/// The vendor's side of one linear layer. `init` is the per-model preparation: the kernel
/// polynomials go to NTT form once and are reused for every call (every image batch).
///
/// Steps per call:
/// 1. compute W·x_vendor locally (ring GEMM) while the hospital encrypts;
/// 2. receive the input ciphertexts (reusing cached ones for a per-channel scale's leading
///    channels, see `reusingChannels`); for each spatial tile and output group, accumulate
///    Σ_k ŵ_{g,k}·ct_{s,k} in the NTT domain (lazy 128-bit sums), inverse-transform once
///    (output groups spread over `workerCount` threads);
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
    /// Packed per-channel scale (`LinearLayerPlan.isPackedDiagonal`): the channel weights and the
    /// monomials X^(j·T), j < M, that shift channel j of a group to its place in the result.
    private let packedWeights: [Int64]
    private let monomials: [PlaintextMultiplier]
    private let local: PlaintextLinear
    /// Wall seconds spent in `init` (kernel NTTs on all workers, GEMM packing).
    public let preparationSeconds: Double
    /// Bytes held by the prepared kernel polynomials (what keeping this layer prepared costs).
    public var kernelBytes: Int { kernels.reduce(0) { $0 + $1.reduce(0) { $0 + $1.byteCount } } }
    /// Threads the vendor uses for its per-output work (products, re-randomisation, switching);
    /// the hospital's thread is mostly idle meanwhile. Default: the number of cores.
    public let workerCount: Int

    /// Prepares the weights ([Cout, Cin, kh, kw] / [N, K] / [C], signed integers at the fixed-point
    /// scale). Throws if a weight exceeds the plan's public bound 2^weightBits.
    public init(plan: LinearLayerPlan, weights originalWeights: [Int64],
                workers: Int = ProcessInfo.processInfo.activeProcessorCount) throws(LinearHEError) {
        let start = Date()
        workerCount = max(1, workers)
        guard originalWeights.count == plan.shape.weightCount else {
            throw .wrongLength(what: "weights of \(plan.shape)", expected: plan.shape.weightCount, actual: originalWeights.count)
        }
        let bound = UInt64(1) << UInt64(plan.weightBits)
        for (i, w) in originalWeights.enumerated() where w.magnitude > bound { throw .weightOutOfBound(index: i, weightBits: plan.weightBits) }
        self.plan = plan
        let weights = plan.encodedShape == plan.shape ? originalWeights
            : Polyphase.weights(originalWeights, from: plan.shape, to: plan.encodedShape)
        var kernels: [[PlaintextMultiplier]] = []
        func constant(_ w: Int64) throws(LinearHEError) -> PlaintextMultiplier {
            try lattice { () throws(HEError) in try ConstantMultiplierCache.multiplier(w, parameters: plan.parameters) }
        }
        if plan.hasConstantKernels {
            if plan.isDiagonal {
                var row: [PlaintextMultiplier] = []
                for k in 0..<plan.channelTileCount { row.append(try constant(weights[k])) }
                kernels = [row]
            } else {
                // Weights [Cout, Cin] (1×1): kernel (g, k) is W[g, k].
                for g in 0..<plan.groupCount {
                    var row: [PlaintextMultiplier] = []
                    row.reserveCapacity(plan.channelTileCount)
                    for k in 0..<plan.channelTileCount { row.append(try constant(weights[g * plan.channelTileCount + k])) }
                    kernels.append(row)
                }
            }
        } else if plan.isDiagonal {
            var row: [PlaintextMultiplier] = []
            for k in 0..<plan.channelTileCount {
                let signed = CoefficientEncoding.kernel(plan: plan, weights: weights, group: k, channelTile: k)
                row.append(try lattice { () throws(HEError) in try PlaintextMultiplier(parameters: plan.parameters, signed: signed) })
            }
            kernels = [row]
        } else {
            // Kernel NTTs in parallel over the vendor's cores (one slot per kernel).
            let groups = plan.groupCount, tiles = plan.channelTileCount
            let slots = KernelSlots(count: groups * tiles)
            let workers = min(max(1, workers), groups * tiles)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < groups * tiles {
                    let signed = CoefficientEncoding.kernel(plan: plan, weights: weights, group: i / tiles, channelTile: i % tiles)
                    slots.set(i, Result { () throws(HEError) in try PlaintextMultiplier(parameters: plan.parameters, signed: signed) })
                    i += workers
                }
            }
            for g in 0..<groups {
                var row: [PlaintextMultiplier] = []
                row.reserveCapacity(tiles)
                for k in 0..<tiles {
                    switch slots.get(g * tiles + k) {
                    case .success(let m): row.append(m)
                    case .failure(let e): throw .lattice(e)
                    case nil: throw .sessionMisuse(detail: "internal: kernel \(g), \(k) was not prepared")
                    }
                }
                kernels.append(row)
            }
        }
        self.kernels = kernels
        if plan.isPackedDiagonal {
            packedWeights = Array(weights.prefix(plan.channelTileCount))
            let stride = plan.channelStride
            var shifts: [PlaintextMultiplier] = []
            for j in 0..<plan.tilesPerGroup {
                shifts.append(try lattice { () throws(HEError) in try MonomialCache.monomial(j * stride, parameters: plan.parameters) })
            }
            monomials = shifts
        } else {
            packedWeights = []
            monomials = []
        }
        local = try PlaintextLinear(shape: plan.shape, weights: originalWeights, plaintextBits: plan.plaintextBits)
        preparationSeconds = Date().timeIntervalSince(start)
    }

    /// Runs the layer; `share` is the vendor's input share [B, …]. Returns the vendor's output
    /// share W·x_vendor + r.
    /// `reusingChannels`: see `LinearLayerClient.run`; the same value on both sides.
    public func run(share: [UInt64], session: LinearHEServerSession, channel: Channel,
                    prg: AESPRG = AESPRG(), reusingChannels: Int = 0) throws(LinearHEError) -> [UInt64] {
        let plan = self.plan
        let reusedTiles = try plan.reusedChannelTiles(reusingChannels)
        var received: [Int: Ciphertext<Evaluation>] = [:]
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
        let channelTiles = plan.channelTileCount
        let workers = max(1, min(workerCount, 8))
        // One accumulator, mask buffer and generator per worker (AESPRG is not thread-safe); the
        // workers' generators are seeded from the caller's.
        let scratch = (0..<workers).map { _ in
            WorkerScratch(accumulator: ProductAccumulator(parameters: parameters), mask: [UInt64](repeating: 0, count: n),
                          prg: AESPRG(seed: prg.block()))
        }
        let kernels = self.kernels, packedWeights = self.packedWeights, monomials = self.monomials
        let perGroup = plan.tilesPerGroup
        let floodingBits = plan.noise.floodingBits, returnLimbs = plan.returnLimbs, drop = plan.returnDrop

        func receiveInput() throws(LinearHEError) -> Ciphertext<Evaluation> {
            let bytes = try LinearWire.receive(on: channel, limit: LinearWire.headerBytes + seeded)
            try LinearWire.readHeader(bytes, expected: .query, count: 1)
            let piece = try LinearWire.split(bytes, sizes: [seeded])[0]
            return try lattice { () throws(HEError) in try Ciphertext<Evaluation>(deserializingSeeded: piece, parameters: parameters) }
        }

        /// Steps 2–5 for a batch of output blocks, spread over the workers; then, in order, the
        /// masks go into the vendor's share and the results onto the channel.
        func respond(_ batch: [LinearLayerPlan.OutputBlock], _ inputs: [Ciphertext<Evaluation>]) throws(LinearHEError) {
            let results = ResultSlots(count: batch.count)
            let work: @Sendable (Int) -> Void = { w in
                let worker = scratch[w]
                var i = w
                while i < batch.count {
                    let block = batch[i]
                    do throws(HEError) {
                        worker.accumulator.reset()
                        if plan.isDiagonal && perGroup > 1 {
                            // Channels g·M + j of this spatial tile, channel j shifted by X^(j·T).
                            let first = (block.group - batch[0].group) * perGroup
                            for j in 0..<perGroup where block.group * perGroup + j < channelTiles {
                                try worker.accumulator.add(monomials[j], scaledBy: packedWeights[block.group * perGroup + j],
                                                           inputs[first + j])
                            }
                        } else if plan.isDiagonal {
                            try worker.accumulator.add(kernels[0][block.group], inputs[block.group - batch[0].group])
                        } else {
                            for k in 0..<channelTiles { try worker.accumulator.add(kernels[block.group][k], inputs[k]) }
                        }
                        let r = worker.prg.ringElements(block.indices.count, bits: bits)
                        for j in 0..<n { worker.mask[j] = 0 }
                        for (value, index) in zip(r, block.indices) { worker.mask[index] = value }
                        let product = try worker.accumulator.result().inverseNTT()
                        let masked = try BFV.subtract(product, plaintext: worker.mask)
                        let hidden = try BFV.rerandomize(masked, publicKey: publicKey, floodingBits: floodingBits, prg: worker.prg)
                        let switched = try BFV.switchModulus(hidden, toLimbs: returnLimbs)
                        results.set(i, .success((try SparseCiphertext(switched, indices: block.indices).serialized(dropping: drop), r)))
                    } catch {
                        results.set(i, .failure(error))
                    }
                    i += workers
                }
            }
            if workers == 1 || batch.count == 1 {
                for w in 0..<min(workers, batch.count) { work(w) }
            } else {
                DispatchQueue.concurrentPerform(iterations: min(workers, batch.count), execute: work)
            }
            for (i, block) in batch.enumerated() {
                switch results.get(i) {
                case .success(let (bytes, r)):
                    for (value, position) in zip(r, block.positions) { output[position] = (output[position] &+ value) & mask }
                    try LinearWire.send(LinearWire.header(.response, count: 1) + bytes, on: channel)
                case .failure(let error):
                    throw .lattice(error)
                case nil:
                    throw .sessionMisuse(detail: "internal: output block \(i) was not computed")
                }
            }
        }

        // Inputs arrive one ciphertext per message. A per-channel scale answers every few channel
        // tiles (its outputs need one input each, or M when packed); other layers answer per
        // spatial tile.
        let diagonalBatch = 4 * workers * perGroup
        var next = 0
        for s in plan.spatialTiles.indices {
            var inputs: [Ciphertext<Evaluation>] = []
            inputs.reserveCapacity(channelTiles)
            var pendingStart = 0
            for k in 0..<channelTiles {
                if k < reusedTiles {
                    guard let old = session.cached(plan, spatialTile: s, channelTile: k) else {
                        throw .sessionMisuse(detail: "channel tile \(k) of \(plan.shape) was to be reused, but no earlier call holds it")
                    }
                    inputs.append(old)
                } else {
                    inputs.append(try receiveInput())
                }
                if plan.isDiagonal {
                    received[s * 1_000_000 + k] = inputs[k]
                    if k + 1 - pendingStart == diagonalBatch || k + 1 == channelTiles {
                        let groups = (k + 1 - pendingStart + perGroup - 1) / perGroup
                        let batch = Array(plan.outputs[next..<(next + groups)])
                        try respond(batch, Array(inputs[pendingStart...k]))
                        next += batch.count
                        pendingStart = k + 1
                    }
                }
            }
            if plan.isDiagonal { continue }
            var batch: [LinearLayerPlan.OutputBlock] = []
            while next < plan.outputs.count, plan.outputs[next].spatialTile == s {
                batch.append(plan.outputs[next])
                next += 1
            }
            try respond(batch, inputs)
        }
        if plan.isDiagonal { session.store(plan, received) }
        return output
    }
}

import Foundation
import LatticeHE

/// How a layer's tensors are cut into polynomials (Cheetah's coefficient encoding, generalised).
///
/// The batch of B zero-padded images [C, Hp, Wp] is stacked vertically into one tall image
/// [C, B·Hp, Wp]; a stride-1 convolution over the tall image contains every image's outputs (rows
/// that straddle two images are simply never requested), so a batch costs no more polynomials than
/// its rows need. The tall image is cut into tiles of `channelTile` × `heightTile` × `widthTile`
/// values (T = C_t·H_t·W_t ≤ N), overlapping by the kernel extent minus one; `outputsPerPolynomial`
/// (M_t) output channels share one kernel polynomial, and so one returned ciphertext, with
/// M_t·T ≤ N. Strided convolutions without dilation are first rewritten as stride-1 convolutions of
/// their polyphase components (`Polyphase`), so every returned coefficient is used; with dilation,
/// the stride-1 result is computed and only the coefficients at the strided positions are returned.
/// Per-channel scale uses M_t = C_t with C_t a power of two and C_t·T ≤ N (see `CoefficientEncoding`),
/// or, with one channel per input polynomial (C_t = 1), packs M_t > 1 channels into each returned
/// ciphertext: Σ_j X^(j·T)·w_j·ct_j puts channel j's values at coefficients j·T … j·T + T − 1, the
/// products being constants w_j times the monomial X^(j·T), so no coefficient of a returned
/// ciphertext is wasted on cross terms (`isPackedDiagonal`).
/// The tiling minimises an estimate of time plus bytes (`search`) among the tilings whose worst-case
/// noise passes `NoiseBudget.check`.
public struct LinearTiling: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public var channelTile: Int
    public var heightTile: Int
    public var widthTile: Int
    public var outputsPerPolynomial: Int

    public var description: String {
        "C_t \(channelTile) × H_t \(heightTile) × W_t \(widthTile), \(outputsPerPolynomial) output channel(s) per polynomial"
    }
}

/// The public plan of one linear layer: shapes, HE parameters, tiling, and where every output value
/// sits in the returned ciphertexts. Both parties derive it identically from public data (layer
/// shape, batch size, ℓ, the public weight bound and the statistical security parameter), so none
/// of it is sent.
///
/// Revealed by design: the shape, the batch size, ℓ and `weightBits` (a public bound
/// |w| ≤ 2^weightBits on the vendor's integer weights, like the fixed-point scale). The plan is chosen
/// so that `NoiseBudget.check` passes for the worst case of every weight within that bound.
public struct LinearLayerPlan: Sendable {
    public let shape: LinearLayerShape
    /// The shape the encodings work on: `shape` itself, or for a strided convolution its
    /// polyphase form (stride 1, more channels, smaller kernel; see `Polyphase`).
    public let encodedShape: LinearLayerShape
    public let batch: Int
    public let plaintextBits: Int
    public let weightBits: Int
    public let statisticalBits: Int
    public let parameters: HEParameters
    public let tiling: LinearTiling
    /// Primes left in the returned ciphertexts after modulus switching.
    public let returnLimbs: Int
    /// Low bits of every returned coefficient left off the wire (Cheetah's extraction), as many as
    /// the worst-case noise leaves room for (`NoiseBudget.droppableBits`).
    public let returnDrop: LowBitDrop
    /// The worst-case noise analysis of one returned ciphertext.
    public let noise: NoiseReport

    /// One spatial tile: the top-left corner of its input window in the tall padded image.
    struct SpatialTile: Sendable { let row: Int; let column: Int }
    /// One returned ciphertext: spatial tile, output-channel group, the coefficient indices the
    /// client needs and, for each, the position of that value in the [B, Cout, outH, outW] output.
    struct OutputBlock: Sendable {
        let spatialTile: Int
        let group: Int
        let indices: [Int]
        let positions: [Int]
    }

    let spatialTiles: [SpatialTile]
    /// Input-channel tiles (ciphertexts per spatial tile).
    public let channelTileCount: Int
    let groupCount: Int
    let outputs: [OutputBlock]
    /// Offset of the "centre" term: (C_t − 1)·H_t·W_t + (keh − 1)·W_t + (kew − 1).
    let centre: Int
    /// T = C_t·H_t·W_t, the distance between two output channels of one group.
    let channelStride: Int

    public var isDiagonal: Bool { encodedShape.kind == .channelScale }
    /// A per-channel scale with one channel per input polynomial whose returned ciphertexts each
    /// carry `outputsPerPolynomial` channels, shifted apart by monomials.
    public var isPackedDiagonal: Bool { isDiagonal && tiling.outputsPerPolynomial > tiling.channelTile }
    /// Input channel tiles (diagonal) whose products share one returned ciphertext.
    var tilesPerGroup: Int { isDiagonal ? tiling.outputsPerPolynomial / tiling.channelTile : 1 }
    /// Every kernel polynomial is a constant w·X^0 (one input channel per tile, one output channel
    /// per group, 1×1 kernel): the vendor takes them from a shared cache of constants.
    var hasConstantKernels: Bool {
        tiling.channelTile == 1 && (isDiagonal || (tiling.outputsPerPolynomial == 1 && encodedShape.kernelHeight == 1 && encodedShape.kernelWidth == 1))
    }

    /// Two per-channel-scale plans with the same key encrypt a channel's values into the same
    /// ciphertext slots (same parameters, batch, plane and tiling): the server session keeps the
    /// input ciphertexts of the last such call per key, for `reusingChannels`.
    public var inputLayoutKey: String {
        "\(parameters.fingerprint)/\(batch)/\(shape.inputHeight)x\(shape.inputWidth)/\(tiling.channelTile)x\(tiling.heightTile)x\(tiling.widthTile)"
    }

    /// Channel tiles entirely inside the first `channels` channels (per-channel scale only).
    func reusedChannelTiles(_ channels: Int) throws(LinearHEError) -> Int {
        guard channels != 0 else { return 0 }
        guard isDiagonal, (0...shape.inputChannels).contains(channels) else {
            throw .sessionMisuse(detail: "ciphertext reuse is for per-channel scales, within the channel count (\(shape))")
        }
        return channels / tiling.channelTile
    }

    /// Ciphertexts the client sends per layer call.
    public var inputCiphertextCount: Int { spatialTiles.count * channelTileCount }
    /// Ciphertexts the vendor returns.
    public var outputCiphertextCount: Int { outputs.count }
    /// Plaintext × ciphertext products in the NTT domain per call.
    public var productCount: Int { isDiagonal ? inputCiphertextCount : inputCiphertextCount * groupCount }
    /// Kernel polynomials the vendor prepares once per model.
    public var kernelPolynomialCount: Int { isDiagonal ? channelTileCount : channelTileCount * groupCount }
    /// Exact bytes of the client's query (ciphertexts only).
    public var queryBytes: Int { inputCiphertextCount * HEWire.seededSize(parameters) }
    /// Exact bytes of the vendor's response (ciphertexts only).
    public var responseBytes: Int {
        outputs.reduce(0) { $0 + HEWire.sparseSize(parameters, limbs: returnLimbs, indexCount: $1.indices.count, dropped: returnDrop) }
    }
    /// Values of the layer's output (all images).
    public var outputCount: Int { batch * shape.outputCount }
    public var inputCount: Int { batch * shape.inputCount }

    /// Chooses HE parameters and a tiling for `shape` on `batch` images over Z_2^plaintextBits,
    /// for weights with |w| ≤ 2^weightBits. Deterministic.
    ///
    /// `reusableChannels` (per-channel scale): the leading input channels the program marks as
    /// shared with an earlier per-channel scale (`ChannelReuse`); the cost model prices their
    /// ciphertexts as not sent, as they are when the earlier layer chose the same input layout.
    /// Public, so both parties plan alike.
    public init(shape: LinearLayerShape, batch: Int = 1, plaintextBits: Int, weightBits: Int,
                statisticalBits: Int = 40, reusableChannels: Int = 0) throws(LinearHEError) {
        try shape.validate()
        guard batch > 0 else { throw .invalidShape(detail: "batch must be positive") }
        guard (2...64).contains(plaintextBits) else { throw .invalidShape(detail: "ℓ = \(plaintextBits) is outside 2...64") }
        guard (0..<(plaintextBits - 1)).contains(weightBits) else {
            throw .invalidShape(detail: "weightBits \(weightBits) must be below ℓ − 1")
        }
        let core = Polyphase.shape(for: shape) ?? shape
        var best: Candidate?
        var reasons: [String] = []
        for degree in [4096, 8192] {
            let chains = ParameterCache.chains(degree: degree, plaintextBits: plaintextBits)
            guard !chains.isEmpty else {
                reasons.append("N = \(degree): no parameter set for ℓ = \(plaintextBits)")
                continue
            }
            if let candidate = LinearLayerPlan.search(shape: core, batch: batch, chains: chains,
                                                      weightBits: weightBits, statisticalBits: statisticalBits,
                                                      reusableChannels: core.kind == .channelScale ? reusableChannels : 0) {
                if best == nil || candidate.cost < best!.cost { best = candidate }
            } else {
                reasons.append("N = \(degree): the worst-case noise exceeds the budget for every tiling")
            }
        }
        guard let best else {
            throw .noFeasibleParameters(layer: shape.description, detail: reasons.joined(separator: "; "))
        }
        self.shape = shape
        self.encodedShape = core
        self.batch = batch
        self.plaintextBits = plaintextBits
        self.weightBits = weightBits
        self.statisticalBits = statisticalBits
        self.parameters = best.parameters
        self.tiling = best.tiling
        self.returnLimbs = best.returnLimbs
        self.noise = best.noise
        self.returnDrop = NoiseBudget.droppableBits(best.parameters, best.noise, returnLimbs: best.returnLimbs)
        let layout = LinearLayerPlan.layout(shape: core, batch: batch, tiling: tiling, degree: parameters.degree)
        spatialTiles = layout.tiles
        outputs = layout.outputs
        channelTileCount = (core.inputChannels + tiling.channelTile - 1) / tiling.channelTile
        groupCount = (core.outputChannels + tiling.outputsPerPolynomial - 1) / tiling.outputsPerPolynomial
        centre = layout.centre
        channelStride = tiling.channelTile * tiling.heightTile * tiling.widthTile
    }

    /// The noise workload of one returned ciphertext in the worst case for this tiling.
    static func workload(shape: LinearLayerShape, tiling: LinearTiling, weightBits: Int, statisticalBits: Int,
                         returnLimbs: Int?) -> LinearWorkload {
        let channelTiles = (shape.inputChannels + tiling.channelTile - 1) / tiling.channelTile
        let nonzero: Int
        let accumulated: Int
        if shape.kind == .channelScale {
            nonzero = min(tiling.channelTile, shape.inputChannels)
            accumulated = max(1, tiling.outputsPerPolynomial / tiling.channelTile)
        } else {
            nonzero = min(tiling.outputsPerPolynomial, shape.outputChannels) * min(tiling.channelTile, shape.inputChannels)
                * shape.kernelHeight * shape.kernelWidth
            accumulated = channelTiles
        }
        return LinearWorkload(maximumMagnitude: UInt64(1) << UInt64(weightBits), nonzeroTerms: nonzero,
                              accumulatedProducts: accumulated, plaintextAdditions: 1, flooding: true,
                              statisticalBits: statisticalBits, returnLimbs: returnLimbs)
    }

    struct Candidate {
        var parameters: HEParameters
        var tiling: LinearTiling
        var returnLimbs: Int
        var noise: NoiseReport
        var cost: Double
    }

    /// Estimated cost model, in µs of wall time on this class of machine (2 cores, both parties)
    /// plus 0.3 µs per byte on the wire, fitted to a profile of DenseNet-121: per input ciphertext
    /// (encrypt, serialise, expand the seed, deserialise), per returned ciphertext (inverse NTTs,
    /// re-randomisation, switching, serialisation, decryption), per NTT-domain product, and per
    /// kernel polynomial prepared (kernels that are a constant — one channel, one output channel,
    /// 1×1 — come from a shared cache and cost nothing). A kernel is priced as prepared for every
    /// use: DenseNet-121's kernels take some 12–30 GiB against `PreparedModel`'s default 2 GiB
    /// budget, so most are. Kernel sets above 1.5 GB per layer are not considered.
    ///
    /// The two weights were chosen side by side (`validate-inspect bench linear`, DenseNet-121
    /// 224×224, ℓ = 37, one image; seconds are the layers plus kernel preparation):
    ///
    /// | per byte | per kernel | bytes | seconds |
    /// | --- | --- | --- | --- |
    /// | 0.01 µs | ¼ | 1,999 MB | 29.6 + 14.2 |
    /// | 0.1 µs | ¼ | 1,706 MB | 25.9 + 20.6 |
    /// | 0.3 µs | ¼ | 1,578 MB | 24.9 + 26.8 |
    /// | 0.1 µs | 1 | 2,099 MB | 30.9 + 6.9 |
    /// | **0.3 µs** | **1** | **1,799 MB** | **27.0 + 13.4** |
    /// | 1 µs | 1 | 1,592 MB | 23.7 + 25.4 |
    ///
    /// 0.3 µs and full kernel cost send less and take less time than the first row; the last row
    /// saves another 207 MB (17 s at 100 Mbit/s) for 8.7 s more on loopback.
    ///
    /// `chains` are parameter sets of one ring degree, smallest modulus first
    /// (`ParameterCache.chains`). For each tiling the first chain whose modulus holds the tiling's
    /// worst-case noise (flooding included) and still decrypts after switching down to its first
    /// prime is the cheapest for that tiling: a smaller q means fewer or narrower primes in every
    /// query ciphertext and fewer NTTs everywhere. Larger chains are only tried while the
    /// feasible ones must return more than one prime.
    static func search(shape: LinearLayerShape, batch: Int, chains: [HEParameters], weightBits: Int,
                       statisticalBits: Int, reusableChannels: Int = 0) -> Candidate? {
        guard let first = chains.first else { return nil }
        let n = first.degree
        let nd = Double(n)
        let ntt = 55.0 * nd / 4096 * log2(nd) / 12  // µs per NTT of one prime
        let microsecondsPerByte = 0.3
        let kernelMemoryLimit = 1.5e9
        struct ChainCost {
            let parameters: HEParameters
            let limbs: Double
            let productCost: Double, kernelCost: Double, inputCost: Double, outputCost: Double
            let seeded: Double
            let limit: Double
        }
        let costs = chains.map { p -> ChainCost in
            let limbs = Double(p.limbCount)
            return ChainCost(parameters: p, limbs: limbs,
                             productCost: 1.2e-3 * 2 * limbs * nd,
                             kernelCost: 1.0 * (limbs * ntt + 0.05 * limbs * nd),
                             inputCost: 2 * limbs * ntt + 0.1 * limbs * nd,
                             outputCost: (5 * limbs + 4) * ntt + 0.15 * nd,
                             seeded: Double(HEWire.seededSize(p)),
                             limit: p.log2Modulus(limbs: p.limbCount) - Double(p.plaintextBits) - 1)
        }
        let diagonal = shape.kind == .channelScale
        let keh = shape.effectiveKernelHeight, kew = shape.effectiveKernelWidth
        let stackedHeight = batch * shape.paddedHeight
        let outRows = stackedHeight - keh + 1
        let outColumns = shape.paddedWidth - kew + 1
        let c = shape.inputChannels, cout = shape.outputChannels
        let totalOutputs = Double(batch * shape.outputCount)

        var best: Candidate?
        var channelTiles = Set<Int>()
        if diagonal {
            // Powers of two only, so that tiles stay aligned when a Concat appends 2^k channels
            // (ciphertext reuse, see `LinearLayerClient.run`).
            var p = 1
            while p <= c { channelTiles.insert(p); p *= 2 }
        } else {
            for k in 1...c { channelTiles.insert((c + k - 1) / k) }
        }
        var widthTiles = Set<Int>()
        for k in 1...outColumns { widthTiles.insert((outColumns + k - 1) / k + kew - 1) }
        for ct in channelTiles.sorted() where ct * keh * kew <= n {
            for wt in widthTiles.sorted() where ct * keh * wt <= n {
                let maxGroup = diagonal ? ct : min(cout, n / (ct * wt * keh))
                var groupSizes: [Int] = diagonal ? [ct] : Array(1...max(1, maxGroup))
                if diagonal && ct == 1 {
                    // Packed returns: M channels per returned ciphertext, tiles of T ≤ N/M values.
                    var m = 2
                    while m <= min(c, n / wt) { groupSizes.append(m); m *= 2 }
                    let whole = n / (stackedHeight * wt)
                    if whole > 1 && !groupSizes.contains(min(whole, c)) { groupSizes.append(min(whole, c)) }
                }
                for m in groupSizes {
                    let ht = min(stackedHeight, n / (m * ct * wt))
                    guard ht >= keh, m * ct * ht * wt <= n else { continue }
                    let tiling = LinearTiling(channelTile: ct, heightTile: ht, widthTile: wt, outputsPerPolynomial: m)
                    let spatial = Double(((outRows + ht - keh) / (ht - keh + 1)) * ((outColumns + wt - kew) / (wt - kew + 1)))
                    let nCt = Double((c + ct - 1) / ct)
                    let nG = diagonal ? (nCt * Double(ct) / Double(m)).rounded(.up) : Double((cout + m - 1) / m)
                    let packed = diagonal && m > ct
                    let products = diagonal ? spatial * nCt : spatial * nCt * nG
                    let constantKernels = ct == 1 && (diagonal || (m == 1 && keh == 1 && kew == 1))
                    let kernels = constantKernels ? 0 : (diagonal ? nCt : nCt * nG)
                    // Query ciphertexts actually sent: reused channel tiles are not.
                    let sent = spatial * (nCt - Double(min(reusableChannels, c) / ct))
                    let outputsCts = spatial * nG
                    let fullWorkload = workload(shape: shape, tiling: tiling, weightBits: weightBits,
                                                statisticalBits: statisticalBits, returnLimbs: nil)
                    guard let noise = try? NoiseBudget.analyse(first, fullWorkload) else { continue }
                    for chain in costs where chain.limit > noise.totalNoiseBits {
                        guard kernels * nd * chain.limbs * 8 <= kernelMemoryLimit else { break }
                        // The lowest return level that still decrypts.
                        var chosen: (Int, NoiseReport)?
                        for level in 1...chain.parameters.limbCount {
                            let w = workload(shape: shape, tiling: tiling, weightBits: weightBits,
                                             statisticalBits: statisticalBits, returnLimbs: level)
                            if let report = try? NoiseBudget.check(chain.parameters, w) { chosen = (level, report); break }
                        }
                        guard let (level, report) = chosen else { continue }
                        let returnBits = Double(chain.parameters.modulusBits(limbs: level))
                        let drop = NoiseBudget.droppableBits(chain.parameters, report, returnLimbs: level)
                        let responseBytes = (outputsCts * nd * (returnBits - Double(drop.c1))
                            + totalOutputs * (returnBits - Double(drop.c0))) / 8
                        let bytes = sent * chain.seeded + responseBytes
                        let cost = products * chain.productCost * (packed ? 2 : 1) + kernels * chain.kernelCost + sent * chain.inputCost
                            + outputsCts * chain.outputCost + bytes * microsecondsPerByte
                        if best == nil || cost < best!.cost {
                            best = Candidate(parameters: chain.parameters, tiling: tiling, returnLimbs: level,
                                             noise: report, cost: cost)
                        }
                        if level == 1 { break }
                    }
                }
            }
        }
        return best
    }

    /// Spatial tiles that hold at least one needed output, and the output blocks.
    static func layout(shape: LinearLayerShape, batch: Int, tiling: LinearTiling, degree: Int)
        -> (tiles: [SpatialTile], outputs: [OutputBlock], centre: Int) {
        let keh = shape.effectiveKernelHeight, kew = shape.effectiveKernelWidth
        let hp = shape.paddedHeight, wp = shape.paddedWidth
        let stackedHeight = batch * hp
        let outRows = stackedHeight - keh + 1, outColumns = wp - kew + 1
        let ht = tiling.heightTile, wt = tiling.widthTile, ct = tiling.channelTile, m = tiling.outputsPerPolynomial
        let stepH = ht - keh + 1, stepW = wt - kew + 1
        let plane = ht * wt
        let centre = (ct - 1) * plane + (keh - 1) * wt + (kew - 1)
        let channelStride = ct * plane
        let outH = shape.outputHeight, outW = shape.outputWidth
        let cout = shape.outputChannels
        let (sh, sw) = (shape.strides[0], shape.strides[1])
        let groups = (cout + m - 1) / m
        let groupSize = m
        var tiles: [SpatialTile] = []
        var outputs: [OutputBlock] = []
        var row = 0
        while row < outRows {
            var column = 0
            while column < outColumns {
                // Needed stride-1 outputs (i, j) of this tile and their (b, oy, ox).
                var local: [(offset: Int, base: Int)] = []
                for i in 0..<stepH {
                    let r = row + i
                    guard r < outRows else { break }
                    let image = r / hp, ry = r % hp
                    guard ry <= hp - keh, ry % sh == 0 else { continue }
                    let oy = ry / sh
                    guard oy < outH else { continue }
                    for j in 0..<stepW {
                        let col = column + j
                        guard col < outColumns, col % sw == 0 else { continue }
                        let ox = col / sw
                        guard ox < outW else { continue }
                        local.append((i * wt + j, ((image * cout) * outH + oy) * outW + ox))
                    }
                }
                if !local.isEmpty {
                    let tileIndex = tiles.count
                    tiles.append(SpatialTile(row: row, column: column))
                    for g in 0..<groups {
                        var indices: [Int] = []
                        var positions: [Int] = []
                        for o in 0..<groupSize {
                            let channel = g * groupSize + o
                            guard channel < cout else { break }
                            for (offset, base) in local {
                                indices.append(o * channelStride + centre + offset)
                                positions.append(base + channel * outH * outW)
                            }
                        }
                        outputs.append(OutputBlock(spatialTile: tileIndex, group: g, indices: indices, positions: positions))
                    }
                }
                column += stepW
            }
            row += stepH
        }
        return (tiles, outputs, centre)
    }
}

/// Constant plaintext multipliers w·X^0 by (parameters, w), built once per process and shared by
/// every layer whose kernels are constants (a few thousand distinct values at the usual scales).
final class ConstantMultiplierCache: @unchecked Sendable {
    private static let shared = ConstantMultiplierCache()
    private let lock = NSLock()
    private var table: [UInt64: [Int64: PlaintextMultiplier]] = [:]

    static func multiplier(_ value: Int64, parameters: HEParameters) throws(HEError) -> PlaintextMultiplier {
        let cache = shared
        cache.lock.lock()
        if let hit = cache.table[parameters.fingerprint]?[value] {
            cache.lock.unlock()
            return hit
        }
        cache.lock.unlock()
        var coefficients = [Int64](repeating: 0, count: parameters.degree)
        coefficients[0] = value
        let made = try PlaintextMultiplier(parameters: parameters, signed: coefficients)
        cache.lock.lock()
        cache.table[parameters.fingerprint, default: [:]][value] = made
        cache.lock.unlock()
        return made
    }
}

/// Monomials X^k as plaintext multipliers by (parameters, k), built once per process: the shifts
/// of packed per-channel-scale results (`LinearLayerPlan.isPackedDiagonal`).
final class MonomialCache: @unchecked Sendable {
    private static let shared = MonomialCache()
    private let lock = NSLock()
    private var table: [UInt64: [Int: PlaintextMultiplier]] = [:]

    static func monomial(_ k: Int, parameters: HEParameters) throws(HEError) -> PlaintextMultiplier {
        let cache = shared
        if let hit = cache.lock.withLock({ cache.table[parameters.fingerprint]?[k] }) { return hit }
        var coefficients = [Int64](repeating: 0, count: parameters.degree)
        coefficients[k] = 1
        let made = try PlaintextMultiplier(parameters: parameters, signed: coefficients)
        cache.lock.withLock { cache.table[parameters.fingerprint, default: [:]][k] = made }
        return made
    }
}

/// HE parameter sets by (N, ℓ, prime sizes), built once per process (the prime search is
/// deterministic but not free), and the menu of modulus chains the planner chooses from.
final class ParameterCache: @unchecked Sendable {
    private static let shared = ParameterCache()
    private let lock = NSLock()
    private var table: [[Int]: HEParameters?] = [:]
    private var menus: [[Int]: [HEParameters]] = [:]

    /// Bits of the first prime, the one a result is switched down to before it is returned: the
    /// switched noise is at most the flooding scaled by q_0/q plus d·(N + 1)/2 ≤ 2^13.6 for up to
    /// three dropped primes at N = 8192 (`NoiseBudget`), so q_0/(2t) ≥ 2^19 leaves room for it
    /// whatever the chain's margin at the full modulus. ℓ + 20 bits, at most 60 (then, for
    /// ℓ > 40, results return at two primes).
    static func firstPrimeBits(plaintextBits: Int) -> Int { min(60, plaintextBits + 20) }

    /// The modulus chains for ring degree `degree` and t = 2^ℓ, smallest modulus first: the first
    /// prime (`firstPrimeBits`), then 60-bit primes, then a last prime of 20 to 60 bits in steps of
    /// 4, every chain within the HE Standard's 128-bit bound for the degree
    /// (`HEParameters.maximumModulusBits`: 109 bits at N = 4096, 218 at N = 8192). Flooding
    /// needs about log2(worst product noise) + κ + ℓ + 1 bits of modulus, which for DenseNet-121
    /// is some 130–170 bits at N = 8192 against the 218 the bound allows: a query ciphertext
    /// carries every prime, so the planner takes the smallest chain that holds the layer's noise.
    static func chains(degree: Int, plaintextBits: Int) -> [HEParameters] {
        let key = [degree, plaintextBits]
        shared.lock.lock()
        if let menu = shared.menus[key] { shared.lock.unlock(); return menu }
        shared.lock.unlock()
        guard let maximum = HEParameters.maximumModulusBits[degree] else { return [] }
        let q0 = firstPrimeBits(plaintextBits: plaintextBits)
        var shapes: [[Int]] = []
        for middle in 0...3 {
            for last in stride(from: 20, through: 60, by: 4) {
                let chain = [q0] + Array(repeating: 60, count: middle) + [last]
                if chain.reduce(0, +) <= maximum { shapes.append(chain) }
            }
        }
        // Ordered by total bits, then by fewer primes; duplicates in total keep the fewer primes.
        shapes.sort { ($0.reduce(0, +), $0.count) < ($1.reduce(0, +), $1.count) }
        var menu: [HEParameters] = []
        for shape in shapes {
            if let p = parameters(degree: degree, plaintextBits: plaintextBits, primeBits: shape),
               menu.last.map({ $0.modulusBits < p.modulusBits }) ?? true {
                menu.append(p)
            }
        }
        shared.lock.lock()
        shared.menus[key] = menu
        shared.lock.unlock()
        return menu
    }

    static func parameters(degree: Int, plaintextBits: Int, primeBits: [Int]) -> HEParameters? {
        let key = [degree, plaintextBits] + primeBits
        shared.lock.lock()
        if let cached = shared.table[key] { shared.lock.unlock(); return cached }
        shared.lock.unlock()
        let made = try? HEParameters(degree: degree, plaintextBits: plaintextBits, primeBits: primeBits)
        shared.lock.lock()
        shared.table[key] = made
        shared.lock.unlock()
        return made
    }
}

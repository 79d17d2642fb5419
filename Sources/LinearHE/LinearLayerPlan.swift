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
/// M_t·T ≤ N. Strides are handled by computing the stride-1 result and returning only the
/// coefficients at the strided positions (no extra products: the product count depends on the input
/// tiles, not on how many of their outputs are used).
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
    public let batch: Int
    public let plaintextBits: Int
    public let weightBits: Int
    public let statisticalBits: Int
    public let parameters: HEParameters
    public let tiling: LinearTiling
    /// Primes left in the returned ciphertexts after modulus switching.
    public let returnLimbs: Int
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
    let channelTileCount: Int
    let groupCount: Int
    let outputs: [OutputBlock]
    /// Offset of the "centre" term: (C_t − 1)·H_t·W_t + (keh − 1)·W_t + (kew − 1).
    let centre: Int
    /// T = C_t·H_t·W_t, the distance between two output channels of one group.
    let channelStride: Int

    var isDiagonal: Bool { shape.kind == .channelScale }

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
        outputs.reduce(0) { $0 + HEWire.sparseSize(parameters, limbs: returnLimbs, indexCount: $1.indices.count) }
    }
    /// Values of the layer's output (all images).
    public var outputCount: Int { batch * shape.outputCount }
    public var inputCount: Int { batch * shape.inputCount }

    /// Chooses HE parameters and a tiling for `shape` on `batch` images over Z_2^plaintextBits,
    /// for weights with |w| ≤ 2^weightBits. Deterministic.
    public init(shape: LinearLayerShape, batch: Int = 1, plaintextBits: Int, weightBits: Int,
                statisticalBits: Int = 40) throws(LinearHEError) {
        try shape.validate()
        guard batch > 0 else { throw .invalidShape(detail: "batch must be positive") }
        guard (2...64).contains(plaintextBits) else { throw .invalidShape(detail: "ℓ = \(plaintextBits) is outside 2...64") }
        guard (0..<(plaintextBits - 1)).contains(weightBits) else {
            throw .invalidShape(detail: "weightBits \(weightBits) must be below ℓ − 1")
        }
        var best: (cost: Double, candidate: Candidate, parameters: HEParameters)?
        var reasons: [String] = []
        for degree in [4096, 8192] {
            guard let parameters = ParameterCache.parameters(degree: degree, plaintextBits: plaintextBits) else {
                reasons.append("N = \(degree): no parameter set for ℓ = \(plaintextBits)")
                continue
            }
            if let candidate = LinearLayerPlan.search(shape: shape, batch: batch, parameters: parameters,
                                                      weightBits: weightBits, statisticalBits: statisticalBits) {
                if best == nil || candidate.cost < best!.cost { best = (candidate.cost, candidate, parameters) }
            } else {
                reasons.append("N = \(degree): the worst-case noise exceeds the budget for every tiling")
            }
        }
        guard let best else {
            throw .noFeasibleParameters(layer: shape.description, detail: reasons.joined(separator: "; "))
        }
        self.shape = shape
        self.batch = batch
        self.plaintextBits = plaintextBits
        self.weightBits = weightBits
        self.statisticalBits = statisticalBits
        self.parameters = best.parameters
        self.tiling = best.candidate.tiling
        self.returnLimbs = best.candidate.returnLimbs
        self.noise = best.candidate.noise
        let layout = LinearLayerPlan.layout(shape: shape, batch: batch, tiling: tiling, degree: parameters.degree)
        spatialTiles = layout.tiles
        outputs = layout.outputs
        channelTileCount = (shape.inputChannels + tiling.channelTile - 1) / tiling.channelTile
        groupCount = shape.kind == .channelScale ? channelTileCount
            : (shape.outputChannels + tiling.outputsPerPolynomial - 1) / tiling.outputsPerPolynomial
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
            accumulated = 1
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
        var tiling: LinearTiling
        var returnLimbs: Int
        var noise: NoiseReport
        var cost: Double
    }

    /// Estimated cost model (seconds on this class of machine plus 10 ns per byte on the wire):
    /// NTT-domain products, kernel preparation, encryption, and the per-result work
    /// (inverse NTTs, re-randomisation, switching, decryption).
    static func search(shape: LinearLayerShape, batch: Int, parameters: HEParameters, weightBits: Int,
                       statisticalBits: Int) -> Candidate? {
        let n = parameters.degree
        let limbs = Double(parameters.limbCount)
        let nd = Double(n)
        let ntt = 45.0 * nd / 4096 * log2(nd) / 12  // µs per NTT of one prime
        let productCost = 0.65e-3 * 2 * limbs * nd
        let kernelCost = limbs * ntt + 0.02 * limbs * nd
        let inputCost = limbs * ntt + 0.05 * limbs * nd
        let outputCost = (5 * limbs + 2) * ntt + 0.1 * nd
        let microsecondsPerByte = 0.01
        let diagonal = shape.kind == .channelScale
        let keh = shape.effectiveKernelHeight, kew = shape.effectiveKernelWidth
        let stackedHeight = batch * shape.paddedHeight
        let outRows = stackedHeight - keh + 1
        let outColumns = shape.paddedWidth - kew + 1
        let c = shape.inputChannels, cout = shape.outputChannels
        let totalOutputs = Double(batch * shape.outputCount)
        let seeded = Double(HEWire.seededSize(parameters))

        // Cache the smallest feasible return level per (nonzero, accumulated) workload.
        var best: Candidate?
        var channelTiles = Set<Int>()
        for k in 1...c { channelTiles.insert((c + k - 1) / k) }
        var widthTiles = Set<Int>()
        for k in 1...outColumns { widthTiles.insert((outColumns + k - 1) / k + kew - 1) }
        for ct in channelTiles.sorted() where ct * keh * kew <= n {
            for wt in widthTiles.sorted() where ct * keh * wt <= n {
                let maxGroup = diagonal ? ct : min(cout, n / (ct * wt * keh))
                let groupSizes: [Int] = diagonal ? [ct] : Array(1...max(1, maxGroup))
                for m in groupSizes {
                    let ht = min(stackedHeight, n / (m * ct * wt))
                    guard ht >= keh, m * ct * ht * wt <= n else { continue }
                    let tiling = LinearTiling(channelTile: ct, heightTile: ht, widthTile: wt, outputsPerPolynomial: m)
                    let spatial = Double(((outRows + ht - keh) / (ht - keh + 1)) * ((outColumns + wt - kew) / (wt - kew + 1)))
                    let nCt = Double((c + ct - 1) / ct)
                    let nG = diagonal ? nCt : Double((cout + m - 1) / m)
                    let products = diagonal ? spatial * nCt : spatial * nCt * nG
                    let kernels = diagonal ? nCt : nCt * nG
                    let inputs = spatial * nCt
                    let outputsCts = spatial * nG
                    // Feasibility and return level.
                    var chosen: (Int, NoiseReport)?
                    for level in 1...parameters.limbCount {
                        let w = workload(shape: shape, tiling: tiling, weightBits: weightBits,
                                         statisticalBits: statisticalBits, returnLimbs: level)
                        if let report = try? NoiseBudget.check(parameters, w) { chosen = (level, report); break }
                    }
                    guard let (level, report) = chosen else { continue }
                    let returnBits = Double(parameters.modulusBits(limbs: level))
                    let responseBytes = (outputsCts * nd + totalOutputs) * returnBits / 8
                    let bytes = inputs * seeded + responseBytes
                    let cost = products * productCost + kernels * kernelCost + inputs * inputCost
                        + outputsCts * outputCost + bytes * microsecondsPerByte
                    if best == nil || cost < best!.cost {
                        best = Candidate(tiling: tiling, returnLimbs: level, noise: report, cost: cost)
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
        let groups = (cout + (shape.kind == .channelScale ? ct : m) - 1) / (shape.kind == .channelScale ? ct : m)
        let groupSize = shape.kind == .channelScale ? ct : m
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

/// HE parameter sets by (N, ℓ), built once per process (the prime search is deterministic but not free).
final class ParameterCache: @unchecked Sendable {
    private static let shared = ParameterCache()
    private let lock = NSLock()
    private var table: [Int: HEParameters?] = [:]

    static func parameters(degree: Int, plaintextBits: Int) -> HEParameters? {
        shared.lock.lock()
        defer { shared.lock.unlock() }
        let key = degree * 100 + plaintextBits
        if let cached = shared.table[key] { return cached }
        let made: HEParameters?
        switch degree {
        case 4096: made = try? HEParameters.n4096(plaintextBits: plaintextBits)
        case 8192: made = try? HEParameters.n8192(plaintextBits: plaintextBits)
        default: made = nil
        }
        shared.table[key] = made
        return made
    }
}

import CryptoPrimitives
import Transport

/// Ferret's multi-point COT with regular noise (semi-honest), one direction: t
/// single-point COTs side by side, one per bin of 2^h outputs.
///
/// For bin b the receiver has a punctured position α_b; afterwards the sender holds v (t·2^h
/// blocks, the GGM leaves) and the receiver holds w with w_i = v_i except w_{α_b} = v_{α_b} ⊕ Δ in
/// every bin — a COT with the regular noise vector e (one 1 per bin) as the receiver's choices.
///
/// Inputs: h earlier COTs per bin (sender q_j, receiver t_j = q_j ⊕ r_j·Δ), one per tree level.
/// Steps, per bin (trees are streamed in chunks of `chunkTrees`, so the receiver works while the
/// sender expands the next chunk):
/// 1. Both: the receiver's level-ℓ choice r_ℓ fixes α_ℓ = ¬r_ℓ (so α is uniform and secret, and no
///    message goes from receiver to sender — the choice bits of random COTs are used as they are).
/// 2. Sender: draw a fresh root, expand the GGM tree, and for every level send
///    (K^ℓ_0 ⊕ H(q_ℓ, τ_ℓ), K^ℓ_1 ⊕ H(q_ℓ ⊕ Δ, τ_ℓ)) with the tweakable correlation-robust hash H
///    (unique tweak per COT), then the leaves' low bits are cleared and it sends the correction
///    Δ ⊕ ⊕_i v_i.
/// 3. Receiver: K^ℓ_{r_ℓ} = (the r_ℓ-th pair member) ⊕ H(t_ℓ, τ_ℓ), which is K^ℓ_{¬α_ℓ};
///    rebuild every leaf but α (`GGMTree.reconstruct`), clear the low bits, and set
///    w_α = correction ⊕ ⊕_{i ≠ α} w_i = v_α ⊕ Δ.
///
/// Revealed: to the receiver the K^ℓ_{¬α_ℓ} (which only determine the off-path leaves) and the
/// correction, masked by v_α; the other pair members are masked by H(t_ℓ ⊕ Δ, τ), which needs Δ.
/// The sender receives nothing. Cost: t·(2h + 1) blocks from sender to receiver, no round trip.
///
/// Low-bit convention: Δ has its low bit set and every sender-side block (here the leaves) has its
/// low bit clear, so the receiver's low bit is its choice bit (w_α has low bit 1).
enum MultiPointCOT {
    /// Trees per streamed message.
    static let chunkTrees = 64

    /// Blocks on the wire per tree.
    static func blocksPerTree(depth: Int) -> Int { 2 * depth + 1 }

    /// Sender side of one iteration's MPCOT.
    final class Sender {
        private let channel: Channel
        private let hash: CorrelationRobustHash
        private let tag: UInt64
        private let secrets: SecretRandomness
        private var trees: [Int: GGMTree] = [:]

        init(channel: Channel, hash: CorrelationRobustHash, tag: UInt64, secrets: SecretRandomness) {
            self.channel = channel
            self.hash = hash
            self.tag = tag
            self.secrets = secrets
        }

        /// Runs steps 1–2 for `parameters.t` bins: `levelCOTs` holds t·h sender COT blocks (low bit
        /// clear), tweaks start at `tweakBase`; writes the t·2^h leaves v to `out`.
        func run(_ parameters: FerretParameters, delta: Block, levelCOTs q: UnsafePointer<Block>, tweakBase: UInt64,
                 into out: UnsafeMutablePointer<Block>) throws {
            let h = parameters.treeDepth, t = parameters.t, bin = parameters.binSize
            let tree = try tree(depth: h)
            let masks0 = UnsafeMutablePointer<Block>.allocate(capacity: t * h)
            let masks1 = UnsafeMutablePointer<Block>.allocate(capacity: t * h)
            let roots = UnsafeMutablePointer<Block>.allocate(capacity: t)
            let perTree = MultiPointCOT.blocksPerTree(depth: h)
            let message = UnsafeMutablePointer<Block>.allocate(capacity: MultiPointCOT.chunkTrees * perTree)
            let sums = UnsafeMutablePointer<Block>.allocate(capacity: 2 * h)
            defer {
                for (buffer, count) in [(masks0, t * h), (masks1, t * h), (roots, t), (sums, 2 * h)] {
                    SecureWipe.wipe(buffer, count: count)
                    buffer.deallocate()
                }
                message.deallocate()           // held only what went on the wire
            }
            // The hash pads of both members of every level's pair.
            hash.hash(q, count: t * h, tweakBase: tweakBase, tag: tag, into: masks0)
            hash.hash(q, xoring: delta, count: t * h, tweakBase: tweakBase, tag: tag, into: masks1)
            secrets.fill(UnsafeMutableRawBufferPointer(start: roots, count: t * MemoryLayout<Block>.stride))
            var first = 0
            while first < t {
                let trees = min(MultiPointCOT.chunkTrees, t - first)
                for j in 0..<trees {
                    let b = first + j
                    let leaves = out + b * bin
                    tree.expand(root: roots[b], into: leaves, sums: sums)
                    let m = message + j * perTree
                    for level in 0..<h {
                        m[2 * level] = sums[2 * level] ^ masks0[b * h + level]
                        m[2 * level + 1] = sums[2 * level + 1] ^ masks1[b * h + level]
                    }
                    m[2 * h] = delta ^ MultiPointCOT.clearLowBitsAndSum(leaves, count: bin)
                }
                try channel.send(UnsafeRawBufferPointer(start: message, count: trees * perTree * MemoryLayout<Block>.stride))
                try channel.flush()
                first += trees
            }
        }

        private func tree(depth: Int) throws -> GGMTree {
            if let tree = trees[depth] { return tree }
            let tree = try GGMTree(depth: depth)
            trees[depth] = tree
            return tree
        }
    }

    /// Receiver side of one iteration's MPCOT.
    final class Receiver {
        private let channel: Channel
        private let hash: CorrelationRobustHash
        private let tag: UInt64
        private var trees: [Int: GGMTree] = [:]

        init(channel: Channel, hash: CorrelationRobustHash, tag: UInt64) {
            self.channel = channel
            self.hash = hash
            self.tag = tag
        }

        /// Runs step 3 for `parameters.t` bins: `levelCOTs` holds t·h receiver COT blocks (the low
        /// bit is the choice), tweaks start at `tweakBase`; writes w to `out` and returns the
        /// punctured positions α_b (in-bin offsets) when `positions` is given.
        func run(_ parameters: FerretParameters, levelCOTs r: UnsafePointer<Block>, tweakBase: UInt64,
                 into out: UnsafeMutablePointer<Block>, positions: UnsafeMutablePointer<Int>? = nil) throws {
            let h = parameters.treeDepth, t = parameters.t, bin = parameters.binSize
            let tree = try tree(depth: h)
            let pads = UnsafeMutablePointer<Block>.allocate(capacity: t * h)
            let perTree = MultiPointCOT.blocksPerTree(depth: h)
            let message = UnsafeMutablePointer<Block>.allocate(capacity: MultiPointCOT.chunkTrees * perTree)
            let known = UnsafeMutablePointer<Block>.allocate(capacity: h)
            defer {
                SecureWipe.wipe(pads, count: t * h)
                SecureWipe.wipe(known, count: h)
                pads.deallocate()
                known.deallocate()
                message.deallocate()
            }
            hash.hash(r, count: t * h, tweakBase: tweakBase, tag: tag, into: pads)
            var first = 0
            while first < t {
                let trees = min(MultiPointCOT.chunkTrees, t - first)
                try channel.receive(into: UnsafeMutableRawBufferPointer(start: message, count: trees * perTree * MemoryLayout<Block>.stride))
                for j in 0..<trees {
                    let b = first + j
                    let m = message + j * perTree
                    let levels = r + b * h
                    for level in 0..<h {
                        // The member selected by the choice bit, by a mask (no branch on it).
                        let select = 0 &- (levels[level].low & 1)
                        let m0 = m[2 * level], m1 = m[2 * level + 1]
                        known[level] = Block(low: m0.low ^ ((m0.low ^ m1.low) & select),
                                             high: m0.high ^ ((m0.high ^ m1.high) & select)) ^ pads[b * h + level]
                    }
                    let leaves = out + b * bin
                    let alpha = tree.reconstruct(known: known, choice: { levels[$0].low }, into: leaves)
                    leaves[alpha] = m[2 * h] ^ MultiPointCOT.clearLowBitsAndSum(leaves, count: bin)
                    positions?[b] = alpha
                }
                first += trees
            }
        }

        private func tree(depth: Int) throws -> GGMTree {
            if let tree = trees[depth] { return tree }
            let tree = try GGMTree(depth: depth)
            trees[depth] = tree
            return tree
        }
    }

    /// Clears the low bit of `count` blocks and returns their XOR.
    @inline(__always)
    static func clearLowBitsAndSum(_ blocks: UnsafeMutablePointer<Block>, count: Int) -> Block {
        var low: UInt64 = 0, high: UInt64 = 0
        for i in 0..<count {
            let b = Block(low: blocks[i].low & ~1, high: blocks[i].high)
            blocks[i] = b
            low ^= b.low
            high ^= b.high
        }
        return Block(low: low, high: high)
    }
}

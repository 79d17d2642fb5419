import CryptoPrimitives

/// The GGM tree of one single-point COT (Ferret, after Boyle et al.): a depth-h binary tree
/// whose leaves are 2^h pseudo-random blocks, expanded from a secret root with the length-doubling
/// PRG
///
///     G(s) = (π0(s) ⊕ s, π1(s) ⊕ s)           (π0, π1: AES-128 under two public keys)
///
/// (a Davies–Meyer-style PRG in the random-permutation model: s is secret and uniform).
///
/// Who holds what: the single-point COT *sender* knows the root, so every node. For each level
/// ℓ = 1…h it computes the sums K^ℓ_0 (XOR of the left children at that level) and K^ℓ_1 (the
/// right children). The *receiver*, whose punctured leaf is α (bits α_1…α_h, most significant
/// first), learns K^ℓ_{¬α_ℓ} for every ℓ and nothing else; from them it recomputes every node
/// off the path to α, level by level: the sibling of the path at level ℓ is K^ℓ_{¬α_ℓ} XOR all
/// other level-ℓ nodes on the same side, which it already holds. It learns nothing about leaf α
/// (its only relation to what the receiver sees goes through a PRG output it cannot compute).
///
/// Cost per tree: 2^h − 1 PRG calls (2 AES blocks each), in one EVP call per level and key. The
/// four top levels make calls of under 256 bytes (FIELD-NOTES: slow per byte); they are 8 calls
/// of ~20 ns per tree of 8,192 leaves (0.02 ns per leaf), so grouping trees to batch them would
/// not show. Buffers are reused across trees; not thread-safe.
final class GGMTree {
    let depth: Int
    private let left: FixedKeyAES
    private let right: FixedKeyAES
    private let scratchLeft: UnsafeMutablePointer<Block>
    private let scratchRight: UnsafeMutablePointer<Block>
    private var half: Int { 1 << (depth - 1) }

    init(depth: Int) throws {
        precondition(depth >= 1 && depth <= 20)
        self.depth = depth
        // Public 16-byte keys naming the two halves of G.
        left = try FixedKeyAES(key: Array("SV/Ferret/GGM/L0".utf8))
        right = try FixedKeyAES(key: Array("SV/Ferret/GGM/R1".utf8))
        scratchLeft = .allocate(capacity: 1 << (depth - 1))
        scratchRight = .allocate(capacity: 1 << (depth - 1))
    }

    deinit {
        SecureWipe.wipe(scratchLeft, count: half)
        SecureWipe.wipe(scratchRight, count: half)
        scratchLeft.deallocate()
        scratchRight.deallocate()
    }

    /// Expands the `count` nodes at `nodes[0..<count]` into their 2·count children, in place
    /// (child 2i and 2i + 1 of node i), and returns the XOR of the left and of the right children.
    @inline(__always)
    private func expandLevel(_ nodes: UnsafeMutablePointer<Block>, count: Int) -> (even: Block, odd: Block) {
        left.encrypt(nodes, scratchLeft, count: count)
        right.encrypt(nodes, scratchRight, count: count)
        var even = Block.zero, odd = Block.zero
        // Descending, so that children (at 2i, 2i + 1 ≥ i) only overwrite parents already read.
        var i = count &- 1
        while i >= 0 {
            let s = nodes[i]
            let a = scratchLeft[i] ^ s, b = scratchRight[i] ^ s
            nodes[2 &* i] = a
            nodes[2 &* i &+ 1] = b
            even ^= a
            odd ^= b
            i &-= 1
        }
        return (even, odd)
    }

    /// Sender. Steps: (1) expand `root` level by level into the 2^depth leaves at `leaves`;
    /// (2) record K^ℓ_0, K^ℓ_1 at `sums[2(ℓ − 1)]`, `sums[2(ℓ − 1) + 1]` for ℓ = 1…depth.
    func expand(root: Block, into leaves: UnsafeMutablePointer<Block>, sums: UnsafeMutablePointer<Block>) {
        leaves[0] = root
        for level in 0..<depth {
            let (even, odd) = expandLevel(leaves, count: 1 << level)
            sums[2 &* level] = even
            sums[2 &* level &+ 1] = odd
        }
    }

    /// Receiver. `known[ℓ − 1]` = K^ℓ_{c_ℓ} and `choice(ℓ − 1)` = c_ℓ = ¬α_ℓ for ℓ = 1…depth.
    /// Steps per level: (1) expand every node held (the path node, unknown, is held as zero and
    /// expands to garbage); (2) the off-path child 2p + c_ℓ of the path node p becomes K^ℓ_{c_ℓ}
    /// XOR the other children on side c_ℓ (computed as: its garbage XOR K XOR the side's whole
    /// sum); (3) the path child 2p + α_ℓ is set to zero. Returns α; leaf α is zero.
    func reconstruct(known: UnsafePointer<Block>, choice: (Int) -> UInt64, into leaves: UnsafeMutablePointer<Block>) -> Int {
        leaves[0] = .zero
        var path = 0
        for level in 0..<depth {
            let (even, odd) = expandLevel(leaves, count: 1 << level)
            let c = choice(level) & 1
            let select = 0 &- c
            let sideSum = Block(low: even.low ^ ((even.low ^ odd.low) & select), high: even.high ^ ((even.high ^ odd.high) & select))
            let offPath = 2 &* path &+ Int(c)
            leaves[offPath] ^= known[level] ^ sideSum
            path = 2 &* path &+ Int(c ^ 1)
            leaves[path] = .zero
        }
        return path
    }
}

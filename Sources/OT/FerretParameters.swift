/// One Ferret iteration's primal-LPN parameters with regular noise: n outputs, an LPN secret of k
/// base COTs, t noise positions, one per bin of 2^`treeDepth` consecutive outputs (n = t·2^depth).
///
/// The iteration consumes `reserve` = k + t·depth earlier COTs (k for the LPN secret u, depth per
/// GGM tree for its levels) and produces n new ones; the LPN matrix has d = `rowWeight` non-zero
/// entries per row (a local linear code).
///
/// Security: 128-bit computational against the known attacks on LPN with regular noise and a
/// local code, as analysed in the Ferret paper (Yang, Weng, Lan, Zhang, Wang, CCS 2020), and only
/// for the sets below (or sets checked against that analysis). The `insecureTest…` sets
/// exist to exercise several iterations in a unit test and must never protect data.
package struct FerretParameters: Sendable, Equatable, CustomStringConvertible {
    package let name: String
    /// Outputs per iteration.
    package let n: Int
    /// LPN dimension (base COTs forming the secret).
    package let k: Int
    /// Noise weight: GGM trees (bins) per iteration.
    package let t: Int
    /// log2 of the bin size: the tree depth, and the COTs each tree consumes.
    package let treeDepth: Int
    /// Non-zero entries per row of the LPN matrix (Ferret's local linear code, d = 10).
    let rowWeight = 10

    /// Earlier COTs one iteration consumes.
    package var reserve: Int { k + t * treeDepth }
    /// Leaves per tree.
    var binSize: Int { 1 << treeDepth }

    package var description: String { "\(name) (n = \(n), k = \(k), t = \(t), bins of 2^\(treeDepth))" }

    init(name: String, n: Int, k: Int, t: Int, treeDepth: Int) {
        precondition((1...20).contains(treeDepth) && t > 0 && k > 0 && n == t << treeDepth,
                     "Ferret parameters \(name): n must be t·2^depth")
        precondition(k <= Int(UInt32.max), "LPN dimension beyond 32-bit indices")
        self.name = name
        self.n = n
        self.k = k
        self.t = t
        self.treeDepth = treeDepth
    }

    /// The main iteration for 128-bit security with regular noise: n = 10,608,640, k = 589,824,
    /// t = 1,295, bins of 2^13. Source: the Ferret authors' implementation, emp-ot
    /// (`emp-ot/ferret/constants.h`: N_REG, K_REG, T_REG, BIN_SZ_REG; the `REGULAR` descriptor of
    /// `ferret_cot.h`), which instantiates the paper's regular-noise LPN table for 128-bit
    /// security (Ferret, CCS 2020: parameters chosen against the attacks listed above), with n
    /// rounded to t·2^13. The paper's own table row was not available to check here; the figures
    /// are emp-ot's. (emp-ot's descriptor also reserves a few COTs for its malicious-security
    /// consistency check; this semi-honest generator has none.) An iteration consumes 606,659 COTs and returns 10,001,981 (about 17.5 outputs
    /// per input); its communication is t·(2·13 + 1) blocks = 559,440 bytes, 0.45 bits per output.
    package static let main = FerretParameters(name: "Ferret regular-noise main", n: 10_608_640, k: 589_824, t: 1_295, treeDepth: 13)

    /// The bootstrapping iteration, run once per generator on COTs from IKNP: n = 649,728,
    /// k = 36,288, t = 1,269, bins of 2^9. Source as for `main`: emp-ot's N_PRE_REG, K_PRE_REG,
    /// T_PRE_REG, BIN_SZ_PRE_REG (the `PRE` descriptor), the smaller regular-noise row for 128-bit
    /// security. It consumes 47,709 IKNP COTs and yields 649,728 ≥ `main.reserve`, enough to
    /// start the main iterations (the rest is handed out).
    static let bootstrap = FerretParameters(name: "Ferret regular-noise bootstrap", n: 649_728, k: 36_288, t: 1_269, treeDepth: 9)

    /// - Warning: insecure (tiny LPN instance). Tests only: several iterations in milliseconds.
    static let insecureTestMain = FerretParameters(name: "insecure test main", n: 4_096, k: 512, t: 16, treeDepth: 8)
    /// - Warning: insecure. Tests only: bootstraps `insecureTestMain` (1,024 ≥ 640).
    static let insecureTestBootstrap = FerretParameters(name: "insecure test bootstrap", n: 1_024, k: 128, t: 8, treeDepth: 7)
}

/// The two parameter sets a Ferret generator runs: one bootstrapping iteration from IKNP COTs,
/// then main iterations, each feeding the next from its own output.
package struct FerretSchedule: Sendable, Equatable {
    package let bootstrap: FerretParameters
    package let main: FerretParameters

    /// The 128-bit sets (emp-ot's REGULAR and PRE).
    package static let standard = FerretSchedule(bootstrap: .bootstrap, main: .main)
    /// - Warning: insecure. Tests only.
    package static let insecureTest = FerretSchedule(bootstrap: .insecureTestBootstrap, main: .insecureTestMain)

    /// Checks that the chain closes: the bootstrap feeds a main iteration, and a main iteration
    /// feeds the next one and has something left over.
    init(bootstrap: FerretParameters, main: FerretParameters) {
        precondition(bootstrap.n >= main.reserve && main.n > main.reserve,
                     "Ferret schedule: \(bootstrap) cannot start \(main), or \(main) cannot sustain itself")
        self.bootstrap = bootstrap
        self.main = main
    }

    /// COTs each main iteration hands out.
    package var outputPerIteration: Int { main.n - main.reserve }
    /// COTs the bootstrap takes from IKNP.
    var baseCOTs: Int { bootstrap.reserve }
}

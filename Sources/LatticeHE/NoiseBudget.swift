import Foundation
/// What the vendor will do to one client ciphertext before returning it: accumulate products with
/// plaintext multipliers, add or subtract plaintexts (masks), optionally re-randomise and flood,
/// and optionally switch modulus down.
public struct LinearWorkload: Sendable, Equatable {
    /// A bound on Σ_k ‖w_k‖₁ over the multipliers whose products are summed into one output
    /// ciphertext (signed lifts). 1 for a ciphertext returned without products.
    public var totalL1Norm: Double
    /// Plaintext additions or subtractions after the products (each adds at most 1/2).
    public var plaintextAdditions: Int
    /// Re-randomise and flood before returning (the vendor must, for circuit privacy).
    public var flooding: Bool
    /// κ: flooding noise is at least 2^κ times the largest product noise.
    public var statisticalBits: Int
    /// Number of primes left after modulus switching (nil: no switching).
    public var returnLimbs: Int?

    /// From an ℓ1-norm bound.
    public init(totalL1Norm: Double, plaintextAdditions: Int = 1, flooding: Bool = true,
                statisticalBits: Int = 40, returnLimbs: Int? = nil) {
        self.totalL1Norm = max(totalL1Norm, 1)
        self.plaintextAdditions = plaintextAdditions
        self.flooding = flooding
        self.statisticalBits = statisticalBits
        self.returnLimbs = returnLimbs
    }

    /// From ‖w‖∞ × nonzero terms per multiplier × number of accumulated products.
    public init(maximumMagnitude: UInt64, nonzeroTerms: Int, accumulatedProducts: Int,
                plaintextAdditions: Int = 1, flooding: Bool = true, statisticalBits: Int = 40,
                returnLimbs: Int? = nil) {
        self.init(totalL1Norm: Double(maximumMagnitude) * Double(nonzeroTerms) * Double(accumulatedProducts),
                  plaintextAdditions: plaintextAdditions, flooding: flooding,
                  statisticalBits: statisticalBits, returnLimbs: returnLimbs)
    }
}

/// The worst-case noise of a workload, stage by stage, as log2 of absolute bounds on the
/// infinity norm of the noise (decryption is correct while noise < q/(2t)).
public struct NoiseReport: Sendable, Equatable, CustomStringConvertible {
    /// log2 of the product-dependent noise Σ‖w_k‖₁·(η + 1/2) + additions/2.
    public var productNoiseBits: Double
    /// Width b of the flooding noise, uniform in [−2^b, 2^b) (0 when not flooding).
    public var floodingBits: Int
    /// log2 of the total noise at the full modulus (products, re-randomisation, flooding).
    public var totalNoiseBits: Double
    /// log2(q/(2t)) at the full modulus.
    public var limitBits: Double
    /// log2 of the noise after switching, and log2(q'/(2t)) (equal to the above when not switching).
    public var switchedNoiseBits: Double
    public var switchedLimitBits: Double

    /// Bits of headroom left at the full modulus and after switching (both must be positive).
    public var margin: Double { limitBits - totalNoiseBits }
    public var switchedMargin: Double { switchedLimitBits - switchedNoiseBits }

    public var description: String {
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        return "product noise 2^\(f(productNoiseBits)), flooding 2^\(floodingBits), total 2^\(f(totalNoiseBits)) < 2^\(f(limitBits)) (margin \(f(margin)) bits); after switching 2^\(f(switchedNoiseBits)) < 2^\(f(switchedLimitBits)) (margin \(f(switchedMargin)) bits)"
    }
}

/// The noise-budget check: refuses parameters under which a declared workload could decrypt wrongly.
///
/// Worst case, not high probability — every bound below holds with certainty:
/// - errors are centred binomial with η = 21, so |e| ≤ 21; secrets s and u are ternary, ‖s‖₁ ≤ N;
/// - a fresh ciphertext has noise e + ε with |ε| ≤ 1/2 from the encoding ⌊q·m/t⌉: B₀ = 21.5;
/// - Σ w_k·ct_k has noise Σ w_k·(e_k + ε_k): at most Σ‖w_k‖₁·B₀ (negacyclic products);
///   each plaintext addition adds at most 1/2: B_prod = Σ‖w_k‖₁·B₀ + A/2;
/// - re-randomisation by Enc_pk(0) adds u·e_pk + e0 + e1·s: at most B_rr = (2N + 1)·21;
/// - flooding adds at most 2^b with b = ⌈log2(B_prod + B_rr) + κ⌉: it hides every noise term the
///   vendor added before it, the re-randomisation's included, within 2^−κ per coefficient;
/// - switching from q to q' (dropping d primes) maps noise B to at most B·q'/q + d·(N + 1)/2.
/// Decryption is exact while the total stays below q/(2t), at full and at the reduced modulus.
public enum NoiseBudget {
    /// The centred-binomial bound plus the encoding rounding: B₀.
    public static let freshNoiseBound = Double(Sampling.binomialEta) + 0.5

    /// Computes the report and throws `noiseBudgetExceeded` if any stage could fail.
    public static func check(_ parameters: HEParameters, _ workload: LinearWorkload) throws(HEError) -> NoiseReport {
        let report = try analyse(parameters, workload)
        guard report.margin > 0 else {
            throw .noiseBudgetExceeded(stage: "at the full \(parameters.modulusBits)-bit modulus", noiseBits: report.totalNoiseBits, limitBits: report.limitBits)
        }
        guard report.switchedMargin > 0 else {
            throw .noiseBudgetExceeded(stage: "after switching to \(workload.returnLimbs ?? parameters.limbCount) prime(s)", noiseBits: report.switchedNoiseBits, limitBits: report.switchedLimitBits)
        }
        return report
    }

    /// The report without the verdict.
    public static func analyse(_ parameters: HEParameters, _ workload: LinearWorkload) throws(HEError) -> NoiseReport {
        let n = Double(parameters.degree)
        let eta = Double(Sampling.binomialEta)
        let ell = Double(parameters.plaintextBits)
        let product = workload.totalL1Norm * freshNoiseBound + Double(workload.plaintextAdditions) * 0.5
        let productBits = log2(product)
        var total = product
        var floodingBits = 0
        if workload.flooding {
            let rerandomisation = (2 * n + 1) * eta
            floodingBits = Int((log2(product + rerandomisation) + Double(workload.statisticalBits)).rounded(.up))
            total += rerandomisation + exp2(Double(floodingBits))
        }
        let topLog2 = parameters.log2Modulus(limbs: parameters.limbCount)
        let limit = topLog2 - ell - 1
        let totalBits = log2(total)
        var switchedBits = totalBits
        var switchedLimit = limit
        if let limbs = workload.returnLimbs, limbs != parameters.limbCount {
            guard (1...parameters.limbCount).contains(limbs) else {
                throw .invalidLevel(requested: limbs, available: 1...parameters.limbCount)
            }
            let lowLog2 = parameters.log2Modulus(limbs: limbs)
            let dropped = Double(parameters.limbCount - limbs)
            switchedBits = log2(exp2(totalBits + lowLog2 - topLog2) + dropped * (n + 1) / 2)
            switchedLimit = lowLog2 - ell - 1
        }
        return NoiseReport(productNoiseBits: productBits, floodingBits: floodingBits, totalNoiseBits: totalBits,
                           limitBits: limit, switchedNoiseBits: switchedBits, switchedLimitBits: switchedLimit)
    }

    /// The most low bits a one-prime result can leave off the wire (`LowBitDrop`) while the
    /// decryption stays exact in the worst case: the headroom q'/(2t) − (switched noise) is split
    /// in two halves, c0's rounding (at most 2^(k0−1)) within one and c1·s's (at most N·2^(k1−1))
    /// within the other. None when the result keeps more than one prime.
    public static func droppableBits(_ parameters: HEParameters, _ report: NoiseReport, returnLimbs: Int) -> LowBitDrop {
        guard returnLimbs == 1 else { return .none }
        let headroom = exp2(report.switchedLimitBits) - exp2(report.switchedNoiseBits)
        guard headroom > 4 else { return .none }
        let half = headroom / 2 * (1 - 0x1p-20)
        let width = parameters.context(limbs: 1).moduli[0].bitWidth
        let k0 = max(0, min(width - 1, Int(log2(half).rounded(.down)) + 1))
        let k1 = max(0, min(width - 1, Int((log2(half) - log2(Double(parameters.degree))).rounded(.down)) + 1))
        return LowBitDrop(c0: k0, c1: k1)
    }
}

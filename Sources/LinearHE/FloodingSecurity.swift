import Foundation

/// How wide the vendor's flooding noise must be for a whole session to keep ≥ 40-bit statistical
/// security (DESIGN.md: semi-honest, ≥ 40-bit statistical security).
///
/// Each returned coefficient's flooding hides the weight-dependent noise within statistical
/// distance 2^−κ (`NoiseBudget`); over a session that returns C coefficients the distances add up
/// (union bound), so κ = σ + ⌈log2 C⌉ with σ = 40 keeps the whole session within 2^−40. C is
/// public: the number of images times the output values the linear layers return per image
/// (Cheetah returns exactly the coefficients the hospital needs, one per output value).
///
/// A session is limited to `maximumCoefficients` returned coefficients (2^60: κ ≤ 100), far above
/// any real test set (DenseNet-121 returns about 2^23.3 per image, so 2^36 images); the HE
/// parameters are checked to decrypt correctly at that κ for every layer of the benchmark models.
public enum FloodingSecurity {
    /// σ: statistical security of a whole session, in bits.
    public static let sessionBits = 40
    /// The most coefficients one session may return.
    public static let maximumCoefficients: Double = 0x1p60

    /// κ per returned coefficient for a session of `images` images whose linear layers return
    /// `coefficientsPerImage` values per image, or nil beyond `maximumCoefficients`.
    public static func statisticalBits(images: Int, coefficientsPerImage: Int) -> Int? {
        let total = Double(max(images, 1)) * Double(max(coefficientsPerImage, 1))
        guard total <= maximumCoefficients else { return nil }
        return sessionBits + Int(log2(total).rounded(.up))
    }

    /// κ at the largest session allowed: what the parameter check must survive.
    public static var largestStatisticalBits: Int { sessionBits + Int(log2(maximumCoefficients)) }
}

/// How a ratio in [0, 1] computed inside the secure computation (an AUROC, a sensitivity) is
/// opened: as ⌊2^20 · numerator / denominator⌋, i.e. rounded down to a multiple of 2^−20
/// (≈ 9.5·10^−7). Both the secure metric stage and the plaintext reference (`validate-inspect
/// eval`'s fixed-point column) use this one definition, so their values agree bit for bit.
///
/// A zero denominator (a finding without positives or without negatives) has no value; the secure
/// division then yields 2^21 − 1, above every valid quotient, and that is what is opened.
public enum OpenedRatio {
    /// Fractional bits of an opened ratio.
    public static let fractionBits = 20

    /// The quotient ⌊2^fractionBits · numerator / denominator⌋; nil when the denominator is 0.
    /// Requires 0 ≤ numerator ≤ denominator < 2^42.
    public static func quotient(numerator: Int, denominator: Int) -> Int? {
        precondition(numerator >= 0 && numerator <= max(denominator, 0) || denominator == 0)
        guard denominator > 0 else { return nil }
        return (numerator << fractionBits) / denominator
    }

    /// The value a quotient stands for (nil for a quotient above 2^fractionBits: no value).
    public static func value(quotient: Int) -> Double? {
        guard quotient >= 0, quotient <= 1 << fractionBits else { return nil }
        return Double(quotient) / Double(1 << fractionBits)
    }

    /// ⌊2^20 · numerator / denominator⌋ / 2^20, nil when the denominator is 0.
    public static func value(numerator: Int, denominator: Int) -> Double? {
        quotient(numerator: numerator, denominator: denominator).flatMap(value(quotient:))
    }
}

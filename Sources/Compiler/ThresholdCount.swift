import Foundation

/// The count a threshold metric compares with: the smallest number of correct images c such that
/// c / N ≥ τ, i.e. ⌈τ·N⌉, computed exactly.
///
/// τ is the decimal number its shortest round-trip representation names — what the hospital typed
/// (`--reveal threshold:0.55` is 55/100, not the binary double 0.55000000000000004…), so both
/// parties derive the same public count from the request, and τ = 0.55, N = 100 needs 55 correct,
/// not the 56 that floating point gives. Public: both parties know τ and N.
public enum ThresholdCount {
    /// ⌈τ·N⌉ for τ in [0, 1] and N ≥ 0, in exact decimal arithmetic.
    public static func needed(threshold: Double, images: Int) -> Int64 {
        precondition((0...1).contains(threshold) && images >= 0, "threshold in [0, 1] and a non-negative count")
        // Swift prints a Double as the shortest decimal that reads back as the same Double.
        var tau = Decimal(string: "\(threshold)", locale: Locale(identifier: "en_US_POSIX")) ?? Decimal(threshold)
        var product = Decimal()
        var count = Decimal(images)
        _ = NSDecimalMultiply(&product, &tau, &count, .plain)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &product, 0, .up)
        return NSDecimalNumber(decimal: rounded).int64Value
    }
}

/// Separable resampling with Pillow's definitions (`Image.resize` on a 32-bit float image,
/// `libImaging/Resample.c`): for an output pixel x the input centre is (x + ½)·in/out; when
/// shrinking, the filter is stretched by in/out (antialiasing); weights are normalised to sum 1;
/// rows first, then columns, each pass in double precision, stored as Float between passes.
/// torchvision's `Resize` on PIL images uses the same code, which is why vendors' training
/// pipelines do too.
enum Resampling {
    /// The filter's value at `x` and its support (Pillow's `bilinear_filter`, `box_filter`,
    /// `bicubic_filter` with a = −0.5).
    static func kernel(_ filter: Preprocessing.Filter) -> (support: Double, weight: (Double) -> Double) {
        switch filter {
        case .bilinear:
            return (1, { x in let a = abs(x); return a < 1 ? 1 - a : 0 })
        case .area:
            return (0.5, { x in (x > -0.5 && x <= 0.5) ? 1 : 0 })
        case .bicubic:
            return (2, { x in
                let a = -0.5, t = abs(x)
                if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
                if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
                return 0
            })
        }
    }

    /// For each output position: the first input index and the normalised weights.
    static func coefficients(input: Int, output: Int, filter: Preprocessing.Filter) -> [(start: Int, weights: [Double])] {
        let (support, weight) = kernel(filter)
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let reach = support * filterScale
        let inverse = 1 / filterScale
        return (0..<output).map { x in
            let center = (Double(x) + 0.5) * scale
            // Pillow truncates towards zero here (a C cast), then clamps.
            let lo = max(Int(center - reach + 0.5), 0)
            let hi = min(Int(center + reach + 0.5), input)
            var weights = (lo..<hi).map { weight((Double($0) - center + 0.5) * inverse) }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            return (lo, weights)
        }
    }

    /// Resizes `planes` (each `height × width`, row-major) to `newHeight × newWidth`.
    static func resize(_ plane: [Float], height: Int, width: Int, newHeight: Int, newWidth: Int,
                       filter: Preprocessing.Filter) -> [Float] {
        var current = plane
        var w = width
        if newWidth != width {
            let coefficients = coefficients(input: width, output: newWidth, filter: filter)
            var out = [Float](repeating: 0, count: height * newWidth)
            current.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<height {
                        let row = y * width
                        for (x, c) in coefficients.enumerated() {
                            var sum = 0.0
                            for (k, weight) in c.weights.enumerated() { sum += Double(src[row + c.start + k]) * weight }
                            dst[y * newWidth + x] = Float(sum)
                        }
                    }
                }
            }
            current = out
            w = newWidth
        }
        if newHeight != height {
            let coefficients = coefficients(input: height, output: newHeight, filter: filter)
            var out = [Float](repeating: 0, count: newHeight * w)
            current.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for (y, c) in coefficients.enumerated() {
                        for x in 0..<w {
                            var sum = 0.0
                            for (k, weight) in c.weights.enumerated() { sum += Double(src[(c.start + k) * w + x]) * weight }
                            dst[y * w + x] = Float(sum)
                        }
                    }
                }
            }
            current = out
        }
        return current
    }
}

/// Shape arithmetic shared by the IR, the importer, the executors and the secure engine. Shapes are `[Int]`, row-major.
public enum Shape {
    /// Product of the dimensions (1 for a scalar).
    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// The largest element count of one tensor that import and shape inference accept (2^31):
    /// activations (batch included) and every dim, pad, stride and window size. With every factor
    /// at most this, no product or sum that shape arithmetic forms can overflow `Int`, whatever
    /// the model file says.
    public static let maximumElementCount = 1 << 31

    /// True when every dim is non-negative and the product of the non-zero dims is at most `limit`,
    /// computed without overflow: then the element count of the shape and of any part of it is at
    /// most `limit` (even a shape with a zero dim cannot hide an overflowing product).
    public static func isWithinLimit(_ shape: [Int], limit: Int = maximumElementCount) -> Bool {
        var product = 1
        for dim in shape where dim != 0 {
            guard dim > 0 else { return false }
            let (next, overflow) = product.multipliedReportingOverflow(by: dim)
            guard !overflow, next <= limit else { return false }
            product = next
        }
        return true
    }

    /// Row-major strides of a shape.
    public static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Numpy-style broadcast of two shapes, or nil when they are incompatible.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { result[i] = da } else if da == 1 { result[i] = db } else { return nil }
        }
        return result
    }

    /// For each element of `target` (row-major), the index of the element of a tensor of shape
    /// `source` that broadcasts onto it. `source` must broadcast to `target`.
    public static func broadcastIndices(from source: [Int], to target: [Int]) -> [Int] {
        let rank = target.count
        let padded = [Int](repeating: 1, count: rank - source.count) + source
        let sourceStrides = strides(padded)
        let count = elementCount(target)
        var indices = [Int](repeating: 0, count: count)
        if count == 0 { return indices }
        var coordinate = [Int](repeating: 0, count: rank)
        for flat in 0..<count {
            var index = 0
            for axis in 0..<rank where padded[axis] != 1 { index += coordinate[axis] * sourceStrides[axis] }
            indices[flat] = index
            Shape.advance(&coordinate, within: target)
        }
        return indices
    }

    /// Steps a row-major `coordinate` to the next position within `shape` (the last axis fastest;
    /// after the last position it wraps to all zeros).
    public static func advance(_ coordinate: inout [Int], within shape: [Int]) {
        var axis = shape.count - 1
        while axis >= 0 {
            coordinate[axis] += 1
            if coordinate[axis] < shape[axis] { return }
            coordinate[axis] = 0
            axis -= 1
        }
    }

    /// Human form, e.g. `[1, 8, 8]`.
    public static func describe(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}

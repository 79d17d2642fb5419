/// Index tables that depend only on the public architecture (never on values): shared by the
/// plaintext executors and the secure engine, so both read exactly the same window elements.

/// For every output position of a 2-D pooling window over one [H, W] plane, the in-image input
/// offsets it covers, and the divisor an average pool uses. Padded positions are never read (a max
/// pool ignores them; an average pool counts them only with `count_include_pad`).
public struct PoolingWindows: Sendable, Equatable {
    public var outputHeight: Int
    public var outputWidth: Int
    /// `starts[o] ..< starts[o + 1]` indexes `offsets` for output position o (row-major oy, ox).
    public var starts: [Int]
    public var offsets: [Int]
    public var divisors: [Int]

    /// The in-plane offsets of output position o.
    public func window(_ o: Int) -> ArraySlice<Int> { offsets[starts[o]..<starts[o + 1]] }
}

extension Pooling {
    /// The windows of this pooling over an H × W plane.
    public func windows(height: Int, width: Int, countIncludePad: Bool) -> PoolingWindows {
        let pool = self
        let outH = pool.outputLength(axis: 0, input: height)
        let outW = pool.outputLength(axis: 1, input: width)
        var starts = [0], offsets: [Int] = [], divisors: [Int] = []
        for oy in 0..<outH {
            for ox in 0..<outW {
                var padded = 0
                for ky in 0..<pool.kernel[0] {
                    let y = oy * pool.strides[0] - pool.pads[0] + ky * pool.dilations[0]
                    for kx in 0..<pool.kernel[1] {
                        let x = ox * pool.strides[1] - pool.pads[1] + kx * pool.dilations[1]
                        // Positions inside the explicitly padded extent count for count_include_pad.
                        if y >= -pool.pads[0], y < height + pool.pads[2], x >= -pool.pads[1], x < width + pool.pads[3] { padded += 1 }
                        if y >= 0, y < height, x >= 0, x < width { offsets.append(y * width + x) }
                    }
                }
                let inside = offsets.count - starts.last!
                starts.append(offsets.count)
                divisors.append(max(countIncludePad ? padded : inside, 1))
            }
        }
        return PoolingWindows(outputHeight: outH, outputWidth: outW, starts: starts, offsets: offsets, divisors: divisors)
    }
}

extension Shape {
    /// For each output element of a transpose (per example), the input offset.
    public static func transposeSources(shape: [Int], permutation: [Int]) -> [Int] {
        let outShape = permutation.map { shape[$0] }
        let inStrides = Shape.strides(shape)
        let permutedStrides = permutation.map { inStrides[$0] }
        return broadcastIndicesStrided(shape: outShape, strides: permutedStrides)
    }

    /// For each output element of a constant pad (per example), the input offset or −1 for padding.
    public static func padSources(shape: [Int], pads: [Int]) -> [Int] {
        let rank = shape.count
        let outShape = shape.indices.map { shape[$0] + pads[$0] + pads[$0 + rank] }
        let inStrides = Shape.strides(shape)
        var sources: [Int] = []
        sources.reserveCapacity(Shape.elementCount(outShape))
        var coordinate = [Int](repeating: 0, count: rank)
        for _ in 0..<Shape.elementCount(outShape) {
            var offset = 0
            var inside = true
            for axis in 0..<rank {
                let c = coordinate[axis] - pads[axis]
                if c < 0 || c >= shape[axis] { inside = false; break }
                offset += c * inStrides[axis]
            }
            sources.append(inside ? offset : -1)
            Shape.advance(&coordinate, within: outShape)
        }
        return sources
    }

    /// For each element of `shape` (row-major), the offset Σ coordinate[axis] · strides[axis].
    public static func broadcastIndicesStrided(shape: [Int], strides: [Int]) -> [Int] {
        let rank = shape.count
        let count = elementCount(shape)
        var result = [Int](repeating: 0, count: count)
        var coordinate = [Int](repeating: 0, count: rank)
        var offset = 0
        for flat in 0..<count {
            result[flat] = offset
            var axis = rank - 1
            while axis >= 0 {
                coordinate[axis] += 1
                offset += strides[axis]
                if coordinate[axis] < shape[axis] { break }
                offset -= strides[axis] * coordinate[axis]
                coordinate[axis] = 0
                axis -= 1
            }
        }
        return result
    }
}

import IR

/// Data movement shared by the float and fixed-point executors (index tables live in IR:
/// `PoolingWindows`, `Shape.transposeSources`, `Shape.padSources`).
enum Kernels {
    /// Copies per-example concat inputs into the output: for every example, for every outer index,
    /// the input blocks one after another.
    static func concat<T>(_ parts: [[T]], shapes: [[Int]], axis: Int, batch: Int, into output: inout [T]) {
        let outer = Shape.elementCount(Array(shapes[0][..<axis]))
        let blocks = shapes.map { Shape.elementCount(Array($0[axis...])) }
        let perExample = blocks.reduce(0, +) * outer
        var position = 0
        for b in 0..<batch {
            for o in 0..<outer {
                for (p, part) in parts.enumerated() {
                    let block = blocks[p]
                    let start = (b * outer + o) * block
                    output.withUnsafeMutableBufferPointer { out in
                        part.withUnsafeBufferPointer { src in
                            for i in 0..<block { out[position + i] = src[start + i] }
                        }
                    }
                    position += block
                }
            }
        }
        precondition(position == perExample * batch)
    }
}


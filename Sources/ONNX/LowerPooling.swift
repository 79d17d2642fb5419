import IR

/// MaxPool, AveragePool and GlobalAveragePool over [N, C, H, W].
let poolingLowerings: [String: OpLowering] = [
    "MaxPool": OpLowering(attributes: ["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"]) { state, node in
        let (x, pool) = try pooling(node)
        try emitPool(&state, node, x, .maxPool(pool))
    },
    "AveragePool": OpLowering(attributes: ["auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"]) { state, node in
        let (x, pool) = try pooling(node)
        let includePad = try node.int("count_include_pad", default: 0) != 0
        try emitPool(&state, node, x, .averagePool(pool, countIncludePad: includePad))
    },
    "GlobalAveragePool": OpLowering(attributes: []) { state, node in
        let x = try node.activation(0)
        guard x.shape.count >= 3 else { throw node.shapeMismatch("input must be [N, C, spatial...], got \(Shape.describe(x.shape))") }
        state.emit(node.name, .globalAveragePool, inputs: [x.name], output: node.output,
                   fullShape: Array(x.shape[..<2]) + [Int](repeating: 1, count: x.shape.count - 2))
    },
]

private func pooling(_ node: NodeContext) throws -> ((name: String, shape: [Int]), Pooling) {
    let x = try node.activation(0)
    guard x.shape.count == 4 else { throw Unsupported(reason: "only 2-D pooling on [N, C, H, W] inputs is supported, input has shape \(Shape.describe(x.shape))") }
    guard let kernel = try node.ints("kernel_shape") else { throw node.invalidAttribute("kernel_shape", "is required") }
    guard kernel.count == 2, kernel.allSatisfy({ $0 >= 1 && $0 <= Shape.maximumElementCount }) else {
        throw node.invalidAttribute("kernel_shape", "must be two integers in 1...\(Shape.maximumElementCount), got \(kernel)")
    }
    let ceilMode = try node.int("ceil_mode", default: 0) != 0
    let geometry = try node.windowGeometry(kernel: kernel, inputSize: Array(x.shape[2...]), pooling: true)
    return (x, Pooling(kernel: kernel, strides: geometry.strides, dilations: geometry.dilations, pads: geometry.pads, ceilMode: ceilMode))
}

private func emitPool(_ state: inout ImportState, _ node: NodeContext, _ x: (name: String, shape: [Int]), _ operation: Operation) throws {
    let out: [Int]
    do {
        out = try operation.outputShape(inputs: [Array(x.shape.dropFirst())], node: node.name)
    } catch {
        throw node.shapeMismatch(error.description)
    }
    state.emit(node.name, operation, inputs: [x.name], output: node.output, fullShape: [x.shape[0]] + out)
}

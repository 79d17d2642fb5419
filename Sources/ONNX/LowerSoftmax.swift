import IR

/// Softmax, LogSoftmax and Sigmoid: accepted as the final op (argmax-invariant, dropped from the secure
/// program); `ONNXImporter.checkSoftmaxIsFinal` rejects them anywhere else.
let softmaxLowerings: [String: OpLowering] = [
    "Softmax": OpLowering(attributes: ["axis"]) { state, node in try lowerSoftmax(&state, node, log: false) },
    "LogSoftmax": OpLowering(attributes: ["axis"]) { state, node in try lowerSoftmax(&state, node, log: true) },
    // A multi-label model's final Sigmoid: monotone per score, dropped like a final Softmax.
    "Sigmoid": OpLowering(attributes: []) { state, node in
        let x = try node.activation(0)
        state.emit(node.name, .sigmoid, inputs: [x.name], output: node.output, fullShape: x.shape)
    },
]

private func lowerSoftmax(_ state: inout ImportState, _ node: NodeContext, log: Bool) throws {
    let x = try node.activation(0)
    let coerced = node.opset < 13
    let axis = try node.axis(try node.int("axis", default: coerced ? 1 : -1), rank: x.shape.count)
    guard axis > 0 else {
        throw Unsupported(reason: "a \(node.node.opType) over the batch axis is not supported")
    }
    let operation: Operation = log ? .logSoftmax(axis: axis - 1, coerced: coerced) : .softmax(axis: axis - 1, coerced: coerced)
    state.emit(node.name, operation, inputs: [x.name], output: node.output, fullShape: x.shape)
}

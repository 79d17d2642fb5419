@_exported import TensorLayout

extension Shape {
    /// Expands a tensor to `target` by broadcasting.
    public static func broadcast(_ tensor: Tensor, to target: [Int]) -> Tensor {
        if tensor.shape == target { return tensor }
        let indices = broadcastIndices(from: tensor.shape, to: target)
        return Tensor(shape: target, values: indices.map { tensor.values[$0] })
    }
}

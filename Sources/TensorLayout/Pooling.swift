/// Geometry of a 2-D pooling window over [C, H, W]. `pads` = [top, left, bottom, right].
/// With `ceilMode` the output size rounds up; windows that start inside the padded input but run past
/// it simply see fewer elements.
public struct Pooling: Sendable, Equatable, Codable {
    public var kernel: [Int]
    public var strides: [Int]
    public var dilations: [Int]
    public var pads: [Int]
    public var ceilMode: Bool

    public init(kernel: [Int], strides: [Int], dilations: [Int], pads: [Int], ceilMode: Bool) {
        self.kernel = kernel
        self.strides = strides
        self.dilations = dilations
        self.pads = pads
        self.ceilMode = ceilMode
    }

    /// Output length along one spatial axis (0 = H, 1 = W) for an input length, following ONNX:
    /// floor or ceil of (in + pads − dilation·(k−1) − 1)/stride + 1, where with ceil mode the last
    /// window must start inside the input or the begin padding.
    public func outputLength(axis: Int, input: Int) -> Int {
        let span = dilations[axis] * (kernel[axis] - 1) + 1
        let padded = input + pads[axis] + pads[axis + 2]
        if padded < span { return 0 }
        var out: Int
        if ceilMode {
            out = (padded - span + strides[axis] - 1) / strides[axis] + 1
            if (out - 1) * strides[axis] >= input + pads[axis] { out -= 1 }
        } else {
            out = (padded - span) / strides[axis] + 1
        }
        return out
    }
}

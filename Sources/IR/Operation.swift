/// The closed set of operations of the IR. Shapes and axes are **per example**: the batch dimension
/// of the ONNX model is removed at import, and every op applies to each example independently.
///
/// Weights (convolution kernels, matrices, biases, affine constants) live inside the operation and
/// belong to the vendor; the architecture (the cases and their public attributes) is public.
public enum Operation: Sendable, Equatable, Codable {
    /// 2-D convolution, groups = 1: input [Cin, H, W] → [Cout, outH, outW].
    case convolution(Convolution)
    /// Fully connected on the last axis: [..., K] → [..., N], y = x · Wᵀ + b.
    case fullyConnected(FullyConnected)
    /// Element-wise sum of two activations with numpy broadcasting.
    case add
    /// y = x · scale + shift with constants that broadcast to the input (per channel for a
    /// BatchNormalization that cannot be folded; scalar or per element for Mul/Add/Sub/Div by constants).
    case affine(Affine)
    /// y = (−1)^negate[c] · x + shift[c] per channel (per-example axis 0): what is left of a
    /// BatchNorm before a ReLU once the magnitude of its scale has been folded into the linear layer
    /// after the ReLU (`Graph.foldScalesThroughReLUs`). The signs and shifts are the vendor's.
    case signedShift(SignedShift)
    /// max(x, 0).
    case relu
    /// min(max(x, lower), upper) (ReLU6 is Clip(0, 6)). A side without a bound is nil, never ±∞:
    /// Clip(min = −1) is `.clip(lower: -1, upper: nil)`, so that the IR always encodes (JSON has no
    /// infinity) and hashes the same way. Present bounds are finite (`ShapeInference` checks it).
    case clip(lower: Float?, upper: Float?)
    /// 2-D max pooling over [C, H, W]; padded positions never win.
    case maxPool(Pooling)
    /// 2-D average pooling over [C, H, W].
    case averagePool(Pooling, countIncludePad: Bool)
    /// Mean over H and W: [C, H, W] → [C, 1, 1].
    case globalAveragePool
    /// Concatenation of several activations along a per-example axis.
    case concat(axis: Int)
    /// Reinterpretation of the data with a new shape (the node's output shape); also Flatten.
    case reshape
    /// Axis permutation (per-example axes).
    case transpose(permutation: [Int])
    /// Constant padding, `pads` = [begin_0, …, begin_{r-1}, end_0, …, end_{r-1}] per-example axes.
    case pad(pads: [Int], value: Float)
    /// Softmax along a per-example axis; `coerced` for opset < 13 semantics, which coerce the
    /// input to 2-D at that axis and normalise over everything after it.
    case softmax(axis: Int, coerced: Bool)
    /// LogSoftmax, same conventions as `softmax`.
    case logSoftmax(axis: Int, coerced: Bool)
    /// The logistic function, element by element: a multi-label model's final op (monotone, so
    /// dropped from the secure program: scores are compared, never exponentiated).
    case sigmoid

    /// The ONNX-like name used in plans and messages.
    public var name: String {
        switch self {
        case .convolution: "Conv"
        case .fullyConnected: "Gemm"
        case .add: "Add"
        case .affine(let a): a.scale == nil ? "AddConstant" : "Affine"
        case .signedShift: "SignedShift"
        case .relu: "Relu"
        case .clip: "Clip"
        case .maxPool: "MaxPool"
        case .averagePool: "AveragePool"
        case .globalAveragePool: "GlobalAveragePool"
        case .concat: "Concat"
        case .reshape: "Reshape"
        case .transpose: "Transpose"
        case .pad: "Pad"
        case .softmax: "Softmax"
        case .logSoftmax: "LogSoftmax"
        case .sigmoid: "Sigmoid"
        }
    }

    /// True for Softmax and LogSoftmax, which do not change the argmax of an output they normalise
    /// over entirely (see `Graph.argmaxEquivalentPrefix`, which also checks the axis), and for
    /// Sigmoid, which is monotone element by element (it changes no comparison of scores).
    public var isArgmaxInvariant: Bool {
        switch self {
        case .softmax, .logSoftmax, .sigmoid: true
        default: false
        }
    }
}

/// Convolution weights and geometry. `weight` is [Cout, Cin, kh, kw]; `bias` is [Cout] or nil.
/// `pads` = [top, left, bottom, right].
public struct Convolution: Sendable, Equatable, Codable {
    public var weight: Tensor
    public var bias: Tensor?
    public var strides: [Int]
    public var dilations: [Int]
    public var pads: [Int]

    public init(weight: Tensor, bias: Tensor?, strides: [Int], dilations: [Int], pads: [Int]) {
        self.weight = weight
        self.bias = bias
        self.strides = strides
        self.dilations = dilations
        self.pads = pads
    }

    public var outputChannels: Int { weight.shape[0] }
    public var inputChannels: Int { weight.shape[1] }
    public var kernel: [Int] { [weight.shape[2], weight.shape[3]] }
}

/// y = x · Wᵀ + b on the last axis. `weight` is [N, K] (output features × input features); `bias` [N] or nil.
public struct FullyConnected: Sendable, Equatable, Codable {
    public var weight: Tensor
    public var bias: Tensor?

    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    public var outputFeatures: Int { weight.shape[0] }
    public var inputFeatures: Int { weight.shape[1] }
}

/// y = x · scale + shift, where `scale` and `shift` broadcast (numpy rules) to the per-example input
/// shape without enlarging it. A nil `scale` means 1 and a nil `shift` means 0.
public struct Affine: Sendable, Equatable, Codable {
    public var scale: Tensor?
    public var shift: Tensor?

    public init(scale: Tensor?, shift: Tensor?) {
        self.scale = scale
        self.shift = shift
    }

    /// When both constants vary at most along per-example axis 0 (the channel axis of [C, H, W] or the
    /// feature axis of [K]) for an input of `rank`, the per-channel values (length `channels`).
    public func perChannel(rank: Int, channels: Int) -> (scale: [Float], shift: [Float])? {
        func expand(_ t: Tensor?, identity: Float) -> [Float]? {
            guard let t else { return [Float](repeating: identity, count: channels) }
            if t.elementCount == 1 { return [Float](repeating: t.values[0], count: channels) }
            // Right-aligned shape: must be [channels, 1, ..., 1] at per-example axis 0.
            guard t.rank <= rank else { return nil }
            let padded = [Int](repeating: 1, count: rank - t.rank) + t.shape
            guard padded[0] == channels, padded.dropFirst().allSatisfy({ $0 == 1 }) else { return nil }
            return t.values
        }
        guard let s = expand(scale, identity: 1), let b = expand(shift, identity: 0) else { return nil }
        return (s, b)
    }
}

/// y = (−1)^negate[c] · x + shift[c] along per-example axis 0 (the channel axis of [C, H, W]).
/// `negate` is [C] with values 0 or 1; `shift` is [C].
public struct SignedShift: Sendable, Equatable, Codable {
    public var negate: Tensor
    public var shift: Tensor

    public init(negate: Tensor, shift: Tensor) {
        self.negate = negate
        self.shift = shift
    }
}

/// The public description of one linear layer whose weights the vendor holds: its kind and
/// geometry. Both parties know it (it is part of the public architecture); the weights are not in it.
///
/// Data layouts (per image, images one after another in a batch):
/// - convolution: input [Cin, H, W], weights [Cout, Cin, kh, kw], output [Cout, outH, outW];
/// - fully connected: input [K], weights [N, K] (y = W·x), output [N];
/// - per-channel scale: input [C, H, W], weights [C] (one scale per channel), output [C, H, W].
public struct LinearLayerShape: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable, Hashable, Codable, CaseIterable {
        case convolution, fullyConnected, channelScale
    }

    public var kind: Kind
    public var inputChannels: Int
    public var inputHeight: Int
    public var inputWidth: Int
    public var outputChannels: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    /// [vertical, horizontal].
    public var strides: [Int]
    /// [vertical, horizontal].
    public var dilations: [Int]
    /// [top, left, bottom, right].
    public var pads: [Int]

    public init(kind: Kind, inputChannels: Int, inputHeight: Int, inputWidth: Int, outputChannels: Int,
                kernelHeight: Int, kernelWidth: Int, strides: [Int], dilations: [Int], pads: [Int]) {
        self.kind = kind
        self.inputChannels = inputChannels
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.outputChannels = outputChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strides = strides
        self.dilations = dilations
        self.pads = pads
    }

    /// A 2-D convolution (groups = 1).
    public static func convolution(inputChannels: Int, height: Int, width: Int, outputChannels: Int,
                                   kernel: [Int], strides: [Int] = [1, 1], dilations: [Int] = [1, 1],
                                   pads: [Int] = [0, 0, 0, 0]) -> LinearLayerShape {
        LinearLayerShape(kind: .convolution, inputChannels: inputChannels, inputHeight: height, inputWidth: width,
                         outputChannels: outputChannels, kernelHeight: kernel[0], kernelWidth: kernel[1],
                         strides: strides, dilations: dilations, pads: pads)
    }

    /// y = W·x with W of shape [outputFeatures, inputFeatures].
    public static func fullyConnected(inputFeatures: Int, outputFeatures: Int) -> LinearLayerShape {
        LinearLayerShape(kind: .fullyConnected, inputChannels: inputFeatures, inputHeight: 1, inputWidth: 1,
                         outputChannels: outputFeatures, kernelHeight: 1, kernelWidth: 1,
                         strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0])
    }

    /// y[c, i, j] = a_c · x[c, i, j] (a BatchNorm that cannot be folded into a convolution).
    public static func channelScale(channels: Int, height: Int, width: Int) -> LinearLayerShape {
        LinearLayerShape(kind: .channelScale, inputChannels: channels, inputHeight: height, inputWidth: width,
                         outputChannels: channels, kernelHeight: 1, kernelWidth: 1,
                         strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0])
    }

    /// Dilated kernel extents (kh − 1)·dh + 1 and (kw − 1)·dw + 1.
    public var effectiveKernelHeight: Int { (kernelHeight - 1) * dilations[0] + 1 }
    public var effectiveKernelWidth: Int { (kernelWidth - 1) * dilations[1] + 1 }
    public var paddedHeight: Int { inputHeight + pads[0] + pads[2] }
    public var paddedWidth: Int { inputWidth + pads[1] + pads[3] }
    public var outputHeight: Int { max(0, (paddedHeight - effectiveKernelHeight) / strides[0] + 1) }
    public var outputWidth: Int { max(0, (paddedWidth - effectiveKernelWidth) / strides[1] + 1) }
    /// Values per image.
    public var inputCount: Int { inputChannels * inputHeight * inputWidth }
    public var outputCount: Int { outputChannels * outputHeight * outputWidth }
    /// Number of weights the vendor supplies.
    public var weightCount: Int {
        kind == .channelScale ? inputChannels : outputChannels * inputChannels * kernelHeight * kernelWidth
    }
    /// Multiply-adds per image.
    public var multiplyAdds: Int {
        kind == .channelScale ? inputCount : outputCount * inputChannels * kernelHeight * kernelWidth
    }
    /// Nonzero weights that contribute to one output value.
    public var termsPerOutput: Int { kind == .channelScale ? 1 : inputChannels * kernelHeight * kernelWidth }

    public var description: String {
        switch kind {
        case .convolution:
            "Conv \(inputChannels)×\(inputHeight)×\(inputWidth) → \(outputChannels)×\(outputHeight)×\(outputWidth), kernel \(kernelHeight)×\(kernelWidth), stride \(strides[0])×\(strides[1])" +
                (dilations == [1, 1] ? "" : ", dilation \(dilations[0])×\(dilations[1])") +
                (pads == [0, 0, 0, 0] ? "" : ", pads \(pads)")
        case .fullyConnected: "FC \(inputChannels) → \(outputChannels)"
        case .channelScale: "ChannelScale \(inputChannels)×\(inputHeight)×\(inputWidth)"
        }
    }
}

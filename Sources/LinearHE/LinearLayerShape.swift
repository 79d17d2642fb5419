@_exported import TensorLayout

extension LinearLayerShape {
    /// Checks that the geometry describes a layer the HE protocol can run.
    func validate() throws(LinearHEError) {
        guard inputChannels > 0, inputHeight > 0, inputWidth > 0, outputChannels > 0,
              kernelHeight > 0, kernelWidth > 0 else {
            throw .invalidShape(detail: "\(self): every size must be positive")
        }
        guard strides.count == 2, dilations.count == 2, pads.count == 4,
              strides.allSatisfy({ $0 > 0 }), dilations.allSatisfy({ $0 > 0 }), pads.allSatisfy({ $0 >= 0 }) else {
            throw .invalidShape(detail: "\(self): strides and dilations need 2 positive entries, pads 4 non-negative ones")
        }
        guard outputHeight > 0, outputWidth > 0 else {
            throw .invalidShape(detail: "\(self): the kernel does not fit the padded input")
        }
        if kind == .channelScale, outputChannels != inputChannels {
            throw .invalidShape(detail: "a per-channel scale keeps the channel count")
        }
    }
}

/// Applies a ``Preprocessing`` declaration to one ``DecodedImage``: the steps and their order are
/// those documented on ``Preprocessing``. Runs in the hospital's process only; the result is the
/// model input the hospital then secret-shares.
public enum ImagePipeline {
    /// The model input for `image` (channels × height × width, C order) when the model's
    /// per-example input shape is `inputShape` ([C, H, W] or [H, W]).
    ///
    /// - Parameter file: the image's path, for messages.
    /// - Throws: ``PreprocessingError`` `.cannotApply` (naming the file and the step) or
    ///   `.wrongShape` when the result is not `inputShape`.
    public static func apply(_ p: Preprocessing, to image: DecodedImage, inputShape: [Int], file: String) throws(PreprocessingError) -> [Float] {
        guard inputShape.count == 3 || inputShape.count == 2 else {
            throw .cannotApply(file: file, reason: "the model's input \(inputShape) is not an image (channels × height × width)")
        }
        let modelChannels = inputShape.count == 3 ? inputShape[0] : 1
        guard modelChannels == 1 || modelChannels == 3 else {
            throw .cannotApply(file: file, reason: "the model takes \(modelChannels) channels; images give 1 (grey) or 3 (RGB)")
        }
        let planes = try values(p, image, file: file)
        // Channels: RGB → grey before resizing (less work), grey → RGB after.
        var plane: [[Float]]
        if modelChannels == 1 && planes.count == 3 {
            // ITU-R BT.601 luma, the weights of Pillow's convert("L").
            var luma = [Float](repeating: 0, count: planes[0].count)
            for i in luma.indices {
                let r = Double(planes[0][i]), g = Double(planes[1][i]), b = Double(planes[2][i])
                luma[i] = Float(0.299 * r + 0.587 * g + 0.114 * b)
            }
            plane = [luma]
        } else {
            plane = planes
        }
        var height = image.height, width = image.width
        if let resize = p.resize {
            let (h, w): (Int, Int)
            switch resize {
            case .size(let hh, let ww): (h, w) = (hh, ww)
            case .shorterSide(let side):
                // torchvision: the longer side is ⌊side · long / short⌋.
                if height <= width { (h, w) = (side, Int(Double(side) * Double(width) / Double(height))) }
                else { (h, w) = (Int(Double(side) * Double(height) / Double(width)), side) }
            }
            guard h >= 1, w >= 1 else { throw .cannotApply(file: file, reason: "resizing \(height)×\(width) gives an empty image") }
            plane = plane.map { Resampling.resize($0, height: height, width: width, newHeight: h, newWidth: w, filter: p.filter) }
            (height, width) = (h, w)
        }
        if let crop = p.centerCrop {
            let (ch, cw) = (crop[0], crop[1])
            guard ch <= height, cw <= width else {
                throw .cannotApply(file: file, reason: "the centre crop \(ch)×\(cw) is larger than the image (\(height)×\(width) after resizing)")
            }
            // torchvision's center_crop: int(round((h − ch) / 2.0)), Python rounding half to even.
            let top = Int((Double(height - ch) / 2).rounded(.toNearestOrEven))
            let left = Int((Double(width - cw) / 2).rounded(.toNearestOrEven))
            plane = plane.map { values in
                var out = [Float](); out.reserveCapacity(ch * cw)
                for y in top..<(top + ch) { out += values[(y * width + left)..<(y * width + left + cw)] }
                return out
            }
            (height, width) = (ch, cw)
        }
        if modelChannels == 3 && plane.count == 1 { plane = [plane[0], plane[0], plane[0]] }
        let produced = inputShape.count == 3 ? [plane.count, height, width] : [height, width]
        guard produced == inputShape else { throw .wrongShape(file: file, produced: produced, expected: inputShape) }
        for (key, list) in [("mean", p.mean), ("std", p.std)] {
            if let list, list.count != 1 && list.count != plane.count {
                throw .cannotApply(file: file, reason: "'\(key)' has \(list.count) values but the model takes \(plane.count) channels")
            }
        }
        if p.mean != nil || p.std != nil {
            for c in plane.indices {
                let m = p.mean.map { $0.count == 1 ? $0[0] : $0[c] } ?? 0
                let s = p.std.map { $0.count == 1 ? $0[0] : $0[c] } ?? 1
                plane[c] = plane[c].map { Float((Double($0) - m) / s) }
            }
        }
        return plane.flatMap { $0 }
    }

    /// Steps 1–5: the samples as values, one plane per channel of the file.
    static func values(_ p: Preprocessing, _ image: DecodedImage, file: String) throws(PreprocessingError) -> [[Float]] {
        let n = image.height * image.width
        let maxStored = Double((1 << image.bitsStored) - 1)
        var scale: Double
        switch p.scale {
        case .factor(let f): scale = f
        case .bitDepth: scale = 1 / maxStored
        }
        var slope = 1.0, intercept = 0.0
        var window: (center: Double, width: Double)?
        var invertStored = false, invertWindowed = false
        if let dicom = image.dicom {
            if p.modalityLUT { slope = dicom.rescaleSlope; intercept = dicom.rescaleIntercept }
            switch p.window {
            case .fixed(let c, let w)?: window = (c, w)
            case .file?:
                guard let c = dicom.windowCenter, let w = dicom.windowWidth else {
                    let table = dicom.hasVOILUTSequence ? " (it has a VOI LUT Sequence, a table, which is not supported)" : ""
                    throw .cannotApply(file: file, reason: "the model's preprocessing takes the file's window, but the file has no Window Center/Width\(table)")
                }
                guard w >= 1 else { throw .cannotApply(file: file, reason: "the file's Window Width \(w) is below 1") }
                // Only the LINEAR VOI function is implemented: a file that asks for another one
                // (LINEAR_EXACT, SIGMOID) would otherwise be windowed differently from its display.
                guard dicom.voiFunction.isEmpty || dicom.voiFunction == "LINEAR" else {
                    throw .cannotApply(file: file, reason: "the file's VOI LUT Function is \(dicom.voiFunction); only LINEAR windows are supported (ask the vendor to declare a fixed window instead of \"file\")")
                }
                window = (c, w)
            case nil: break
            }
            if dicom.monochrome1 && p.invertMonochrome1 {
                if window != nil { invertWindowed = true } else {
                    guard !dicom.signed else {
                        throw .cannotApply(file: file, reason: "MONOCHROME1 with signed pixel data needs a window to invert (declare 'window', or 'monochrome1': \"keep\")")
                    }
                    invertStored = true
                }
            }
        }
        var planes = [[Float]](repeating: [Float](repeating: 0, count: n), count: image.channels)
        image.samples.withUnsafeBufferPointer { samples in
            for c in 0..<image.channels {
                planes[c].withUnsafeMutableBufferPointer { out in
                    for i in 0..<n {
                        var v = Double(samples[i * image.channels + c])
                        if invertStored { v = maxStored - v }
                        v = slope * v + intercept
                        if let (center, width) = window {
                            // DICOM PS3.3 C.11.2.1.2.1 (LINEAR) with y_min = 0, y_max = 1.
                            if v <= center - 0.5 - (width - 1) / 2 { v = 0 }
                            else if v > center - 0.5 + (width - 1) / 2 { v = 1 }
                            else { v = (v - (center - 0.5)) / (width - 1) + 0.5 }
                            if invertWindowed { v = 1 - v }
                        } else {
                            v *= scale  // a window already gives [0, 1]: the scale is for values not windowed
                        }
                        out[i] = Float(v)
                    }
                }
            }
        }
        return planes
    }
}

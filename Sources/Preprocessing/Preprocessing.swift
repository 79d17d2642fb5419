import Foundation

/// The preprocessing a vendor declares for its model: how a hospital's image file becomes the
/// model's input tensor. Public to both parties: it travels in the ONNX file's metadata
/// (`preprocessing`, JSON), is part of the public program both parties hash, is shown by
/// `validate-inspect plan`, and the hospital's client applies it to every image before anything is
/// shared. The steps, in this order (``ImagePipeline`` runs them):
///
/// 1. decode: the file's samples as stored (PNG 8/16-bit, JPEG 8-bit, DICOM stored values, signed
///    when the file says so);
/// 2. DICOM, `modality_lut` (default true): v = RescaleSlope · v + RescaleIntercept (1 and 0 when
///    the file has none);
/// 3. `window` (DICOM only; default none): the linear VOI window of DICOM PS3.3 C.11.2.1.2.1 onto
///    [0, 1], with the vendor's centre and width or the file's own (`"file"`);
/// 4. DICOM MONOCHROME1 (`monochrome1`, default `invert`): with a window v = 1 − v; without one the
///    stored value s becomes (2^BitsStored − 1) − s before step 2 (unsigned data only);
/// 5. `scale` (default 1), for values no window mapped (PNG, JPEG, DICOM without a window):
///    v = scale · v; `"bit_depth"` means 1 / (2^bits − 1) of the file (8 or 16 for PNG, 8 for
///    JPEG, BitsStored for DICOM). A windowed value stays in [0, 1] (`mean`/`std` map it further);
/// 6. channels from the model's input shape: grey → RGB by repeating the plane; RGB → grey by
///    ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B, as Pillow's "L");
/// 7. `resize` (optional): the shorter side to `shorter_side` pixels, the longer in proportion
///    (⌊shorter_side · long / short⌋, as torchvision), or to `size` [H, W]; filter `bilinear`,
///    `area` or `bicubic` with Pillow's semantics (antialiased when shrinking), in floating point;
/// 8. `center_crop` [H, W] (optional; offsets rounded half to even, as torchvision);
/// 9. `mean` and `std` (optional, one per channel or one for all): v = (v − mean) / std.
///
/// The result, channels × height × width, must be the model's input shape.
public struct Preprocessing: Codable, Sendable, Equatable {
    /// A VOI window.
    public enum Window: Sendable, Equatable {
        /// The vendor's centre and width (width ≥ 1).
        case fixed(center: Double, width: Double)
        /// Each file's first Window Center / Window Width (a file without one is refused).
        case file
    }

    /// How to resize.
    public enum Resize: Sendable, Equatable {
        /// The shorter side to this many pixels, the longer in proportion.
        case shorterSide(Int)
        /// Exactly this height and width.
        case size(height: Int, width: Int)
    }

    /// Resampling filters, with Pillow's definitions (support 1, ½ and 2).
    public enum Filter: String, Codable, Sendable, Equatable, CaseIterable {
        case bilinear, area, bicubic
    }

    /// The multiplier of step 5.
    public enum Scale: Sendable, Equatable {
        case factor(Double)
        case bitDepth
    }

    public var modalityLUT: Bool = true
    public var window: Window?
    public var invertMonochrome1: Bool = true
    public var scale: Scale = .factor(1)
    public var resize: Resize?
    public var filter: Filter = .bilinear
    public var centerCrop: [Int]?
    public var mean: [Double]?
    public var std: [Double]?

    public init(modalityLUT: Bool = true, window: Window? = nil, invertMonochrome1: Bool = true, scale: Scale = .factor(1),
                resize: Resize? = nil, filter: Filter = .bilinear, centerCrop: [Int]? = nil, mean: [Double]? = nil, std: [Double]? = nil) {
        self.modalityLUT = modalityLUT
        self.window = window
        self.invertMonochrome1 = invertMonochrome1
        self.scale = scale
        self.resize = resize
        self.filter = filter
        self.centerCrop = centerCrop
        self.mean = mean
        self.std = std
    }

    /// The ONNX metadata key that holds the declaration.
    public static let metadataKey = "preprocessing"

    /// Parses the JSON text of a declaration (the metadata value), checking every field: unknown
    /// keys, wrong types and impossible values are refused with a message naming the key.
    public static func parse(json text: String) throws(PreprocessingError) -> Preprocessing {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw .invalidDeclaration("it is not JSON (\(error.localizedDescription))")
        }
        guard let fields = object as? [String: Any] else { throw .invalidDeclaration("it must be a JSON object") }
        let known: Set<String> = ["modality_lut", "window", "monochrome1", "scale", "resize", "center_crop", "mean", "std"]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidDeclaration("unknown key '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        var p = Preprocessing()
        if let value = fields["modality_lut"] {
            guard let flag = value as? Bool, Self.isBool(value) else { throw .invalidDeclaration("'modality_lut' must be true or false") }
            p.modalityLUT = flag
        }
        if let value = fields["window"] {
            if let text = value as? String {
                guard text == "file" else { throw .invalidDeclaration("'window' must be \"file\" or {\"center\": c, \"width\": w}, got \"\(text)\"") }
                p.window = .file
            } else if let window = value as? [String: Any] {
                guard Set(window.keys) == ["center", "width"], let c = Self.number(window["center"]), let w = Self.number(window["width"]) else {
                    throw .invalidDeclaration("'window' must be {\"center\": c, \"width\": w} with two numbers")
                }
                guard w >= 1 else { throw .invalidDeclaration("'window' width must be at least 1 (DICOM PS3.3 C.11.2.1.2), got \(w)") }
                p.window = .fixed(center: c, width: w)
            } else if !(value is NSNull) {
                throw .invalidDeclaration("'window' must be \"file\" or {\"center\": c, \"width\": w}")
            }
        }
        if let value = fields["monochrome1"] {
            guard let text = value as? String, text == "invert" || text == "keep" else {
                throw .invalidDeclaration("'monochrome1' must be \"invert\" or \"keep\"")
            }
            p.invertMonochrome1 = text == "invert"
        }
        if let value = fields["scale"] {
            if let text = value as? String {
                guard text == "bit_depth" else { throw .invalidDeclaration("'scale' must be a number or \"bit_depth\", got \"\(text)\"") }
                p.scale = .bitDepth
            } else if let factor = Self.number(value), factor != 0 {
                p.scale = .factor(factor)
            } else {
                throw .invalidDeclaration("'scale' must be a finite non-zero number or \"bit_depth\"")
            }
        }
        if let value = fields["resize"] {
            guard let resize = value as? [String: Any] else { throw .invalidDeclaration("'resize' must be an object") }
            let keys = Set(resize.keys)
            guard keys.isSubset(of: ["shorter_side", "size", "filter"]) else {
                throw .invalidDeclaration("'resize' takes 'shorter_side' or 'size', and 'filter'; got \(keys.sorted().joined(separator: ", "))")
            }
            switch (resize["shorter_side"], resize["size"]) {
            case (let side?, nil):
                guard let n = Self.positiveInt(side) else { throw .invalidDeclaration("'resize.shorter_side' must be a positive integer") }
                p.resize = .shorterSide(n)
            case (nil, let size?):
                guard let hw = Self.positiveInts(size), hw.count == 2 else { throw .invalidDeclaration("'resize.size' must be [height, width], positive integers") }
                p.resize = .size(height: hw[0], width: hw[1])
            default:
                throw .invalidDeclaration("'resize' needs exactly one of 'shorter_side' and 'size'")
            }
            if let filter = resize["filter"] {
                guard let name = filter as? String, let f = Filter(rawValue: name) else {
                    throw .invalidDeclaration("'resize.filter' must be one of \(Filter.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                p.filter = f
            }
        }
        if let value = fields["center_crop"] {
            if let n = Self.positiveInt(value) {
                p.centerCrop = [n, n]
            } else if let hw = Self.positiveInts(value), hw.count == 2 {
                p.centerCrop = hw
            } else {
                throw .invalidDeclaration("'center_crop' must be a positive integer or [height, width]")
            }
        }
        for key in ["mean", "std"] {
            guard let value = fields[key] else { continue }
            let numbers: [Double]
            if let n = Self.number(value) { numbers = [n] } else if let list = value as? [Any], !list.isEmpty, list.allSatisfy({ Self.number($0) != nil }) {
                numbers = list.map { Self.number($0)! }
            } else {
                throw .invalidDeclaration("'\(key)' must be a number or a list of numbers (one per channel)")
            }
            if key == "mean" { p.mean = numbers } else {
                guard numbers.allSatisfy({ $0 != 0 }) else { throw .invalidDeclaration("'std' must not contain 0") }
                p.std = numbers
            }
        }
        return p
    }

    /// The canonical JSON text of this declaration (sorted keys, defaults written out): what the
    /// program encodes and hashes, so that two texts meaning the same steps give the same program.
    public var canonicalJSON: String {
        func number(_ x: Double) -> String {
            if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
            return "\(x)"
        }
        var parts: [String] = []
        if let centerCrop { parts.append("\"center_crop\":[\(centerCrop.map(String.init).joined(separator: ","))]") }
        if let mean { parts.append("\"mean\":[\(mean.map(number).joined(separator: ","))]") }
        parts.append("\"modality_lut\":\(modalityLUT)")
        parts.append("\"monochrome1\":\"\(invertMonochrome1 ? "invert" : "keep")\"")
        if let resize {
            let size = switch resize {
            case .shorterSide(let n): "\"shorter_side\":\(n)"
            case .size(let h, let w): "\"size\":[\(h),\(w)]"
            }
            parts.append("\"resize\":{\"filter\":\"\(filter.rawValue)\",\(size)}")
        }
        switch scale {
        case .factor(let f): parts.append("\"scale\":\(number(f))")
        case .bitDepth: parts.append("\"scale\":\"bit_depth\"")
        }
        if let std { parts.append("\"std\":[\(std.map(number).joined(separator: ","))]") }
        switch window {
        case .fixed(let c, let w)?: parts.append("\"window\":{\"center\":\(number(c)),\"width\":\(number(w))}")
        case .file?: parts.append("\"window\":\"file\"")
        case nil: break
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// One line per step, for `validate-inspect plan` and the client's announcement.
    public var steps: [String] {
        var lines: [String] = []
        lines.append("DICOM: \(modalityLUT ? "modality LUT (rescale slope/intercept)" : "stored values (no modality LUT)")")
        switch window {
        case .fixed(let c, let w)?: lines.append("DICOM: window centre \(c), width \(w) → [0, 1] (linear, PS3.3 C.11.2.1.2.1)")
        case .file?: lines.append("DICOM: the file's window centre/width → [0, 1] (linear, PS3.3 C.11.2.1.2.1)")
        case nil: break
        }
        lines.append("DICOM MONOCHROME1: \(invertMonochrome1 ? "inverted" : "kept as stored")")
        switch scale {
        case .factor(let f) where f != 1: lines.append("values not windowed (PNG, JPEG, DICOM without a window): × \(f)")
        case .factor: break
        case .bitDepth: lines.append("values not windowed (PNG, JPEG, DICOM without a window): × 1/(2^bits − 1) of each file")
        }
        lines.append("channels: as the model's input (grey → RGB repeats the plane; RGB → grey by BT.601 luma)")
        switch resize {
        case .shorterSide(let n)?: lines.append("resize: shorter side to \(n) px (\(filter.rawValue), Pillow semantics)")
        case .size(let h, let w)?: lines.append("resize: to \(h)×\(w) (\(filter.rawValue), Pillow semantics)")
        case nil: break
        }
        if let centerCrop { lines.append("centre crop: \(centerCrop[0])×\(centerCrop[1])") }
        if let mean { lines.append("minus mean \(mean)") }
        if let std { lines.append("divided by std \(std)") }
        return lines
    }

    // Codable through the canonical JSON text, so that every encoding of the graph carries exactly it.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try Preprocessing.parse(json: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(canonicalJSON)
    }

    private static func isBool(_ value: Any) -> Bool {
        // JSONSerialization gives true/false as an NSNumber subclass whose type name says so
        // (`__NSCFBoolean` on Linux and Darwin); `as? Bool` would also accept 0 and 1.
        String(describing: type(of: value)).contains("Boolean")
    }

    private static func number(_ value: Any?) -> Double? {
        guard let value, !isBool(value), let n = value as? NSNumber else { return nil }
        let d = n.doubleValue
        return d.isFinite ? d : nil
    }

    private static func positiveInt(_ value: Any?) -> Int? {
        guard let d = number(value), d >= 1, d == d.rounded(), d < 1e6 else { return nil }
        return Int(d)
    }

    private static func positiveInts(_ value: Any?) -> [Int]? {
        guard let list = value as? [Any] else { return nil }
        let ints = list.compactMap { positiveInt($0) }
        return ints.count == list.count ? ints : nil
    }
}

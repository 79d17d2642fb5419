import Foundation
import Preprocessing
import Testing
@testable import Datasets

/// The Swift preprocessing against an independent pipeline (pydicom's modality LUT and windowing,
/// Pillow's resize on 32-bit float images, numpy for the rest), on the fixtures of
/// Scripts/dev/make_image_datasets.py: CT-like signed DICOM with the file's window, a MONOCHROME1
/// radiograph stored JPEG-lossless, RGB and 16-bit grey PNG, an RGB JPEG reduced to luma.
@Suite struct PreprocessingFidelityTests {
    /// Tolerance against the float reference, after mean/std (values of order 1): the two
    /// pipelines differ only in float32 rounding of intermediate values.
    static let floatTolerance: Float = 1e-6
    /// Against the common 8-bit Pillow pipeline (resize on uint8 RGB, as torchvision on PIL
    /// images): Pillow rounds to whole grey levels after each pass, so up to about one level
    /// (1/255) before normalisation, 1/255/0.225 ≈ 0.0174 after the ImageNet std.
    static let eightBitTolerance: Float = 0.02

    struct Case: Decodable {
        var file: String
        var preprocessing: JSONValue
        var input_shape: [Int]
        var reference: String
        var reference_8bit: String?
    }

    /// Any JSON, re-serialised to text for `Preprocessing.parse`.
    struct JSONValue: Decodable {
        var text: String
        init(from decoder: any Decoder) throws {
            let raw = try decoder.singleValueContainer().decode(AnyJSON.self)
            text = String(decoding: try JSONSerialization.data(withJSONObject: raw.value, options: [.fragmentsAllowed]), as: UTF8.self)
        }
    }

    struct AnyJSON: Decodable {
        var value: Any
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int.self) { value = n } else if let d = try? c.decode(Double.self) { value = d }
            else if let s = try? c.decode(String.self) { value = s } else if let b = try? c.decode(Bool.self) { value = b }
            else if let a = try? c.decode([AnyJSON].self) { value = a.map(\.value) }
            else { value = try c.decode([String: AnyJSON].self).mapValues(\.value) }
        }
    }

    static func fixture(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("Tests/Fixtures/preprocessing").appendingPathComponent(name).path
    }

    static let cases: [Case] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: fixture("cases.json")))
        return try! JSONDecoder().decode([Case].self, from: data)
    }()

    @Test(arguments: cases.map(\.file))
    func matchesTheIndependentPipeline(_ file: String) throws {
        let c = Self.cases.first { $0.file == file }!
        let declaration = try Preprocessing.parse(json: c.preprocessing.text)
        let image = try ImageFile.decode(Self.fixture(c.file))
        let output = try ImagePipeline.apply(declaration, to: image, inputShape: c.input_shape, file: c.file)
        let reference = try NPYReader(path: Self.fixture(c.reference)).readAllFloats()
        #expect(reference.shape == c.input_shape)
        let worst = zip(output, reference.elements).map { abs($0 - $1) }.max() ?? .infinity
        print("preprocessing fidelity \(c.file): max |Swift − pydicom/Pillow float| = \(worst) over \(output.count) values")
        #expect(output.count == reference.elements.count)
        #expect(worst <= Self.floatTolerance, "\(c.file): \(worst)")
        if let eightBit = c.reference_8bit {
            let reference8 = try NPYReader(path: Self.fixture(eightBit)).readAllFloats().elements
            let worst8 = zip(output, reference8).map { abs($0 - $1) }.max() ?? .infinity
            print("preprocessing fidelity \(c.file): max |Swift − Pillow 8-bit| = \(worst8)")
            #expect(worst8 <= Self.eightBitTolerance, "\(c.file): \(worst8)")
        }
    }

    @Test func declarationsAreCheckedKeyByKey() {
        let bad: [(String, String)] = [
            (#"{"windw": "file"}"#, "unknown key 'windw'"),
            (#"{"window": "auto"}"#, "'window'"),
            (#"{"window": {"center": 40, "width": 0.5}}"#, "at least 1"),
            (#"{"scale": "bits"}"#, "'scale'"),
            (#"{"scale": 0}"#, "'scale'"),
            (#"{"resize": {"shorter_side": 0}}"#, "shorter_side"),
            (#"{"resize": {"shorter_side": 256, "size": [224, 224]}}"#, "exactly one"),
            (#"{"resize": {"shorter_side": 256, "filter": "lanczos"}}"#, "filter"),
            (#"{"center_crop": [224]}"#, "center_crop"),
            (#"{"std": [0.2, 0]}"#, "must not contain 0"),
            (#"{"modality_lut": 1}"#, "true or false"),
            (#"[1, 2]"#, "JSON object"),
            (#"{"#, "not JSON"),
        ]
        for (text, reason) in bad {
            do {
                _ = try Preprocessing.parse(json: text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.description.contains(reason), "\(text): \(error.description)")
            }
        }
    }

    @Test func canonicalTextIsStableAndRoundTrips() throws {
        let a = try Preprocessing.parse(json: #"{"std": [0.229, 0.224, 0.225], "mean": [0.485, 0.456, 0.406], "resize": {"shorter_side": 256}, "center_crop": 224, "scale": "bit_depth"}"#)
        let b = try Preprocessing.parse(json: #"{"center_crop": [224, 224], "resize": {"filter": "bilinear", "shorter_side": 256}, "scale": "bit_depth", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "modality_lut": true}"#)
        #expect(a == b)
        #expect(a.canonicalJSON == b.canonicalJSON)
        #expect(try Preprocessing.parse(json: a.canonicalJSON) == a)
        let c = try Preprocessing.parse(json: #"{"window": {"center": 40, "width": 400}, "monochrome1": "keep"}"#)
        #expect(try Preprocessing.parse(json: c.canonicalJSON) == c)
        #expect(c.canonicalJSON != a.canonicalJSON)
    }

    @Test func windowFollowsPS33LinearFunctionAtItsEdges() throws {
        // Centre 8.5, width 17 maps 0...16 onto k/16 exactly; MONOCHROME1 inverts after the window.
        let declaration = try Preprocessing.parse(json: #"{"window": "file"}"#)
        for monochrome1 in [false, true] {
            let stored: [Int32] = (0...16).map { monochrome1 ? Int32(16 - $0) : Int32($0) } + [-5, 40]
            let image = DecodedImage(kind: .dicom, height: 1, width: stored.count, channels: 1, bitsStored: 8, samples: stored,
                                     dicom: .init(monochrome1: monochrome1, signed: true, windowCenter: 8.5, windowWidth: 17))
            let out = try ImagePipeline.apply(declaration, to: image, inputShape: [1, 1, stored.count], file: "edge.dcm")
            #expect(Array(out[0...16]) == (0...16).map { Float($0) / 16 })
            #expect(Array(out[17...]) == (monochrome1 ? [1, 0] : [0, 1]))
        }
    }

    @Test func monochrome1WithoutWindowInvertsStoredValues() throws {
        let declaration = try Preprocessing.parse(json: #"{"scale": "bit_depth"}"#)
        let image = DecodedImage(kind: .dicom, height: 1, width: 3, channels: 1, bitsStored: 12, samples: [0, 4095, 1000],
                                 dicom: .init(monochrome1: true, signed: false))
        let out = try ImagePipeline.apply(declaration, to: image, inputShape: [1, 1, 3], file: "m1.dcm")
        #expect(out == [1, 0, Float(3095.0 / 4095.0)])
        let kept = try ImagePipeline.apply(try Preprocessing.parse(json: #"{"scale": "bit_depth", "monochrome1": "keep"}"#),
                                           to: image, inputShape: [1, 1, 3], file: "m1.dcm")
        #expect(kept == [0, 1, Float(1000.0 / 4095.0)])
    }

    @Test func fileWindowMissingIsNamed() throws {
        let declaration = try Preprocessing.parse(json: #"{"window": "file"}"#)
        let image = DecodedImage(kind: .dicom, height: 1, width: 1, channels: 1, bitsStored: 8, samples: [3],
                                 dicom: .init(monochrome1: false, signed: false))
        #expect(throws: PreprocessingError.self) { _ = try ImagePipeline.apply(declaration, to: image, inputShape: [1, 1, 1], file: "nowindow.dcm") }
        do { _ = try ImagePipeline.apply(declaration, to: image, inputShape: [1, 1, 1], file: "nowindow.dcm") } catch {
            #expect(error.description.contains("nowindow.dcm") && error.description.contains("Window Center"))
        }
    }

    @Test func onlyLinearFileWindowsAreApplied() throws {
        let declaration = try Preprocessing.parse(json: #"{"window": "file"}"#)
        var attributes = DecodedImage.DICOMAttributes(monochrome1: false, signed: false, windowCenter: 8.5, windowWidth: 17)
        attributes.voiFunction = "SIGMOID"
        let image = DecodedImage(kind: .dicom, height: 1, width: 1, channels: 1, bitsStored: 8, samples: [3], dicom: attributes)
        do {
            _ = try ImagePipeline.apply(declaration, to: image, inputShape: [1, 1, 1], file: "sigmoid.dcm")
            Issue.record("a SIGMOID window was applied as LINEAR")
        } catch {
            #expect(error.description.contains("sigmoid.dcm") && error.description.contains("SIGMOID"))
        }
        attributes.voiFunction = "LINEAR"
        let linear = DecodedImage(kind: .dicom, height: 1, width: 1, channels: 1, bitsStored: 8, samples: [4], dicom: attributes)
        #expect(try ImagePipeline.apply(declaration, to: linear, inputShape: [1, 1, 1], file: "linear.dcm") == [0.25])
        // A fixed window ignores the file's function (the vendor's declaration is the contract).
        let fixed = try Preprocessing.parse(json: #"{"window": {"center": 8.5, "width": 17}}"#)
        #expect(try ImagePipeline.apply(fixed, to: image, inputShape: [1, 1, 1], file: "sigmoid.dcm") == [0.1875])
    }
}

import CDICOM
import CImageCodecs
import Foundation
import Preprocessing

/// Reads one image file of a hospital's image folder into a ``DecodedImage``, with the library
/// made for its format: libpng (PNG, 8/16-bit grey or RGB, palette expanded, alpha dropped),
/// libjpeg-turbo (JPEG, 8-bit grey or RGB) and DCMTK (DICOM, single frame, MONOCHROME1/2 or RGB,
/// every transfer syntax DCMTK decodes: uncompressed, JPEG baseline/extended/lossless, JPEG-LS,
/// RLE). The format is chosen from the file's first bytes, not its name.
///
/// Errors are ``DatasetError/badImage(file:reason:)`` or ``DatasetError/unsupportedTransferSyntax(file:syntax:)``
/// naming the file; they never contain a pixel value.
public enum ImageFile {
    /// The formats this reader knows, by their signatures.
    public enum Format: String, Sendable { case png = "PNG", jpeg = "JPEG", dicom = "DICOM" }

    /// The file's format from its first bytes (PNG signature, JPEG SOI marker, DICOM preamble +
    /// "DICM"); nil for anything else.
    public static func format(of path: String) -> Format? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 132)) ?? Data())
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.count == 132 && Array(head[128..<132]) == Array("DICM".utf8) { return .dicom }
        return nil
    }

    /// Decodes `path` whole.
    public static func decode(_ path: String) throws(DatasetError) -> DecodedImage {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .badImage(file: path, reason: FileManager.default.fileExists(atPath: path) ? "not readable (permissions)" : "no such file")
        }
        guard let format = format(of: path) else {
            throw .badImage(file: path, reason: "not a PNG, JPEG or DICOM file (checked by its first bytes; a DICOM file needs the 128-byte preamble and 'DICM')")
        }
        var message = [CChar](repeating: 0, count: 512)
        switch format {
        case .png, .jpeg:
            var image = sv_image()
            let status = format == .png ? sv_png_read(path, &image, &message, message.count)
                                        : sv_jpeg_read(path, &image, &message, message.count)
            defer { sv_image_free(&image) }
            guard status == 0 else { throw .badImage(file: path, reason: "\(format.rawValue) decoder: \(String(cString: message))") }
            let count = Int(image.width) * Int(image.height) * Int(image.channels)
            let samples = UnsafeBufferPointer(start: image.samples, count: count).map { Int32($0) }
            return DecodedImage(kind: format == .png ? .png : .jpeg, height: Int(image.height), width: Int(image.width),
                                channels: Int(image.channels), bitsStored: Int(image.bit_depth), samples: samples)
        case .dicom:
            var image = sv_dicom_image()
            let status = sv_dicom_read(path, &image, &message, message.count)
            defer { sv_dicom_free(&image) }
            let syntax = withUnsafeBytes(of: image.transfer_syntax) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if status == 2 { throw .unsupportedTransferSyntax(file: path, syntax: syntax) }
            guard status == 0 else { throw .badImage(file: path, reason: "DICOM: \(String(cString: message))") }
            guard image.frames == 1 else {
                throw .badImage(file: path, reason: "DICOM: \(image.frames) frames; only single-frame images are supported")
            }
            let count = Int(image.rows) * Int(image.columns) * Int(image.samples_per_pixel)
            let samples = Array(UnsafeBufferPointer(start: image.samples, count: count))
            var attributes = DecodedImage.DICOMAttributes(
                monochrome1: image.monochrome1 != 0, signed: image.pixel_representation == 1,
                rescaleSlope: image.rescale_slope, rescaleIntercept: image.rescale_intercept,
                windowCenter: image.has_window != 0 ? image.window_center : nil,
                windowWidth: image.has_window != 0 ? image.window_width : nil, transferSyntax: syntax)
            attributes.voiFunction = withUnsafeBytes(of: image.voi_function) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }.trimmingCharacters(in: .whitespaces).uppercased()
            attributes.hasVOILUTSequence = image.has_voi_lut_sequence != 0
            return DecodedImage(kind: .dicom, height: Int(image.rows), width: Int(image.columns), channels: Int(image.samples_per_pixel),
                                bitsStored: Int(image.bits_stored), samples: samples, dicom: attributes)
        }
    }
}

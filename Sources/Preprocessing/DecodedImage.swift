/// One image as its file stores it, before any preprocessing: what a decoder (PNG, JPEG, DICOM)
/// hands to ``ImagePipeline``. Held by the hospital only.
///
/// Contract: `samples.count == height × width × channels`, row after row, channels interleaved
/// (RGB); values are the stored sample values (unsigned, or signed for DICOM with
/// PixelRepresentation 1), below 2^bitsStored.
public struct DecodedImage: Sendable {
    /// What the file was; the DICOM attributes apply only to `.dicom`.
    public enum Kind: String, Sendable { case png = "PNG", jpeg = "JPEG", dicom = "DICOM" }

    /// DICOM attributes the pipeline uses.
    public struct DICOMAttributes: Sendable, Equatable {
        /// MONOCHROME1: the lowest value is displayed white.
        public var monochrome1: Bool
        public var signed: Bool
        public var rescaleSlope: Double
        public var rescaleIntercept: Double
        /// The file's first Window Center / Width, when present.
        public var windowCenter: Double?
        public var windowWidth: Double?
        /// The transfer syntax the file was stored in (for messages).
        public var transferSyntax: String
        /// VOI LUT Function (0028,1056) as stored ("" when absent, which means LINEAR).
        public var voiFunction: String = ""
        /// Whether the file carries a VOI LUT Sequence (a table rather than a window).
        public var hasVOILUTSequence = false

        public init(monochrome1: Bool, signed: Bool, rescaleSlope: Double = 1, rescaleIntercept: Double = 0,
                    windowCenter: Double? = nil, windowWidth: Double? = nil, transferSyntax: String = "") {
            self.monochrome1 = monochrome1
            self.signed = signed
            self.rescaleSlope = rescaleSlope
            self.rescaleIntercept = rescaleIntercept
            self.windowCenter = windowCenter
            self.windowWidth = windowWidth
            self.transferSyntax = transferSyntax
        }
    }

    public var kind: Kind
    public var height: Int
    public var width: Int
    /// 1 (grey) or 3 (RGB).
    public var channels: Int
    /// Significant bits per sample (8 or 16 for PNG, 8 for JPEG, BitsStored for DICOM).
    public var bitsStored: Int
    public var samples: [Int32]
    public var dicom: DICOMAttributes?

    public init(kind: Kind, height: Int, width: Int, channels: Int, bitsStored: Int, samples: [Int32], dicom: DICOMAttributes? = nil) {
        precondition(samples.count == height * width * channels)
        self.kind = kind
        self.height = height
        self.width = width
        self.channels = channels
        self.bitsStored = bitsStored
        self.samples = samples
        self.dicom = dicom
    }
}

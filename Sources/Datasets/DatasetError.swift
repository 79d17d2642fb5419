import Foundation

/// Where one example of a dataset lives in its file, for error messages.
///
/// NPY files are addressed by `row` (the index along the first axis, counting from 0 as numpy
/// does: `labels[12]`); CSV files by `line` (counting from 1, as text editors do, header and blank
/// lines included).
public enum ExampleLocation: Equatable, Sendable, CustomStringConvertible {
    /// Index along the first axis of an `.npy` array, counting from 0.
    case row(Int)
    /// Line of a text file, counting from 1.
    case line(Int)
    /// An image of an image folder: its file and the line of `labels.csv` that lists it.
    case image(file: String, line: Int)

    public var description: String {
        switch self {
        case .row(let index): return "row \(index) (counting from 0)"
        case .line(let number): return "line \(number)"
        case .image(let file, let line): return "image \(file) (labels.csv line \(line))"
        }
    }
}

/// Every error thrown by the `Datasets` module.
///
/// Each message says what is wrong, where (file, row or line, column) and what to do. Messages
/// never contain a feature value. The only data value that may appear is an out-of-range label
/// (`labelOutOfRange`), which is shown to the data owner, whose data it is, so that the bad row can
/// be found; no message is ever sent to the other party.
public enum DatasetError: Error, Equatable, Sendable {
    // MARK: Files and formats

    /// Nothing exists at `path`.
    case notFound(path: String)
    /// `path` exists but is neither a folder nor a `.csv` file.
    case unsupportedFormat(path: String)
    /// The dataset folder lacks a required file (`inputs.npy` or `labels.npy`).
    case missingFile(folder: String, file: String)
    /// The operating system refused to open or read the file.
    case unreadable(file: String, reason: String)
    /// The file could not be written.
    case unwritable(file: String, reason: String)

    // MARK: NPY

    /// The file does not start with the `\x93NUMPY` magic string.
    case notNPY(file: String)
    /// The `.npy` format version is not 1.0, 2.0 or 3.0.
    case unsupportedNPYVersion(file: String, major: Int, minor: Int)
    /// The header dictionary could not be parsed or lacks a key; `reason` says which.
    case malformedNPYHeader(file: String, reason: String)
    /// The array is stored in Fortran (column-major) order.
    case fortranOrder(file: String)
    /// The array is stored big-endian (`descr` starts with `>`).
    case bigEndian(file: String, descr: String)
    /// The dtype is none of ``NPYDType``.
    case unsupportedDType(file: String, descr: String)
    /// The dtype is a valid NPY dtype but not one this use accepts (e.g. integer inputs).
    case wrongDType(file: String, dtype: String, role: String, accepted: [String])
    /// The file holds fewer bytes than its header promises.
    case truncated(file: String, expectedBytes: Int, actualBytes: Int)
    /// The shape has a negative dimension or its byte size does not fit in an `Int`.
    case invalidShape(file: String, shape: String)
    /// The array's rank is not what this use needs (e.g. 0-d inputs or 2-d labels).
    case wrongRank(file: String, shape: [Int], role: String, expected: String)
    /// An integer value does not fit in `Int` (only possible for `<u8`).
    case integerOverflow(file: String, location: ExampleLocation)
    /// The writer was given a shape whose element count is not the number of elements given.
    case writerShapeMismatch(file: String, shape: [Int], elementCount: Int)

    // MARK: Folder datasets

    /// `inputs.npy` and `labels.npy` hold different numbers of examples.
    case countMismatch(inputsFile: String, inputsCount: Int, labelsFile: String, labelsCount: Int)

    // MARK: CSV

    /// A CSV row has a different number of columns from the first row.
    case raggedRow(file: String, line: Int, columns: Int, expected: Int)
    /// A CSV label (first column) is not an integer.
    case labelNotInteger(file: String, line: Int)
    /// A CSV feature is empty or not a number.
    case nonNumericField(file: String, line: Int, column: Int)

    // MARK: Image folders

    /// An image file cannot be decoded (unreadable, not PNG/JPEG/DICOM, damaged, or a layout the
    /// decoders do not support); `reason` says which.
    case badImage(file: String, reason: String)
    /// A DICOM file's transfer syntax cannot be decoded by the DCMTK this build links.
    case unsupportedTransferSyntax(file: String, syntax: String)
    /// `labels.csv` is malformed at `line` (counting from 1); `reason` says how.
    case malformedLabels(file: String, line: Int, reason: String)
    /// An image file in the folder has no row in `labels.csv`.
    case unlabelledImage(file: String, labels: String)
    /// A row of `labels.csv` names a file that does not exist.
    case missingImage(file: String, labels: String, line: Int)
    /// The image folder's preprocessing cannot be applied (no declaration, or a step fails).
    case preprocessing(file: String, reason: String)

    // MARK: Validation against a model

    /// The dataset holds no examples.
    case emptyDataset(file: String)
    /// The example shape differs from the model's input shape (without the batch dimension).
    case shapeMismatch(file: String, featureShape: [Int], modelShape: [Int])
    /// A label lies outside `0..<classCount`.
    case labelOutOfRange(file: String, location: ExampleLocation, label: Int, classCount: Int)
    /// A multi-label entry is not 1, 0 or −1; `finding` counts from 0.
    case findingLabelOutOfRange(file: String, location: ExampleLocation, finding: Int, label: Int)
    /// The labels per example do not fit the model's task: `findings` says whether the model is
    /// multi-label (one label per finding expected) or single-label (one class index expected).
    case labelWidthMismatch(file: String, width: Int, expected: Int, findings: Bool)
    /// A feature is NaN or infinite (after conversion to float32).
    case nonFiniteFeature(file: String, location: ExampleLocation)
    /// A feature lies outside what the model's fixed-point format can hold (`range` describes it).
    /// `feature` is the position within the example, counting from 0.
    case featureOutOfRange(file: String, location: ExampleLocation, feature: Int, value: Float, range: String)
    /// A row range outside `0..<count` was requested.
    case rangeOutOfBounds(file: String, lower: Int, upper: Int, count: Int)
    /// A caller passed an argument that can never be valid (e.g. a class count of 0).
    case invalidArgument(String)
}

extension DatasetError: LocalizedError, CustomStringConvertible {
    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such file or folder. Pass a folder holding inputs.npy and labels.npy, a folder of images with labels.csv, or a .csv file."
        case .unsupportedFormat(let path):
            let hint = path.lowercased().hasSuffix(".npy")
                ? " For .npy data pass the folder that holds inputs.npy and labels.npy, not the file itself."
                : ""
            return "\(path): unsupported dataset format. Accepted: a folder holding inputs.npy (float32 or float64, N × the model's input shape) and labels.npy (integers, N); or a .csv file whose first column is the label and the others the features.\(hint)"
        case .missingFile(let folder, let file):
            return "\(folder): the dataset folder has no \(file). It must hold inputs.npy (float32 or float64, N × the model's input shape) and labels.npy (integers, N); or, for images (PNG, JPEG, DICOM), labels.csv with a 'file' column and a 'label' column (or one column per finding)."
        case .unreadable(let file, let reason):
            return "\(file): cannot read the file (\(reason))."
        case .unwritable(let file, let reason):
            return "\(file): cannot write the file (\(reason))."
        case .notNPY(let file):
            return "\(file): not an .npy file (it does not start with the \\x93NUMPY magic string). Save the array with numpy.save."
        case .unsupportedNPYVersion(let file, let major, let minor):
            return "\(file): unsupported .npy format version \(major).\(minor); versions 1.0, 2.0 and 3.0 are supported. Re-save the array with numpy.save."
        case .malformedNPYHeader(let file, let reason):
            return "\(file): malformed .npy header: \(reason). Re-save the array with numpy.save."
        case .fortranOrder(let file):
            return "\(file): the array is stored in Fortran (column-major) order; only C order is supported. Re-save it with np.save(path, np.ascontiguousarray(array))."
        case .bigEndian(let file, let descr):
            return "\(file): the array is big-endian (dtype '\(descr)'); only little-endian is supported. Re-save it with np.save(path, array.astype(array.dtype.newbyteorder('<')))."
        case .unsupportedDType(let file, let descr):
            return "\(file): unsupported dtype '\(descr)'. Accepted dtypes: \(NPYDType.allCases.map(\.rawValue).joined(separator: " ")). Convert the array, e.g. array.astype(np.float32)."
        case .wrongDType(let file, let dtype, let role, let accepted):
            return "\(file): \(role) have dtype '\(dtype)', but \(role) must be one of \(accepted.joined(separator: " ")). Convert the array with astype before saving."
        case .truncated(let file, let expected, let actual):
            return "\(file): the file is truncated: its header promises \(expected) bytes but the file has \(actual). Copy or save it again."
        case .invalidShape(let file, let shape):
            return "\(file): invalid shape \(shape): a dimension is negative or the array's size overflows. Re-save the array with numpy.save."
        case .wrongRank(let file, let shape, let role, let expected):
            return "\(file): \(role) have shape \(shape), but \(expected)."
        case .integerOverflow(let file, let location):
            return "\(file): the value at \(location) does not fit in a 64-bit signed integer. Convert the array to int64."
        case .writerShapeMismatch(let file, let shape, let count):
            return "\(file): cannot write an array of shape \(shape) from \(count) elements; the shape's product must equal the element count."
        case .countMismatch(let inputsFile, let inputsCount, let labelsFile, let labelsCount):
            return "\(inputsFile) holds \(inputsCount) examples but \(labelsFile) holds \(labelsCount) labels; the first dimensions must match (one label per example)."
        case .raggedRow(let file, let line, let columns, let expected):
            return "\(file): line \(line) has \(columns) columns but the first row has \(expected). Every row must have the label followed by the same number of features."
        case .labelNotInteger(let file, let line):
            return "\(file): line \(line), column 1: the label is not an integer. The first column must hold the class index (0, 1, 2, …)."
        case .nonNumericField(let file, let line, let column):
            return "\(file): line \(line), column \(column): the field is empty or not a number. Every feature must be a decimal number."
        case .emptyDataset(let file):
            return "\(file): the dataset holds no examples."
        case .shapeMismatch(let file, let featureShape, let modelShape):
            return "\(file): each example has shape \(featureShape), but the model expects \(modelShape). Reshape the inputs to N × \(modelShape) before saving them."
        case .labelOutOfRange(let file, let location, let label, let classCount):
            return "\(file): the label at \(location) is \(label), outside the model's classes 0...\(classCount - 1). Labels must be class indices from 0 to \(classCount - 1)."
        case .findingLabelOutOfRange(let file, let location, let finding, let label):
            return "\(file): the label of finding \(finding) at \(location) is \(label). Multi-label entries must be 1 (positive), 0 (negative) or -1 (not labelled)."
        case .labelWidthMismatch(let file, let width, let expected, let findings):
            if findings {
                return "\(file): the model is multi-label with \(expected) findings, but the labels have \(width) per example. Give labels of shape N × \(expected) (1, 0, or -1 for not labelled)."
            }
            return "\(file): the model is single-label, but the labels have \(width) per example. Give one class index per example (shape N)."
        case .nonFiniteFeature(let file, let location):
            return "\(file): the example at \(location) has a NaN or infinite feature (after conversion to float32). Remove or impute it before validation."
        case .featureOutOfRange(let file, let location, let feature, let value, let range):
            return "\(file): the example at \(location) has feature \(feature) (counting from 0) = \(value), outside \(range). Nothing was sent: rescale the inputs as the model expects, or ask the vendor for a wider fixed-point format."
        case .rangeOutOfBounds(let file, let lower, let upper, let count):
            return "\(file): rows \(lower)..<\(upper) requested, but the dataset holds \(count) examples."
        case .badImage(let file, let reason):
            return "\(file): cannot read the image: \(reason)."
        case .unsupportedTransferSyntax(let file, let syntax):
            return "\(file): the DICOM transfer syntax \(syntax) cannot be decoded here (supported: uncompressed, deflated, JPEG baseline/extended/lossless, JPEG-LS, RLE). Convert the file, e.g. with DCMTK's dcmdjpeg or gdcmconv --raw."
        case .malformedLabels(let file, let line, let reason):
            return "\(file): line \(line): \(reason)."
        case .unlabelledImage(let file, let labels):
            return "\(file): the image has no row in \(labels). List every image of the folder with its label, or move the image out of the folder."
        case .missingImage(let file, let labels, let line):
            return "\(labels): line \(line) names \(file), which does not exist. Fix the name or remove the row."
        case .preprocessing(let file, let reason):
            return "\(file): \(reason)"
        case .invalidArgument(let message):
            return message
        }
    }
}

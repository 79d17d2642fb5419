import Foundation

/// A test set stored as a folder holding `inputs.npy` and `labels.npy`.
///
/// Contract:
/// - `inputs.npy` is float32 or float64 (float64 is rounded to float32), C order, rank ≥ 1, shape
///   `N × featureShape`;
/// - `labels.npy` is int32, int64, uint8, int16, uint16 or int8, shape `N` (one class index per
///   example) or `N × C` (a multi-label set: one entry per finding, 1, 0 or −1);
/// - both hold the same `N`.
///
/// `init` reads only the two headers; `batch(_:)` reads just the requested rows of both files, so
/// memory is bounded by the batch size. Errors name the offending file; rows are counted from 0.
public final class NPYFolderDataset: Dataset {
    /// The integer dtypes accepted for labels.
    public static let labelDTypes: [NPYDType] = [.int32, .int64, .uint8, .int16, .uint16, .int8]
    /// The dtypes accepted for inputs.
    public static let inputDTypes: [NPYDType] = [.float32, .float64]

    public let source: String
    public let count: Int
    public let featureShape: [Int]
    public var featuresSource: String { inputs.path }
    public var labelsSource: String { labels.path }
    public var labelWidth: Int { labels.elementsPerRow }

    private let inputs: NPYReader
    private let labels: NPYReader

    /// Opens `folder/inputs.npy` and `folder/labels.npy` and checks their headers.
    ///
    /// - Throws: `.missingFile` naming the missing file, any ``NPYReader`` header error,
    ///   `.wrongDType`, `.wrongRank`, or `.countMismatch` naming both files and counts.
    public init(folder: String) throws {
        let inputsPath = NPYFolderDataset.join(folder, "inputs.npy")
        let labelsPath = NPYFolderDataset.join(folder, "labels.npy")
        for (path, name) in [(inputsPath, "inputs.npy"), (labelsPath, "labels.npy")]
        where !FileManager.default.fileExists(atPath: path) {
            throw DatasetError.missingFile(folder: folder, file: name)
        }
        let inputs = try NPYReader(path: inputsPath)
        let labels = try NPYReader(path: labelsPath)

        guard NPYFolderDataset.inputDTypes.contains(inputs.header.dtype) else {
            throw DatasetError.wrongDType(file: inputsPath, dtype: inputs.header.dtype.rawValue, role: "inputs",
                                          accepted: NPYFolderDataset.inputDTypes.map(\.rawValue))
        }
        guard NPYFolderDataset.labelDTypes.contains(labels.header.dtype) else {
            throw DatasetError.wrongDType(file: labelsPath, dtype: labels.header.dtype.rawValue, role: "labels",
                                          accepted: NPYFolderDataset.labelDTypes.map(\.rawValue))
        }
        guard !inputs.header.shape.isEmpty else {
            throw DatasetError.wrongRank(file: inputsPath, shape: [], role: "inputs",
                                         expected: "inputs must have shape N × the model's input shape")
        }
        guard labels.header.shape.count == 1 || (labels.header.shape.count == 2 && labels.header.shape[1] >= 1) else {
            throw DatasetError.wrongRank(file: labelsPath, shape: labels.header.shape, role: "labels",
                                         expected: "labels must have shape (N,) (one class per example) or (N, C) (one column per finding)")
        }
        guard inputs.rowCount == labels.rowCount else {
            throw DatasetError.countMismatch(inputsFile: inputsPath, inputsCount: inputs.rowCount,
                                             labelsFile: labelsPath, labelsCount: labels.rowCount)
        }
        self.source = folder
        self.inputs = inputs
        self.labels = labels
        self.count = inputs.rowCount
        self.featureShape = inputs.rowShape
    }

    public func batch(_ range: Range<Int>) throws -> DatasetBatch {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw DatasetError.rangeOutOfBounds(file: source, lower: range.lowerBound, upper: range.upperBound,
                                                count: count)
        }
        return DatasetBatch(features: try inputs.readFloats(rows: range),
                            labels: try labels.readIntegers(rows: range), labelWidth: labelWidth)
    }

    /// Reads only `labels.npy`'s rows.
    public func labels(_ range: Range<Int>) throws -> [Int] {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw DatasetError.rangeOutOfBounds(file: source, lower: range.lowerBound, upper: range.upperBound, count: count)
        }
        return try labels.readIntegers(rows: range)
    }

    /// `folder/name`, keeping the folder as the user spelled it (for messages).
    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}

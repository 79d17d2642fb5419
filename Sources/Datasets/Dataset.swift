import Foundation
import Preprocessing

/// A batch of consecutive examples read from a ``Dataset``.
///
/// Contract: `features.count == count × product(featureShape)` and
/// `labels.count == count × labelWidth` of the dataset it came from; `features` holds the examples
/// one after another, each in C order, and `labels` their label rows in the same order.
public struct DatasetBatch: Equatable, Sendable {
    /// The examples' features, C order, example after example.
    public var features: [Float]
    /// `labelWidth` labels per example: one class index, or one entry per finding (1 positive,
    /// 0 negative, −1 not labelled) for a multi-label set.
    public var labels: [Int]
    /// Labels per example (1 for a single-label set).
    public var labelWidth: Int

    public init(features: [Float], labels: [Int], labelWidth: Int = 1) {
        precondition(labelWidth >= 1 && labels.count % labelWidth == 0)
        self.features = features
        self.labels = labels
        self.labelWidth = labelWidth
    }

    /// Number of examples in the batch.
    public var count: Int { labels.count / labelWidth }
}

/// What a dataset's labels are, checked by ``Dataset/validate(inputShape:classCount:labels:batchSize:range:)``.
public enum LabelKind: Sendable, Equatable {
    /// One class index per example, in `0..<classCount` (a single-label model).
    case classIndex
    /// One entry per finding (`classCount` per example): 1 positive, 0 negative, −1 not labelled
    /// (left out of that finding's metric).
    case findings
}

/// A labelled test set held by the hospital, read in batches.
///
/// Contract for conforming types:
/// - `count` examples, each of shape `featureShape` (no batch dimension) with one integer label;
/// - `batch(range)` returns exactly the examples `range` (which must lie in `0..<count`) and reads
///   only what it needs, so that memory stays bounded by the batch size for large sets;
/// - errors are ``DatasetError`` values naming the file, and never contain a feature value.
///
/// The data never leaves the hospital's process through this protocol; it is the engine's job to
/// secret-share the features and labels it reads from here.
public protocol Dataset {
    /// The path the dataset was opened from, for messages.
    var source: String { get }
    /// Number of examples.
    var count: Int { get }
    /// The shape of one example, without the batch dimension.
    var featureShape: [Int] { get }
    /// Reads the examples `range` (which must lie within `0..<count`). May be called from several
    /// threads at once (a validation's lanes read consecutive batches concurrently): the bundled
    /// implementations keep no read position (`.npy` files are read with `pread`).
    func batch(_ range: Range<Int>) throws -> DatasetBatch

    /// The file that holds the features (defaults to `source`), for messages.
    var featuresSource: String { get }
    /// The file that holds the labels (defaults to `source`), for messages.
    var labelsSource: String { get }
    /// Where example `index` lives in its file (defaults to `.row(index)`), for messages.
    func location(ofExample index: Int) -> ExampleLocation
    /// Labels per example (defaults to 1): a multi-label set has one per finding.
    var labelWidth: Int { get }
    /// The labels of the examples `range` only (`labelWidth` per example), without their features
    /// (defaults to `batch(range).labels`).
    func labels(_ range: Range<Int>) throws -> [Int]
}

extension Dataset {
    public var featuresSource: String { source }
    public var labelsSource: String { source }
    public func location(ofExample index: Int) -> ExampleLocation { .row(index) }
    public var labelWidth: Int { 1 }
    public func labels(_ range: Range<Int>) throws -> [Int] { try batch(range).labels }

    /// Number of features per example (product of `featureShape`).
    public var featuresPerExample: Int { featureShape.reduce(1, *) }

    /// Calls `body` with consecutive batches of at most `size` examples covering the whole
    /// dataset, in order. Memory is bounded by one batch.
    public func forEachBatch(size: Int, _ body: (_ range: Range<Int>, _ batch: DatasetBatch) throws -> Void) throws {
        guard size > 0 else { throw DatasetError.invalidArgument("batch size must be positive, got \(size)") }
        var start = 0
        while start < count {
            let range = start..<min(start + size, count)
            try body(range, try batch(range))
            start = range.upperBound
        }
    }

    /// The check's batch: at most 64 examples and about 1 Mi features, so that the memory stays
    /// small and `progress` is called at least every 64 examples.
    static func checkBatchSize(featuresPerExample width: Int) -> Int {
        min(64, max(1, (1 << 20) / max(width, 1)))
    }

    /// Checks, before any computation, that this dataset fits a model: it is not empty, each
    /// example has the model's input shape, every label is a class index in `0..<classCount`
    /// (`labels: .findings`: every example has `classCount` labels, each 1, 0 or −1), and
    /// every feature is finite. Reads the data in batches of `batchSize` examples (by default
    /// `checkBatchSize`: at most 64, and as many as hold about a million features, so memory stays
    /// near 4 MB whatever the input size).
    ///
    /// - Parameters:
    ///   - inputShape: the model's input shape *without* the batch dimension (e.g. `[1, 8, 8]`).
    ///   - classCount: the number of classes the model outputs.
    /// - Throws: ``DatasetError`` `.emptyDataset`, `.shapeMismatch` (naming the features file),
    ///   `.labelOutOfRange` (naming the labels file and the first bad row or line),
    ///   `.nonFiniteFeature` (naming the features file and the first bad row or line), or a
    ///   read error.
    ///
    /// With `range`, every feature must also satisfy `range.accepts` (e.g. fit the fixed-point
    /// format the vendor announced): the whole set is refused, naming the first row and feature at
    /// fault, before anything about it is sent.
    ///
    /// `progress(done, count)` is called after each batch read (an image folder decodes and
    /// preprocesses every image here, about 70 ms for a 2500 × 2048 radiograph); an error it
    /// throws ends the check and is rethrown as it is.
    public func validate(inputShape: [Int], classCount: Int, labels kind: LabelKind = .classIndex, batchSize: Int? = nil,
                         range rangeCheck: FeatureRange? = nil, progress: ((Int, Int) throws -> Void)? = nil) throws {
        guard classCount > 0 else {
            throw DatasetError.invalidArgument("\(source): the model must have at least one class, got \(classCount)")
        }
        guard count > 0 else { throw DatasetError.emptyDataset(file: source) }
        guard featureShape == inputShape else {
            throw DatasetError.shapeMismatch(file: featuresSource, featureShape: featureShape, modelShape: inputShape)
        }
        switch kind {
        case .classIndex where labelWidth != 1:
            throw DatasetError.labelWidthMismatch(file: labelsSource, width: labelWidth, expected: 1, findings: false)
        case .findings where labelWidth != classCount:
            throw DatasetError.labelWidthMismatch(file: labelsSource, width: labelWidth, expected: classCount, findings: true)
        default: break
        }
        let width = featuresPerExample
        try forEachBatch(size: batchSize ?? Self.checkBatchSize(featuresPerExample: width)) { range, batch in
            switch kind {
            case .classIndex:
                for (offset, label) in batch.labels.enumerated() where label < 0 || label >= classCount {
                    throw DatasetError.labelOutOfRange(
                        file: labelsSource, location: location(ofExample: range.lowerBound + offset),
                        label: label, classCount: classCount)
                }
            case .findings:
                for (offset, label) in batch.labels.enumerated() where !(-1...1).contains(label) {
                    throw DatasetError.findingLabelOutOfRange(
                        file: labelsSource, location: location(ofExample: range.lowerBound + offset / labelWidth),
                        finding: offset % labelWidth, label: label)
                }
            }
            if let bad = batch.features.firstIndex(where: { !$0.isFinite }) {
                throw DatasetError.nonFiniteFeature(
                    file: featuresSource, location: location(ofExample: range.lowerBound + bad / max(width, 1)))
            }
            if let limits = rangeCheck, let bad = batch.features.firstIndex(where: { !limits.accepts($0) }) {
                throw DatasetError.featureOutOfRange(
                    file: featuresSource, location: location(ofExample: range.lowerBound + bad / max(width, 1)),
                    feature: bad % max(width, 1), value: batch.features[bad], range: limits.description)
            }
            try progress?(range.upperBound, count)
        }
    }
}

/// The values a model's input can take, for `Dataset.validate(range:)`: a predicate and its
/// description for error messages ("the fixed-point range of ℓ = 37, s = 12: |x| < 16384").
public struct FeatureRange: Sendable {
    public let accepts: @Sendable (Float) -> Bool
    public let description: String

    public init(description: String, accepts: @escaping @Sendable (Float) -> Bool) {
        self.description = description
        self.accepts = accepts
    }
}

/// Opens a dataset, choosing the format from the path:
/// - a folder holding `inputs.npy` → ``NPYFolderDataset`` (it must hold `labels.npy` too);
/// - a folder holding `labels.csv` and no `inputs.npy` → ``ImageFolderDataset`` (PNG, JPEG,
///   DICOM; not yet preprocessed: see ``Dataset/preparing(preprocessing:inputShape:findings:)``);
/// - a file ending in `.csv` (any case) → ``CSVDataset`` (with `labelColumns` label columns first);
/// - anything else → `.unsupportedFormat`, whose message lists the accepted formats.
///
/// Only headers (NPY) are read here for folders; CSV files are parsed whole.
public func openDataset(path: String, labelColumns: Int = 1) throws -> any Dataset {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw DatasetError.notFound(path: path)
    }
    if isDirectory.boolValue {
        let hasArrays = FileManager.default.fileExists(atPath: NPYFolderDataset.join(path, "inputs.npy"))
        if !hasArrays && FileManager.default.fileExists(atPath: NPYFolderDataset.join(path, ImageFolderDataset.labelsFile)) {
            return try ImageFolderDataset(folder: path)
        }
        guard labelColumns == 1 else {
            throw DatasetError.invalidArgument("\(path): label columns apply to CSV files; a folder's labels.npy has its own shape (N, or N × findings)")
        }
        return try NPYFolderDataset(folder: path)
    }
    if path.lowercased().hasSuffix(".csv") {
        return try CSVDataset(path: path, labelColumns: labelColumns)
    }
    throw DatasetError.unsupportedFormat(path: path)
}

/// A dataset whose features the model's declared preprocessing makes from files (an image
/// folder): opened without a model, then prepared once the model's public declarations are known.
public protocol PreprocessedDataset: Dataset {
    /// The dataset with the model's `preprocessing` applied, whose examples have `inputShape`.
    /// `findings`: the model's declared finding names (a multi-label set's columns are matched by
    /// name when given). Throws ``DatasetError/preprocessing(file:reason:)`` when the model
    /// declares no preprocessing.
    func prepared(preprocessing: Preprocessing?, inputShape: [Int], findings: [String]?) throws -> any Dataset
    /// Feeds every byte the dataset's commitment binds (its labels file and every image file) to
    /// `update`, in a fixed order; the commitment then holds whatever the preprocessing.
    func commitmentContent(_ update: (UnsafeRawBufferPointer) -> Void) throws
}

extension Dataset {
    /// This dataset ready for a model with the given public declarations: an image folder is
    /// preprocessed as the model declares; any other dataset is returned as is (its arrays are
    /// taken to be preprocessed already).
    public func preparing(preprocessing: Preprocessing?, inputShape: [Int], findings: [String]? = nil) throws -> any Dataset {
        guard let deferred = self as? any PreprocessedDataset else { return self }
        return try deferred.prepared(preprocessing: preprocessing, inputShape: inputShape, findings: findings)
    }
}

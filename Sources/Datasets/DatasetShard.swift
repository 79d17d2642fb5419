/// One of `shards` contiguous, near-equal slices of a dataset, for splitting one test set into the
/// parts of a pooled validation run in parallel: shard i (0-based) holds examples
/// ⌊i·N/K⌋ ..< ⌊(i+1)·N/K⌋, so the shards cover the set exactly once, in order.
///
/// Reads go to the base dataset (nothing is copied); messages name the base file and the row in it.
public struct DatasetShard: Dataset {
    public let base: any Dataset
    /// 0-based.
    public let index: Int
    public let shards: Int
    /// The base dataset's examples this shard holds.
    public let rows: Range<Int>

    /// Throws `DatasetError.invalidArgument` unless 0 ≤ index < shards ≤ the base's examples.
    public init(_ base: any Dataset, index: Int, of shards: Int) throws {
        guard shards >= 1, (0..<shards).contains(index) else {
            throw DatasetError.invalidArgument("shard \(index + 1) of \(shards) does not exist (shards are numbered 1 to K)")
        }
        guard shards <= base.count else {
            throw DatasetError.invalidArgument("\(base.source) has \(base.count) examples: it cannot be split into \(shards) shards")
        }
        self.base = base
        self.index = index
        self.shards = shards
        rows = (index * base.count / shards)..<((index + 1) * base.count / shards)
    }

    public var source: String { "\(base.source) (shard \(index + 1)/\(shards): rows \(rows.lowerBound + 1)–\(rows.upperBound))" }
    public var count: Int { rows.count }
    public var featureShape: [Int] { base.featureShape }
    public var featuresSource: String { base.featuresSource }
    public var labelsSource: String { base.labelsSource }
    public var labelWidth: Int { base.labelWidth }

    public func batch(_ range: Range<Int>) throws -> DatasetBatch {
        try base.batch(shifted(range))
    }

    public func labels(_ range: Range<Int>) throws -> [Int] {
        try base.labels(shifted(range))
    }

    public func location(ofExample index: Int) -> ExampleLocation {
        base.location(ofExample: rows.lowerBound + index)
    }

    private func shifted(_ range: Range<Int>) -> Range<Int> {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows.count, "examples \(range) outside a shard of \(rows.count)")
        return (rows.lowerBound + range.lowerBound)..<(rows.lowerBound + range.upperBound)
    }
}

/// The I-th of K contiguous slices of `dataset` (`index` from 0): an image folder's own subset
/// (so that it is still preprocessed by the model's declaration and commits to its files), any
/// other dataset as a ``DatasetShard``.
public func shard(_ dataset: any Dataset, index: Int, of shards: Int) throws -> any Dataset {
    let slice = try DatasetShard(dataset, index: index, of: shards)
    if let images = dataset as? ImageFolderDataset { return images.subset(slice.rows) }
    return slice
}

/// Seeded pseudo-random examples (features uniform in [0, 1), labels uniform over the classes, or
/// with `labelWidth` > 1 one label per finding, 0 or 1) for benchmarks of models that come without
/// a test set (e.g. a DenseNet-121 export). Not for anything secret: the generator is a plain
/// SplitMix64.
public struct RandomDataset: Dataset, Sendable {
    public let source: String
    public let count: Int
    public let featureShape: [Int]
    public let classes: Int
    public let seed: UInt64
    public let labelWidth: Int

    public init(count: Int, featureShape: [Int], classes: Int, seed: UInt64 = 1, labelWidth: Int = 1) {
        self.labelWidth = labelWidth
        self.source = "random(\(count)×\(featureShape), seed \(seed))"
        self.count = count
        self.featureShape = featureShape
        self.classes = classes
        self.seed = seed
    }

    public func batch(_ range: Range<Int>) throws -> DatasetBatch {
        let width = featureShape.reduce(1, *)
        var features: [Float] = []
        features.reserveCapacity(range.count * width)
        var labels: [Int] = []
        for example in range {
            // One stream per example, so any range reads the same values.
            var state = seed &+ UInt64(example) &* 0x9E37_79B9_7F4A_7C15
            func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
            for _ in 0..<width { features.append(Float(next() >> 40) / Float(1 << 24)) }
            if labelWidth == 1 {
                labels.append(Int(next() % UInt64(max(classes, 1))))
            } else {
                for _ in 0..<labelWidth { labels.append(Int(next() & 1)) }
            }
        }
        return DatasetBatch(features: features, labels: labels, labelWidth: labelWidth)
    }
}

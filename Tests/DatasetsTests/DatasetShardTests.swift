import Foundation
import Testing
@testable import Datasets

/// Shards cover a set exactly once, in order, in near-equal contiguous slices, and name the base
/// file's rows in their messages.
@Suite struct DatasetShardTests {
    @Test(arguments: [(143, 3), (360, 4), (10, 10), (7, 1)])
    func shardsCoverTheSetOnceInOrder(count: Int, shards: Int) throws {
        let base = RandomDataset(count: count, featureShape: [3], classes: 4, seed: 9)
        var features: [Float] = [], labels: [Int] = []
        var sizes: [Int] = []
        for i in 0..<shards {
            let shard = try DatasetShard(base, index: i, of: shards)
            sizes.append(shard.count)
            let batch = try shard.batch(0..<shard.count)
            features += batch.features
            labels += try shard.labels(0..<shard.count)
            #expect(batch.labels == (try shard.labels(0..<shard.count)))
        }
        let whole = try base.batch(0..<count)
        #expect(features == whole.features && labels == whole.labels)
        #expect(sizes.max()! - sizes.min()! <= 1 && sizes.reduce(0, +) == count)
    }

    @Test func messagesNameTheBaseRowsAndBadShardsAreRefused() throws {
        let csv = try CSVDataset(contents: Data("label,a,b\n0,1,2\n1,3,4\n0,5,6\n1,7,8\n".utf8), source: "set.csv")
        let shard = try DatasetShard(csv, index: 1, of: 2)
        #expect(shard.count == 2)
        #expect(shard.location(ofExample: 0) == csv.location(ofExample: 2))
        #expect(shard.source == "set.csv (shard 2/2: rows 3–4)")
        #expect(throws: DatasetError.self) { try DatasetShard(csv, index: 2, of: 2) }
        #expect(throws: DatasetError.self) { try DatasetShard(csv, index: 0, of: 5) }
    }
}

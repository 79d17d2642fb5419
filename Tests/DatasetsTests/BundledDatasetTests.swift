import Foundation
import Testing
@testable import Datasets

/// The small real test sets shipped under Datasets/ (skipped when they are absent).
@Suite struct BundledDatasetTests {
    static func bundled(_ name: String) -> String { repositoryRoot.appendingPathComponent("Datasets").appendingPathComponent(name).path }
    static func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: bundled(name)) }

    @Test(.enabled(if: exists("digits-test")))
    func digits() throws {
        let dataset = try openDataset(path: Self.bundled("digits-test"))
        #expect(dataset.count == 360)
        #expect(dataset.featureShape == [1, 8, 8])
        try dataset.validate(inputShape: [1, 8, 8], classCount: 10, batchSize: 100)
        let labels = try dataset.batch(0..<dataset.count).labels
        #expect(Set(labels) == Set(0..<10))
        expectDatasetError(naming: "digits-test/inputs.npy") { try dataset.validate(inputShape: [64], classCount: 10) }
    }

    @Test(.enabled(if: exists("breast-cancer-test") && exists("breast-cancer-test.csv")))
    func breastCancerFolderAndCSVAgree() throws {
        let folder = try openDataset(path: Self.bundled("breast-cancer-test"))
        let csv = try openDataset(path: Self.bundled("breast-cancer-test.csv"))
        for dataset in [folder, csv] {
            #expect(dataset.featureShape == [30])
            try dataset.validate(inputShape: [30], classCount: 2)
        }
        #expect(csv.count == folder.count)
        let fromFolder = try folder.batch(0..<folder.count)
        let fromCSV = try csv.batch(0..<csv.count)
        #expect(Set(fromFolder.labels) == [0, 1])
        #expect(fromCSV.labels == fromFolder.labels)
        #expect(fromCSV.features == fromFolder.features)
    }
}

import Foundation
import Testing
@testable import Datasets

/// `Dataset.validate(inputShape:classCount:)` and `openDataset(path:)`.
@Suite struct ValidationTests {
    @Test func acceptsAMatchingDataset() throws {
        let temporary = try TemporaryFolder()
        let path = try temporary.npyFolder("ok", inputs: (0..<40).map(Float.init), shape: [10, 1, 2, 2],
                                           labels: (0..<10).map { Int64($0 % 3) })
        try NPYFolderDataset(folder: path).validate(inputShape: [1, 2, 2], classCount: 3, batchSize: 3)
        try NPYFolderDataset(folder: path).validate(inputShape: [1, 2, 2], classCount: 3)
    }

    @Test func rejectsShapeMismatchNamingTheInputsFile() throws {
        let temporary = try TemporaryFolder()
        let path = try temporary.npyFolder("digits-test", inputs: [Float](repeating: 0, count: 128), shape: [2, 64],
                                           labels: [0, 1])
        let dataset = try NPYFolderDataset(folder: path)
        let error = expectDatasetError(naming: path + "/inputs.npy") {
            try dataset.validate(inputShape: [1, 8, 8], classCount: 10)
        }
        #expect(error == .shapeMismatch(file: path + "/inputs.npy", featureShape: [64], modelShape: [1, 8, 8]))
        #expect(error?.description.contains("digits-test/inputs.npy: each example has shape [64], but the model expects [1, 8, 8]") == true)
    }

    @Test func rejectsLabelOutOfRangeNamingTheRow() throws {
        let temporary = try TemporaryFolder()
        for (labels, row, label) in [([0, 1, 2, 3, 9, 10, 1], 5, 10), ([0, -1, 2], 1, -1)] as [([Int64], Int, Int)] {
            let path = try temporary.npyFolder("set\(row)", inputs: [Float](repeating: 1, count: labels.count * 2),
                                               shape: [labels.count, 2], labels: labels)
            let dataset = try NPYFolderDataset(folder: path)
            let error = expectDatasetError(naming: path + "/labels.npy") {
                try dataset.validate(inputShape: [2], classCount: 10, batchSize: 2)
            }
            #expect(error == .labelOutOfRange(file: path + "/labels.npy", location: .row(row), label: label, classCount: 10))
            #expect(error?.description.contains("row \(row)") == true)
            #expect(error?.description.contains("0...9") == true)
        }
    }

    @Test func rejectsNonFiniteFeaturesNamingTheRow() throws {
        let temporary = try TemporaryFolder()
        for (bad, value) in [(7, Float.nan), (3, .infinity), (0, -.infinity)] {
            var inputs = [Float](repeating: 0.5, count: 10 * 4)
            inputs[bad * 4 + 2] = value
            let path = try temporary.npyFolder("set\(bad)", inputs: inputs, shape: [10, 4], labels: [Int64](repeating: 0, count: 10))
            expectDatasetError(.nonFiniteFeature(file: path + "/inputs.npy", location: .row(bad)), naming: path + "/inputs.npy") {
                try NPYFolderDataset(folder: path).validate(inputShape: [4], classCount: 2, batchSize: 3)
            }
        }
    }

    @Test func float64BeyondFloat32RangeIsNotFinite() throws {
        let temporary = try TemporaryFolder()
        let path = temporary.path("f64")
        var payload = [UInt8]()
        for value in [1.0, 1e300] { payload += littleEndianBytes([value.bitPattern]) }
        try temporary.write(npyBytes(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }\n", payload: payload),
                            to: "f64/inputs.npy")
        try NPYWriter.write(int64: [0, 0], shape: [2], to: path + "/labels.npy")
        expectDatasetError(.nonFiniteFeature(file: path + "/inputs.npy", location: .row(1)), naming: path + "/inputs.npy") {
            try NPYFolderDataset(folder: path).validate(inputShape: [1], classCount: 1)
        }
    }

    @Test func rejectsAnEmptyDataset() throws {
        let temporary = try TemporaryFolder()
        let path = try temporary.npyFolder("empty", inputs: [], shape: [0, 3], labels: [])
        expectDatasetError(.emptyDataset(file: path), naming: path) {
            try NPYFolderDataset(folder: path).validate(inputShape: [3], classCount: 2)
        }
        let csv = try temporary.write("label,a\n", to: "empty.csv")
        expectDatasetError(.emptyDataset(file: csv), naming: csv) {
            try openDataset(path: csv).validate(inputShape: [1], classCount: 2)
        }
    }

    @Test func csvErrorsNameTheLine() throws {
        let temporary = try TemporaryFolder()
        let path = try temporary.write("y,a,b\n0,1,2\n\n1,nan,2\n2,1,1\n", to: "t.csv")
        let dataset = try openDataset(path: path)
        expectDatasetError(.nonFiniteFeature(file: path, location: .line(4)), naming: path) {
            try dataset.validate(inputShape: [2], classCount: 3)
        }
        let error = expectDatasetError(naming: path) { try dataset.validate(inputShape: [2], classCount: 2) }
        #expect(error == .labelOutOfRange(file: path, location: .line(5), label: 2, classCount: 2))
        #expect(error?.description.contains("line 5") == true)
        expectDatasetError(.shapeMismatch(file: path, featureShape: [2], modelShape: [3]), naming: path) {
            try dataset.validate(inputShape: [3], classCount: 3)
        }
    }

    @Test func rejectsAZeroClassCount() throws {
        let dataset = try CSVDataset(contents: Data("0,1\n".utf8), source: "t.csv")
        let error = expectDatasetError(naming: "t.csv") { try dataset.validate(inputShape: [1], classCount: 0) }
        guard case .invalidArgument = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func openDatasetChoosesTheFormat() throws {
        let temporary = try TemporaryFolder()
        let folder = try temporary.npyFolder("set", inputs: [1, 2], shape: [1, 2], labels: [1])
        #expect(try openDataset(path: folder) is NPYFolderDataset)
        let csv = try temporary.write("1,2,3\n", to: "t.CSV")
        #expect(try openDataset(path: csv) is CSVDataset)
        #expect(try openDataset(path: csv).featureShape == [2])

        let npy = folder + "/inputs.npy"
        let npyError = expectDatasetError(naming: npy) { _ = try openDataset(path: npy) }
        #expect(npyError == .unsupportedFormat(path: npy))
        #expect(npyError?.description.contains("the folder that holds inputs.npy and labels.npy") == true)

        let text = try temporary.write("1,2\n", to: "t.txt")
        let textError = expectDatasetError(naming: text) { _ = try openDataset(path: text) }
        #expect(textError == .unsupportedFormat(path: text))
        #expect(textError?.description.contains(".csv") == true)
        #expect(textError?.description.contains("inputs.npy") == true)

        let missing = temporary.path("nothing")
        expectDatasetError(.notFound(path: missing), naming: missing) { _ = try openDataset(path: missing) }
        let emptyFolder = temporary.path("empty-folder")
        try FileManager.default.createDirectory(atPath: emptyFolder, withIntermediateDirectories: true)
        expectDatasetError(.missingFile(folder: emptyFolder, file: "inputs.npy"), naming: emptyFolder) {
            _ = try openDataset(path: emptyFolder)
        }
    }

    @Test func everyMessageIsNonEmptyAndEndsWithAPeriod() {
        let location = ExampleLocation.row(3)
        let errors: [DatasetError] = [
            .notFound(path: "p"), .unsupportedFormat(path: "p"), .missingFile(folder: "p", file: "inputs.npy"),
            .unreadable(file: "p", reason: "r"), .unwritable(file: "p", reason: "r"), .notNPY(file: "p"),
            .unsupportedNPYVersion(file: "p", major: 9, minor: 0), .malformedNPYHeader(file: "p", reason: "r"),
            .fortranOrder(file: "p"), .bigEndian(file: "p", descr: ">f4"), .unsupportedDType(file: "p", descr: "<c8"),
            .wrongDType(file: "p", dtype: "<i8", role: "inputs", accepted: ["<f4"]),
            .truncated(file: "p", expectedBytes: 2, actualBytes: 1), .invalidShape(file: "p", shape: "(-1,)"),
            .wrongRank(file: "p", shape: [], role: "inputs", expected: "e"),
            .integerOverflow(file: "p", location: location), .writerShapeMismatch(file: "p", shape: [2], elementCount: 1),
            .countMismatch(inputsFile: "p", inputsCount: 1, labelsFile: "q", labelsCount: 2),
            .raggedRow(file: "p", line: 1, columns: 1, expected: 2), .labelNotInteger(file: "p", line: 1),
            .nonNumericField(file: "p", line: 1, column: 2), .emptyDataset(file: "p"),
            .shapeMismatch(file: "p", featureShape: [1], modelShape: [2]),
            .labelOutOfRange(file: "p", location: location, label: 5, classCount: 2),
            .nonFiniteFeature(file: "p", location: location), .rangeOutOfBounds(file: "p", lower: 0, upper: 2, count: 1),
        ]
        for error in errors {
            #expect(error.description.hasPrefix("p"))
            #expect(error.description.hasSuffix("."))
        }
    }
}

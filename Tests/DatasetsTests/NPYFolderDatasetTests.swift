import Foundation
import Testing
@testable import Datasets

@Suite struct NPYFolderDatasetTests {
    /// Copies numpy fixtures into `name/inputs.npy` and `name/labels.npy`.
    private func folder(_ temporary: TemporaryFolder, _ name: String, inputs: String, labels: String) throws -> String {
        try temporary.write(try fixtureBytes(inputs), to: "\(name)/inputs.npy")
        try temporary.write(try fixtureBytes(labels), to: "\(name)/labels.npy")
        return temporary.path(name)
    }

    @Test func readsNumpyWrittenFolder() throws {
        let temporary = try TemporaryFolder()
        let path = try folder(temporary, "set", inputs: "f32_3x2x2.npy", labels: "labels_i8.npy")
        let dataset = try NPYFolderDataset(folder: path)
        #expect(dataset.source == path)
        #expect(dataset.count == 3)
        #expect(dataset.featureShape == [2, 2])
        #expect(dataset.featuresPerExample == 4)
        #expect(dataset.featuresSource == path + "/inputs.npy")
        #expect(dataset.labelsSource == path + "/labels.npy")
        #expect(try dataset.batch(0..<3) == DatasetBatch(features: referenceFloats, labels: [0, 2, 1]))
        #expect(try dataset.batch(1..<2) == DatasetBatch(features: Array(referenceFloats[4..<8]), labels: [2]))
        #expect(try dataset.batch(3..<3) == DatasetBatch(features: [], labels: []))
        #expect(dataset.location(ofExample: 2) == .row(2))
    }

    @Test(arguments: ["labels_u2.npy", "labels_i2.npy", "labels_i1.npy"])
    func readsFloat64InputsAndSmallIntegerLabels(labels: String) throws {
        let temporary = try TemporaryFolder()
        let dataset = try NPYFolderDataset(folder: try folder(temporary, "set", inputs: "f64_2x3.npy", labels: labels))
        #expect(dataset.count == 2)
        #expect(dataset.featureShape == [3])
        #expect(try dataset.batch(0..<2).features == (0..<6).map { Float(Double($0) / 3) })
    }

    @Test func acceptsUInt8AndInt32Labels() throws {
        let temporary = try TemporaryFolder()
        for labels in ["labels_u1.npy", "labels_i4.npy"] {
            let dataset = try NPYFolderDataset(folder: try folder(temporary, labels, inputs: "f32_3x2x2.npy", labels: labels))
            #expect(dataset.count == 3)
        }
    }

    @Test func batchesEqualTheWholeRead() throws {
        let temporary = try TemporaryFolder()
        let count = 50
        let inputs = (0..<(count * 6)).map { Float($0) * 0.25 }
        let labels = (0..<count).map { Int64($0 % 4) }
        let path = try temporary.npyFolder("set", inputs: inputs, shape: [count, 2, 3], labels: labels)
        let dataset = try NPYFolderDataset(folder: path + "/")  // a trailing slash is fine
        #expect(dataset.featuresSource == path + "/inputs.npy")
        let whole = try dataset.batch(0..<count)
        #expect(whole == DatasetBatch(features: inputs, labels: labels.map(Int.init)))
        var features = [Float](), collected = [Int](), ranges = [Range<Int>]()
        try dataset.forEachBatch(size: 16) { range, batch in
            ranges.append(range)
            features += batch.features
            collected += batch.labels
        }
        #expect(ranges == [0..<16, 16..<32, 32..<48, 48..<50])
        #expect(DatasetBatch(features: features, labels: collected) == whole)
        expectDatasetError(.rangeOutOfBounds(file: path + "/", lower: 40, upper: 51, count: 50), naming: path) {
            _ = try dataset.batch(40..<51)
        }
    }

    @Test func namesTheMissingFile() throws {
        let temporary = try TemporaryFolder()
        let onlyLabels = temporary.path("only-labels")
        try temporary.write(try fixtureBytes("labels_i8.npy"), to: "only-labels/labels.npy")
        expectDatasetError(.missingFile(folder: onlyLabels, file: "inputs.npy"), naming: "inputs.npy") {
            _ = try NPYFolderDataset(folder: onlyLabels)
        }
        let onlyInputs = temporary.path("only-inputs")
        try temporary.write(try fixtureBytes("f32_3x2x2.npy"), to: "only-inputs/inputs.npy")
        let error = expectDatasetError(naming: onlyInputs) { _ = try NPYFolderDataset(folder: onlyInputs) }
        #expect(error == .missingFile(folder: onlyInputs, file: "labels.npy"))
        #expect(error?.description.contains("labels.npy") == true)
    }

    @Test func rejectsCountMismatchNamingBothFiles() throws {
        let temporary = try TemporaryFolder()
        let path = try folder(temporary, "set", inputs: "f32_3x2x2.npy", labels: "labels_i2.npy")
        let error = expectDatasetError(naming: path + "/inputs.npy") { _ = try NPYFolderDataset(folder: path) }
        #expect(error == .countMismatch(inputsFile: path + "/inputs.npy", inputsCount: 3,
                                        labelsFile: path + "/labels.npy", labelsCount: 2))
        #expect(error?.description.contains(path + "/labels.npy") == true)
    }

    @Test func rejectsWrongDTypes() throws {
        let temporary = try TemporaryFolder()
        let integerInputs = try folder(temporary, "a", inputs: "labels_i8.npy", labels: "labels_i8.npy")
        expectDatasetError(.wrongDType(file: integerInputs + "/inputs.npy", dtype: "<i8", role: "inputs", accepted: ["<f4", "<f8"]),
                           naming: integerInputs + "/inputs.npy") { _ = try NPYFolderDataset(folder: integerInputs) }
        for (name, labels, dtype) in [("b", "f32_3x2x2.npy", "<f4"), ("c", "bool_4.npy", "|b1")] {
            let path = try folder(temporary, name, inputs: "f32_3x2x2.npy", labels: labels)
            let error = expectDatasetError(naming: path + "/labels.npy") { _ = try NPYFolderDataset(folder: path) }
            #expect(error == .wrongDType(file: path + "/labels.npy", dtype: dtype, role: "labels",
                                         accepted: ["<i4", "<i8", "|u1", "<i2", "<u2", "|i1"]))
        }
        let folderPath = temporary.path("d")
        try temporary.write(try fixtureBytes("f32_3x2x2.npy"), to: "d/inputs.npy")
        try temporary.write(npyBytes(header: "{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }\n",
                                     payload: [UInt8](repeating: 0, count: 12)), to: "d/labels.npy")
        let error = expectDatasetError(naming: folderPath + "/labels.npy") { _ = try NPYFolderDataset(folder: folderPath) }
        guard case .wrongDType(_, "<u4", "labels", _) = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func rejectsWrongRanks() throws {
        let temporary = try TemporaryFolder()
        let scalar = try folder(temporary, "a", inputs: "f32_scalar.npy", labels: "labels_i8.npy")
        let error = expectDatasetError(naming: scalar + "/inputs.npy") { _ = try NPYFolderDataset(folder: scalar) }
        guard case .wrongRank(_, [], "inputs", _) = error else { Issue.record("got \(String(describing: error))"); return }

        let path = temporary.path("b")
        try temporary.write(try fixtureBytes("f32_3x2x2.npy"), to: "b/inputs.npy")
        try NPYWriter.write(int64: [0, 1, 2], shape: [3, 1, 1], to: path + "/labels.npy")
        let labelsError = expectDatasetError(naming: path + "/labels.npy") { _ = try NPYFolderDataset(folder: path) }
        guard case .wrongRank(_, [3, 1, 1], "labels", _) = labelsError else {
            Issue.record("got \(String(describing: labelsError))")
            return
        }
    }

    @Test("labels of shape N × C are a multi-label set: rows per example, checked as 1/0/−1 against the model's findings")
    func multiLabelRows() throws {
        let temporary = try TemporaryFolder()
        let path = temporary.path("m")
        try temporary.write(try fixtureBytes("f32_3x2x2.npy"), to: "m/inputs.npy")
        try NPYWriter.write(int64: [1, 0, -1, 0, 1, 1], shape: [3, 2], to: path + "/labels.npy")
        let dataset = try NPYFolderDataset(folder: path)
        #expect(dataset.count == 3 && dataset.labelWidth == 2)
        let batch = try dataset.batch(1..<3)
        #expect(batch.labels == [-1, 0, 1, 1] && batch.count == 2 && batch.labelWidth == 2)
        #expect(try dataset.labels(1..<3) == batch.labels, "the labels alone, without reading the features")
        #expect(throws: DatasetError.self) { try dataset.labels(2..<4) }
        try dataset.validate(inputShape: [2, 2], classCount: 2, labels: .findings)
        expectDatasetError(.labelWidthMismatch(file: path + "/labels.npy", width: 2, expected: 3, findings: true), naming: path + "/labels.npy") {
            try dataset.validate(inputShape: [2, 2], classCount: 3, labels: .findings)
        }
        expectDatasetError(.labelWidthMismatch(file: path + "/labels.npy", width: 2, expected: 1, findings: false), naming: path + "/labels.npy") {
            try dataset.validate(inputShape: [2, 2], classCount: 2)
        }
        try NPYWriter.write(int64: [1, 0, -1, 0, 2, 1], shape: [3, 2], to: path + "/labels.npy")
        expectDatasetError(.findingLabelOutOfRange(file: path + "/labels.npy", location: .row(2), finding: 0, label: 2), naming: path + "/labels.npy") {
            try NPYFolderDataset(folder: path).validate(inputShape: [2, 2], classCount: 2, labels: .findings)
        }
    }

    @Test func reportsHeaderErrorsOfTheInputsFile() throws {
        let temporary = try TemporaryFolder()
        let path = try folder(temporary, "set", inputs: "fortran_2x3.npy", labels: "labels_i2.npy")
        expectDatasetError(.fortranOrder(file: path + "/inputs.npy"), naming: path + "/inputs.npy") {
            _ = try NPYFolderDataset(folder: path)
        }
    }
}

import Foundation
import Testing
@testable import Datasets

@Suite struct CSVDatasetTests {
    private func parse(_ text: String, source: String = "test.csv") throws -> CSVDataset {
        try CSVDataset(contents: Data(text.utf8), source: source)
    }

    @Test func readsRowsWithoutHeader() throws {
        let dataset = try parse("0,1.5,2\n1,3,-4e2\n")
        #expect(!dataset.hasHeader)
        #expect(dataset.count == 2)
        #expect(dataset.featureShape == [2])
        #expect(try dataset.batch(0..<2) == DatasetBatch(features: [1.5, 2, 3, -400], labels: [0, 1]))
        #expect(dataset.location(ofExample: 1) == .line(2))
    }

    @Test func readsRowsWithHeader() throws {
        let dataset = try parse("label,mean radius,mean texture\n1,17.99,10.38\n0,20.57,17.77\n")
        #expect(dataset.hasHeader)
        #expect(dataset.count == 2)
        #expect(dataset.featureShape == [2])
        #expect(try dataset.batch(0..<2) == DatasetBatch(features: [17.99, 10.38, 20.57, 17.77], labels: [1, 0]))
        #expect(dataset.location(ofExample: 0) == .line(2))
        // A header whose first field is empty (pandas' index column) is still a header.
        #expect(try parse(",a\n0,1\n").hasHeader)
    }

    @Test func toleratesCRLFBlankLinesBOMSpacesQuotesAndNoFinalNewline() throws {
        let text = "\u{FEFF}\"label\",\"x\",\"y\"\r\n\r\n 2 , 0.5,\t1 \r\n   \r\n\"3\",\"7\",8"
        let dataset = try parse(text)
        #expect(dataset.hasHeader)
        #expect(try dataset.batch(0..<2) == DatasetBatch(features: [0.5, 1, 7, 8], labels: [2, 3]))
        #expect(dataset.location(ofExample: 0) == .line(3))
        #expect(dataset.location(ofExample: 1) == .line(5))
    }

    @Test func acceptsIntegralDecimalLabels() throws {
        let dataset = try parse("3.0,1\n-0.0,2\n1e1,3\n")
        #expect(try dataset.batch(0..<3).labels == [3, 0, 10])
    }

    @Test func parsesFeaturesAsDoubleThenFloat() throws {
        // The same rounding as a float64 .npy file: text → Double → Float.
        let text = "0,0.1,3.4028235677973366e+38,1e-50,nan,-inf\n"
        let features = try parse(text).batch(0..<1).features
        #expect(features[0] == Float(0.1 as Double))
        #expect(features[1] == Float(3.4028235677973366e+38 as Double))
        #expect(features[2] == 0)
        #expect(features[3].isNaN)
        #expect(features[4] == -.infinity)
    }

    @Test func rejectsNonIntegerLabels() throws {
        for (text, line) in [("3.5,1\n", 1), ("0,1\n\nabc,2\n", 3), ("a,b\n,1\n", 2), ("0,1\n1e400,2\n", 2),
                             ("0,1\nnan,2\n", 2), ("0,1\n99999999999999999999,2\n", 2)] {
            expectDatasetError(.labelNotInteger(file: "t.csv", line: line), naming: "t.csv") {
                _ = try parse(text, source: "t.csv")
            }
        }
    }

    @Test func rejectsRaggedRows() throws {
        expectDatasetError(.raggedRow(file: "t.csv", line: 4, columns: 2, expected: 3), naming: "t.csv") {
            _ = try parse("y,a,b\n0,1,2\n\n1,2\n", source: "t.csv")
        }
        expectDatasetError(.raggedRow(file: "t.csv", line: 2, columns: 4, expected: 3), naming: "t.csv") {
            _ = try parse("0,1,2\r\n1,2,3,\r\n", source: "t.csv")
        }
    }

    @Test func rejectsNonNumericFieldsWithoutEchoingThem() throws {
        let error = expectDatasetError(naming: "t.csv") { _ = try parse("0,1,2\n1,2,secret42x\n", source: "t.csv") }
        #expect(error == .nonNumericField(file: "t.csv", line: 2, column: 3))
        #expect(error?.description.contains("secret42x") == false)
        expectDatasetError(.nonNumericField(file: "t.csv", line: 1, column: 2), naming: "t.csv") {
            _ = try parse("0,,2\n", source: "t.csv")
        }
    }

    @Test func emptyFilesHaveNoExamples() throws {
        #expect(try parse("").count == 0)
        #expect(try parse("\n\n").count == 0)
        let headerOnly = try parse("label,a,b\n")
        #expect(headerOnly.count == 0)
        #expect(headerOnly.featureShape == [2])
    }

    @Test func batchesEqualTheWholeRead() throws {
        let rows = (0..<37).map { row in "\(row % 3)," + (0..<5).map { String(Double(row * 5 + $0) / 8) }.joined(separator: ",") }
        let dataset = try parse("label,a,b,c,d,e\n" + rows.joined(separator: "\n"))
        let whole = try dataset.batch(0..<37)
        #expect(whole.features == (0..<185).map { Float(Double($0) / 8) })
        var features = [Float](), labels = [Int]()
        try dataset.forEachBatch(size: 10) { _, batch in
            features += batch.features
            labels += batch.labels
        }
        #expect(DatasetBatch(features: features, labels: labels) == whole)
        #expect(try dataset.batch(5..<7) == DatasetBatch(features: Array(whole.features[25..<35]), labels: Array(whole.labels[5..<7])))
        expectDatasetError(.rangeOutOfBounds(file: "test.csv", lower: 0, upper: 38, count: 37), naming: "test.csv") {
            _ = try dataset.batch(0..<38)
        }
    }

    @Test func readsFilesAndNamesMissingOnes() throws {
        let temporary = try TemporaryFolder()
        let path = try temporary.write("1,2,3\n", to: "t.csv")
        let dataset = try CSVDataset(path: path)
        #expect(dataset.source == path)
        #expect(try dataset.batch(0..<1) == DatasetBatch(features: [2, 3], labels: [1]))
        let missing = temporary.path("missing.csv")
        expectDatasetError(.notFound(path: missing), naming: missing) { _ = try CSVDataset(path: missing) }
    }
}

@Suite struct CSVMultiLabelTests {
    @Test("--label-columns C: the first C columns are the findings' labels, the rest features; too few columns and a folder are refused")
    func labelColumns() throws {
        let text = "even,big,x,y\n1,0,0.5,1.5\n-1,1,2,3\n"
        let dataset = try CSVDataset(contents: Data(text.utf8), source: "m.csv", labelColumns: 2)
        #expect(dataset.count == 2 && dataset.labelWidth == 2 && dataset.featureShape == [2] && dataset.hasHeader)
        #expect(try dataset.batch(0..<2) == DatasetBatch(features: [0.5, 1.5, 2, 3], labels: [1, 0, -1, 1], labelWidth: 2))
        #expect(try dataset.batch(1..<2).labels == [-1, 1])
        try dataset.validate(inputShape: [2], classCount: 2, labels: .findings)
        expectDatasetError(naming: "m.csv") { _ = try CSVDataset(contents: Data("1,0\n".utf8), source: "m.csv", labelColumns: 2) }
        let temporary = try TemporaryFolder()
        let folder = try temporary.npyFolder("f", inputs: [0, 1], shape: [2, 1], labels: [0, 1])
        expectDatasetError(naming: folder) { _ = try openDataset(path: folder, labelColumns: 2) }
    }
}

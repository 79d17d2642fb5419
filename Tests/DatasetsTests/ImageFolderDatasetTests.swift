import Foundation
import Preprocessing
import Testing
@testable import Datasets

/// Image folders (PNG, JPEG, DICOM with labels.csv): the bundled digits as images give the `.npy`
/// set's inputs bit for bit, every bad file or row is refused naming it, and the commitment
/// content binds the files' bytes.
@Suite struct ImageFolderDatasetTests {
    static func bundled(_ name: String) -> String { repositoryRoot.appendingPathComponent("Datasets").appendingPathComponent(name).path }
    static func preprocessingFixture(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("Tests/Fixtures/preprocessing").appendingPathComponent(name).path
    }
    /// The digits model's declaration (Models/densenet-digits.onnx, metadata `preprocessing`).
    static let digits = try! Preprocessing.parse(json: #"{"window": "file", "scale": 0.0625}"#)

    @Test(arguments: ["digits-png", "digits-dicom"])
    func losslessDigitFoldersEqualTheNPYSet(_ name: String) throws {
        let npy = try openDataset(path: Self.bundled("digits-test"))
        let opened = try openDataset(path: Self.bundled(name))
        #expect(opened is ImageFolderDataset)
        #expect(opened.count == 360)
        let images = try opened.preparing(preprocessing: Self.digits, inputShape: [1, 8, 8])
        try images.validate(inputShape: [1, 8, 8], classCount: 10)
        let expected = try npy.batch(0..<360)
        let actual = try images.batch(0..<360)
        #expect(actual.labels == expected.labels)
        #expect(actual.features.map(\.bitPattern) == expected.features.map(\.bitPattern))
    }

    /// The whole-set check reports its progress batch by batch, ending at the set's size.
    @Test func checkReportsProgress() throws {
        let images = try openDataset(path: Self.bundled("digits-png")).preparing(preprocessing: Self.digits, inputShape: [1, 8, 8])
        var seen: [Int] = []
        try images.validate(inputShape: [1, 8, 8], classCount: 10, batchSize: 100, progress: { done, total in
            #expect(total == 360)
            seen.append(done)
        })
        #expect(seen == [100, 200, 300, 360])
    }

    @Test func dicomVariantsDecodeWithTheirAttributes() throws {
        // digit-000: MONOCHROME2 12-bit, explicit LE; 001 signed, implicit LE; 002 MONOCHROME1;
        // 003 JPEG lossless; 004 MONOCHROME1 JPEG-LS; 005 8-bit RLE (Scripts/dev/make_image_datasets.py).
        let folder = Self.bundled("digits-dicom")
        let images = try (0..<6).map { try ImageFile.decode("\(folder)/digit-00\($0).dcm") }
        #expect(images.map { $0.dicom!.monochrome1 } == [false, false, true, false, true, false])
        #expect(images.map { $0.dicom!.signed } == [false, true, false, false, false, false])
        #expect(images.map(\.bitsStored) == [12, 16, 12, 12, 12, 8])
        #expect(images[3].dicom!.transferSyntax.contains("JPEG"))
        #expect(images[4].dicom!.transferSyntax.contains("JPEG-LS"))
        #expect(images[5].dicom!.transferSyntax.contains("RLE"))
        #expect(images[1].samples.contains { $0 < 0 })
        #expect(images.allSatisfy { $0.dicom!.windowCenter == 8.5 && $0.dicom!.windowWidth == 17 })
    }

    @Test func jpegFolderIsReadable() throws {
        let images = try openDataset(path: Self.bundled("digits-jpeg")).preparing(preprocessing: Self.digits, inputShape: [1, 8, 8])
        try images.validate(inputShape: [1, 8, 8], classCount: 10)
        let npy = try openDataset(path: Self.bundled("digits-test")).batch(0..<360).features
        let jpeg = try images.batch(0..<360).features
        // Lossy, but close: every value within half the digits' range of the original.
        #expect(zip(npy, jpeg).allSatisfy { abs($0 - $1) < 0.5 })
    }

    /// A small folder of `count` 8×8 grey PNGs copied from the bundled digits, with labels.csv.
    static func makeFolder(_ temporary: TemporaryFolder, count: Int = 3, labels: String? = nil) throws -> String {
        let folder = temporary.path("images")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var csv = "file,label\n"
        for i in 0..<count {
            let name = String(format: "digit-%03d.png", i)
            try FileManager.default.copyItem(atPath: "\(Self.bundled("digits-png"))/\(name)", toPath: "\(folder)/\(name)")
            csv += "\(name),\(i)\n"
        }
        try Data((labels ?? csv).utf8).write(to: URL(fileURLWithPath: "\(folder)/labels.csv"))
        return folder
    }

    @Test func unlistedImageIsRefused() throws {
        let temporary = try TemporaryFolder()
        let folder = try Self.makeFolder(temporary, labels: "file,label\ndigit-000.png,0\ndigit-001.png,1\n")
        let error = expectDatasetError(naming: "digit-002.png") { _ = try ImageFolderDataset(folder: folder) }
        #expect(error?.description.contains("no row in") == true)
    }

    @Test func rowNamingAMissingFileIsRefused() throws {
        let temporary = try TemporaryFolder()
        let folder = try Self.makeFolder(temporary, count: 1, labels: "file,label\ndigit-000.png,0\nnot-there.png,1\n")
        let error = expectDatasetError(naming: "not-there.png") { _ = try ImageFolderDataset(folder: folder) }
        #expect(error?.description.contains("line 3") == true)
    }

    @Test func malformedLabelsAreRefusedWithTheirLine() throws {
        let cases: [(String, String)] = [
            ("name,label\ndigit-000.png,0\n", "must start with 'file'"),
            ("file,label\ndigit-000.png,zero\n", "not an integer"),
            ("file,label\ndigit-000.png,0,1\n", "3 columns"),
            ("file,label\ndigit-000.png,0\ndigit-000.png,0\n", "listed again"),
            ("file,label\n../digit-000.png,0\n", "inside the folder"),
            ("", "empty"),
        ]
        for (labels, reason) in cases {
            let temporary = try TemporaryFolder()
            let folder = try Self.makeFolder(temporary, count: 1, labels: labels)
            let error = expectDatasetError(naming: "labels.csv") { _ = try ImageFolderDataset(folder: folder) }
            #expect(error?.description.contains(reason) == true, "\(String(describing: error)) lacks '\(reason)'")
        }
    }

    @Test func labelOutOfRangeNamesTheImage() throws {
        let temporary = try TemporaryFolder()
        let folder = try Self.makeFolder(temporary, count: 2, labels: "file,label\ndigit-000.png,0\ndigit-001.png,12\n")
        let images = try ImageFolderDataset(folder: folder).preparing(preprocessing: Self.digits, inputShape: [1, 8, 8])
        let error = expectDatasetError(naming: "digit-001.png") { try images.validate(inputShape: [1, 8, 8], classCount: 10) }
        #expect(error?.description.contains("labels.csv line 3") == true)
    }

    @Test func unreadableAndUnsupportedFilesAreNamed() throws {
        let temporary = try TemporaryFolder()
        let folder = try Self.makeFolder(temporary, count: 1, labels: "file,label\ndigit-000.png,0\nbroken.png,1\nj2k.dcm,2\n")
        // A PNG signature followed by garbage, and a DICOM in JPEG 2000 (not decodable here).
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 40)).write(to: URL(fileURLWithPath: "\(folder)/broken.png"))
        try FileManager.default.copyItem(atPath: Self.preprocessingFixture("jpeg2000.dcm"), toPath: "\(folder)/j2k.dcm")
        let images = try ImageFolderDataset(folder: folder).preparing(preprocessing: Self.digits, inputShape: [1, 8, 8])
        let broken = expectDatasetError(naming: "broken.png") { _ = try images.batch(1..<2) }
        #expect(broken?.description.contains("PNG decoder") == true)
        let j2k = expectDatasetError(naming: "j2k.dcm") { _ = try images.batch(2..<3) }
        guard case .unsupportedTransferSyntax(_, let syntax)? = j2k else { Issue.record("expected unsupportedTransferSyntax, got \(String(describing: j2k))"); return }
        #expect(syntax.contains("JPEG 2000"))
        // The whole set is checked before anything is computed: validate fails on the first bad file.
        _ = expectDatasetError(naming: "broken.png") { try images.validate(inputShape: [1, 8, 8], classCount: 10) }
    }

    @Test func wrongDimensionsAfterPreprocessingNameTheFile() throws {
        let temporary = try TemporaryFolder()
        let folder = try Self.makeFolder(temporary, count: 1)
        let images = try ImageFolderDataset(folder: folder).preparing(preprocessing: Self.digits, inputShape: [1, 16, 16])
        let error = expectDatasetError(naming: "digit-000.png") { _ = try images.batch(0..<1) }
        #expect(error?.description.contains("8×8") == true && error?.description.contains("16×16") == true)
    }

    @Test func noDeclarationIsRefused() throws {
        let opened = try openDataset(path: Self.bundled("digits-png"))
        _ = expectDatasetError(naming: "digits-png") { _ = try opened.preparing(preprocessing: nil, inputShape: [1, 8, 8]) }
        // Not prepared: no features yet.
        _ = expectDatasetError(naming: "digits-png") { _ = try opened.batch(0..<1) }
    }

    @Test func findingColumnsFollowTheModelsDeclaredOrder() throws {
        let temporary = try TemporaryFolder()
        let folder = try Self.makeFolder(temporary, count: 2, labels: "file,effusion,atelectasis\ndigit-000.png,1,0\ndigit-001.png,,1\n")
        let opened = try ImageFolderDataset(folder: folder)
        #expect(opened.labelWidth == 2)
        #expect(try opened.labels(0..<2) == [1, 0, -1, 1])
        let reordered = try opened.preparing(preprocessing: Self.digits, inputShape: [1, 8, 8], findings: ["atelectasis", "effusion"])
        #expect(try reordered.labels(0..<2) == [0, 1, 1, -1])
        _ = expectDatasetError(naming: "labels.csv") {
            _ = try opened.preparing(preprocessing: Self.digits, inputShape: [1, 8, 8], findings: ["atelectasis", "cardiomegaly"])
        }
    }

    @Test func commitmentContentBindsEveryFilesBytes() throws {
        let temporary = try TemporaryFolder()
        let folder = try Self.makeFolder(temporary, count: 2)
        func content() throws -> [UInt8] {
            var bytes: [UInt8] = []
            try ImageFolderDataset(folder: folder).commitmentContent { bytes += $0 }
            return bytes
        }
        let before = try content()
        #expect(try content() == before)
        // One byte of one image changed (an ancillary chunk's payload would do as well).
        var image = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(folder)/digit-001.png")))
        image[image.count - 13] ^= 1
        try Data(image).write(to: URL(fileURLWithPath: "\(folder)/digit-001.png"))
        #expect(try content() != before)
    }

    @Test func shardsOfAnImageFolderStayImageFolders() throws {
        let npy = try openDataset(path: Self.bundled("digits-test"))
        let folder = try openDataset(path: Self.bundled("digits-png"))
        var contents: [[UInt8]] = []
        for index in 0..<4 {
            let part = try shard(folder, index: index, of: 4)
            let rows = try DatasetShard(npy, index: index, of: 4).rows
            #expect(part is ImageFolderDataset && part.count == rows.count)
            let prepared = try part.preparing(preprocessing: Self.digits, inputShape: [1, 8, 8])
            #expect(try prepared.batch(0..<part.count).features == npy.batch(rows).features)
            #expect(try prepared.labels(0..<part.count) == npy.labels(rows))
            var bytes: [UInt8] = []
            try (part as! ImageFolderDataset).commitmentContent { bytes += $0 }
            contents.append(bytes)
        }
        #expect(Set(contents).count == 4)
    }
}

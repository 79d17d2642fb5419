import Commitments
import Compiler
import Datasets
import Foundation
import IR
import ONNX
import Preprocessing
import Reference
import RingArithmetic
import Testing
@testable import Validation
import TestSupport

/// Image folders end to end: the hospital's client applies the model's declared preprocessing
/// (public, in the program digest) and the secure count equals the plaintext fixed-point
/// reference on the `.npy` set; a model without a declaration refuses an image folder before any
/// cryptography.
@Suite("Image folders in a validation (in process, real OT and HE)")
struct ImageFolderValidationTests {
    /// The first `count` images of a bundled image folder, with their labels.csv rows.
    static func firstImages(_ name: String, count: Int, into folder: String) throws -> String {
        let source = path("Datasets/\(name)")
        let rows = try String(contentsOfFile: "\(source)/labels.csv", encoding: .utf8).split(separator: "\n")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for row in rows.dropFirst().prefix(count) {
            let file = String(row.split(separator: ",")[0])
            try FileManager.default.copyItem(atPath: "\(source)/\(file)", toPath: "\(folder)/\(file)")
        }
        try (rows.prefix(count + 1).joined(separator: "\n") + "\n").write(toFile: "\(folder)/labels.csv", atomically: true, encoding: .utf8)
        return folder
    }

    static func temporaryFolder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ImageFolderValidationTests-\(UUID().uuidString)").path
    }

    @Test("DICOM digits (six storage variants): secure count = fixed-point reference on the .npy set")
    func dicomDigits() throws {
        let folder = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"))
        #expect(graph.preprocessing != nil)
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let images = try openDataset(path: try Self.firstImages("digits-dicom", count: 24, into: folder))
        let server = try ValidationServer(modelName: "densenet", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10))
        let client = try ValidationClient(dataset: images, batch: 12)
        let (v, h) = runValidation(server: server, client: client)
        let npy = Prefix(base: try openDataset(path: path("Datasets/digits-test")), count: 24)
        let expected = try ValidationTests().referenceCount(graph, format, npy)
        #expect(try v.get().correct == expected)
        #expect(try h.get().correct == expected)
        #expect(try h.get().total == 24)
        // The hospital's commitment binds the files, not the .npy arrays.
        let salt = CommitmentSalt.random()
        #expect(try Commitment.dataset(images, salt: salt) == Commitment.dataset(try openDataset(path: folder), salt: salt))
        #expect(try Commitment.dataset(images, salt: salt) != Commitment.dataset(npy, salt: salt))
    }

    @Test("a model that declares no preprocessing refuses an image folder before any secure computation, and says why to the hospital")
    func noDeclaration() throws {
        let folder = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"))
        graph.preprocessing = nil
        let server = try ValidationServer(modelName: "densenet", graph: graph, format: .standard, formatReason: "test", policy: .init(minimumImages: 1))
        let client = try ValidationClient(dataset: try openDataset(path: try Self.firstImages("digits-png", count: 4, into: folder)), batch: 4)
        let (v, h) = runValidation(server: server, client: client)
        #expect(throws: (any Error).self) { try v.get() }
        do { _ = try h.get(); Issue.record("the hospital ran an image folder without a declaration") } catch {
            #expect("\(error)".contains("declares no preprocessing"), "\(error)")
        }
    }

    @Test("the declaration is part of the program: its digest changes with any step, and the encoding carries it")
    func programBindsPreprocessing() throws {
        var graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"))
        let declared = try ProgramCompiler.compile(graph, format: .standard, formatReason: "test")
        #expect(declared.preprocessing == graph.preprocessing)
        #expect(try ProgramEncoding.decode(ProgramEncoding.encode(declared)) == declared)
        graph.preprocessing = try Preprocessing.parse(json: #"{"window": "file", "scale": 0.0625, "monochrome1": "keep"}"#)
        let other = try ProgramCompiler.compile(graph, format: .standard, formatReason: "test")
        graph.preprocessing = nil
        let none = try ProgramCompiler.compile(graph, format: .standard, formatReason: "test")
        #expect(Set([declared.digestHex, other.digestHex, none.digestHex]).count == 3)
        #expect(try ProgramEncoding.decode(ProgramEncoding.encode(none)).preprocessing == nil)
    }
}

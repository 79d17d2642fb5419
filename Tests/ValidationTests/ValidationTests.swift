import Compiler
import Datasets
import Foundation
import IR
import ONNX
import Reference
import RingArithmetic
import Testing
import Transport
import Commitments
@testable import Validation

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

/// A dataset view of the first `count` examples of another dataset.
struct Prefix: Dataset {
    let base: any Dataset
    let count: Int
    var source: String { base.source }
    var featureShape: [Int] { base.featureShape }
    func batch(_ range: Range<Int>) throws -> DatasetBatch { try base.batch(range) }
}

final class Outcome<T>: @unchecked Sendable {
    init() {}
    var value: Result<T, Error>?
}

/// Runs the vendor's server and the hospital's client on two threads over an in-memory channel.
func runValidation(server: ValidationServer, client: ValidationClient) -> (Result<ValidationResult, Error>, Result<ValidationResult, Error>) {
    runSession(server, client, vendorJournal: nil, hospitalJournal: nil)
}

@Suite("End-to-end validation (in process, real OT and HE)")
struct ValidationTests {
    func referenceCount(_ graph: Graph, _ format: FixedPointFormat, _ data: any Dataset) throws -> Int {
        let batch = try data.batch(0..<data.count)
        let logits = try FixedPointExecutor(graph: graph, format: format).run(batch.features, batch: data.count)
        let k = graph.classCount
        return (0..<data.count).filter { argmax(logits[($0 * k)..<(($0 + 1) * k)]) == batch.labels[$0] }.count
    }

    @Test("breast-cancer MLP: both parties learn the same count as the fixed-point reference, on both OT engines",
          arguments: OTEngine.allCases)
    func mlpAccuracy(ot: OTEngine) throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10),
                                          otEngine: ot)
        let client = try ValidationClient(dataset: data, metric: "accuracy", threshold: nil, batch: 64, otEngine: ot)
        let (v, h) = runValidation(server: server, client: client)
        let vendor = try v.get(), hospital = try h.get()
        let expected = try referenceCount(graph, format, data)
        #expect(vendor.correct == expected)
        #expect(hospital.correct == expected)
        #expect(vendor.total == 143 && hospital.total == 143)
        #expect(vendor.sessionID == hospital.sessionID)
        #expect(hospital.bytesSent > 0 && hospital.rounds > 0)
        #expect(vendor.ot == ot.rawValue && hospital.ot == ot.rawValue)
    }

    @Test("densenet-digits: the secure count equals the fixed-point reference on 24 images, on both OT engines",
          arguments: OTEngine.allCases)
    func densenetAccuracy(ot: OTEngine) throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"))
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let data = Prefix(base: try openDataset(path: path("Datasets/digits-test")), count: 24)
        let server = try ValidationServer(modelName: "densenet", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10),
                                          otEngine: ot)
        let client = try ValidationClient(dataset: data, metric: "accuracy", threshold: nil, batch: 16, otEngine: ot)
        let (v, h) = runValidation(server: server, client: client)
        let expected = try referenceCount(graph, format, data)
        #expect(try v.get().correct == expected)
        #expect(try h.get().correct == expected)
    }

    @Test("threshold metric reveals only the bit")
    func threshold() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10))
        let expected = Double(try referenceCount(graph, format, data)) / 143
        for (tau, passed) in [(expected - 0.01, true), (min(expected + 0.01, 1), false)] {
            let client = try ValidationClient(dataset: data, metric: "threshold", threshold: tau, batch: 143)
            let (v, h) = runValidation(server: server, client: client)
            #expect(try v.get().passed == passed)
            #expect(try h.get().passed == passed)
            #expect(try h.get().correct == nil && (try h.get().accuracy) == nil)
        }
    }

    @Test("different OT engines on the two sides end the session before any computation, and the engine is in the program digest")
    func otEngineMismatch() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10),
                                          otEngine: .iknp)
        let (v, h) = runValidation(server: server, client: try ValidationClient(dataset: data, metric: "accuracy", threshold: nil, batch: 64,
                                                                                 otEngine: .silent))
        do { _ = try h.get(); Issue.record("expected the hospital to end the session") } catch {
            #expect("\(error)".contains("--ot"))
        }
        do { _ = try v.get(); Issue.record("expected the vendor to see the session end") } catch {
            #expect("\(error)".contains("'iknp' OT engine"))
        }
        let silent = try ProgramCompiler.compile(graph, format: format, otEngine: .silent)
        let iknp = try ProgramCompiler.compile(graph, format: format, otEngine: .iknp)
        #expect(silent.digestHex != iknp.digestHex)
    }

    @Test("the vendor refuses a test set below its minimum, and says why to both sides")
    func refusesSmallTestSet() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: .standard, formatReason: "test", policy: .init(minimumImages: 1000))
        let client = try ValidationClient(dataset: try openDataset(path: path("Datasets/breast-cancer-test")), metric: "accuracy", threshold: nil, batch: 32)
        let (v, h) = runValidation(server: server, client: client)
        #expect(throws: ValidationError.self) { try v.get() }
        do {
            _ = try h.get()
            Issue.record("expected a refusal")
        } catch let error as ValidationError {
            #expect(error.description.contains("at least 1000"))
        }
    }

    @Test("a dataset that does not fit the model is rejected before any secure computation")
    func datasetMismatch() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: .standard, formatReason: "test", policy: .init(minimumImages: 1))
        let client = try ValidationClient(dataset: try openDataset(path: path("Datasets/digits-test")), metric: "accuracy", threshold: nil, batch: 32)
        let (v, h) = runValidation(server: server, client: client)
        #expect(throws: (any Error).self) { try v.get() }
        #expect(throws: ValidationError.self) { try h.get() }
    }

    @Test("a value outside the announced fixed-point range refuses the whole set before anything is computed, naming row and feature to the hospital only")
    func featureOutOfRange() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)   // |x| < 2^25
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 1))
        let data = Patched(base: try openDataset(path: path("Datasets/breast-cancer-test")), example: 120, feature: 3, value: 1e9)
        // Batches of 32: the bad value sits in the fourth batch, so a late check would have run three.
        let (v, h) = runValidation(server: server, client: try ValidationClient(dataset: data, metric: "accuracy", threshold: nil, batch: 32))
        do { _ = try h.get(); Issue.record("expected a refusal") } catch {
            let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            #expect(message.contains("row 120") && message.contains("feature 3") && message.contains("ℓ = 40, s = 14"), "\(message)")
        }
        do { _ = try v.get(); Issue.record("expected the vendor to see the session end") } catch {
            let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            #expect(message.contains("does not fit the model"))
            #expect(!message.contains("120") && !message.contains("1e+09") && !message.contains("1000000000"))
        }
    }
}

/// Another dataset with one feature replaced.
struct Patched: Dataset {
    let base: any Dataset
    let example: Int, feature: Int, value: Float
    var count: Int { base.count }
    var source: String { base.source }
    var featureShape: [Int] { base.featureShape }
    func batch(_ range: Range<Int>) throws -> DatasetBatch {
        var batch = try base.batch(range)
        if range.contains(example) {
            batch.features[(example - range.lowerBound) * Shape.elementCount(featureShape) + feature] = value
        }
        return batch
    }
}

@Suite("Commitments")
struct CommitmentTests {
    @Test("both parties record the same commitments and bound session id; --expect-model refuses another model before any computation")
    func commitments() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let folder = try openDataset(path: path("Datasets/breast-cancer-test"))
        let csv = try openDataset(path: path("Datasets/breast-cancer-test.csv"))
        let salt = CommitmentSalt.random(), modelSalt = CommitmentSalt.random()
        #expect(try Commitment.dataset(folder, salt: salt) == Commitment.dataset(csv, salt: salt))
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10),
                                          modelSalt: modelSalt)
        #expect(server.modelCommitment == (try Commitment.model(graph, format: format, salt: modelSalt)))
        #expect(server.modelCommitment != (try Commitment.model(graph, format: .standard, salt: modelSalt)))
        let committed = try Commitment.dataset(folder, salt: salt)
        let client = try ValidationClient(dataset: folder, metric: "accuracy", threshold: nil, batch: 143, expectedModel: server.modelCommitment,
                                          datasetCommitment: committed)
        let (v, h) = runValidation(server: server, client: client)
        let vendor = try v.get(), hospital = try h.get()
        #expect(vendor.modelCommitment == hospital.modelCommitment)
        #expect(vendor.datasetCommitment == committed)
        #expect(vendor.sessionID == hospital.sessionID)

        let other = String(repeating: "0", count: 64)
        let wary = try ValidationClient(dataset: folder, metric: "accuracy", threshold: nil, batch: 143, expectedModel: other)
        let (v2, h2) = runValidation(server: server, client: wary)
        #expect(throws: ValidationError.self) { try h2.get() }
        do { _ = try v2.get(); Issue.record("the vendor should see the hospital's refusal") } catch let error as ValidationError {
            #expect(error.description.contains("model commitment"))
        }
    }

    @Test("commitments hide: without the salt a guessed model or test set cannot be confirmed, and two validations of one set cannot be linked")
    func hiding() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let folder = try openDataset(path: path("Datasets/breast-cancer-test"))
        let a = CommitmentSalt.random(), b = CommitmentSalt.random()
        #expect(a != b && a.bytes.count == 32)
        // The same data under two salts: unrelated commitments (no link between two validations).
        #expect(try Commitment.dataset(folder, salt: a) != Commitment.dataset(folder, salt: b))
        #expect(try Commitment.model(graph, format: format, salt: a) != Commitment.model(graph, format: format, salt: b))
        // The vendor, guessing the hospital's set exactly but not its salt, gets another value.
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10))
        let (v1, _) = runValidation(server: server, client: try ValidationClient(dataset: folder, metric: "accuracy", threshold: nil, batch: 143))
        let (v2, _) = runValidation(server: server, client: try ValidationClient(dataset: folder, metric: "accuracy", threshold: nil, batch: 143))
        let first = try v1.get().datasetCommitment, second = try v2.get().datasetCommitment
        #expect(first != second)
        #expect(first != (try Commitment.dataset(folder, salt: a)))
        // The salt's hex form round-trips and nothing else parses.
        #expect(CommitmentSalt(hex: a.hex) == a && CommitmentSalt(hex: a.hex.uppercased()) == a)
        #expect(CommitmentSalt(hex: "abc") == nil && CommitmentSalt(hex: String(repeating: "g", count: 64)) == nil)
        // The unsalted digest (the vendor's own ledger key) is not the commitment.
        #expect(try Commitment.modelDigest(graph, format: format) != Commitment.model(graph, format: format, salt: a))
    }
}

@Suite("Top-k metric")
struct TopKValidationTests {
    @Test("top-2 on a two-class model counts every image; top-5 is refused for fewer than 5 classes; the vendor must allow it")
    func topK() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let permissive = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test",
                                              policy: .init(minimumImages: 10, allowedMetrics: ["accuracy", "top2", "top5"]))
        let (v, h) = runValidation(server: permissive, client: try ValidationClient(dataset: data, metric: "accuracy", threshold: nil, batch: 143, topK: 2))
        #expect(try h.get().correct == 143)
        #expect(try v.get().metric == "top2")
        let (_, h5) = runValidation(server: permissive, client: try ValidationClient(dataset: data, metric: "accuracy", threshold: nil, batch: 143, topK: 5))
        #expect(throws: ValidationError.self) { try h5.get() }
        let strict = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10))
        let (_, hs) = runValidation(server: strict, client: try ValidationClient(dataset: data, metric: "accuracy", threshold: nil, batch: 143, topK: 2))
        do { _ = try hs.get(); Issue.record("expected a refusal") } catch let error as ValidationError {
            #expect(error.description.contains("not allowed"))
        }
        // `--allow top2` alone allows `--metric top2` (it used to demand "accuracy" as well).
        let topOnly = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test",
                                           policy: .init(minimumImages: 10, allowedMetrics: ["top2"]))
        let (_, ht) = runValidation(server: topOnly, client: try ValidationClient(dataset: data, metric: "accuracy", threshold: nil, batch: 143, topK: 2))
        #expect(try ht.get().correct == 143)
    }

    @Test("a vendor policy allows top-k by its own name, with either reveal; top-1 by the reveal")
    func policy() {
        let top5 = ValidationServer.Policy(allowedMetrics: ["top5"])
        #expect(top5.allows(metric: "accuracy", topK: 5))
        #expect(top5.allows(metric: "threshold", topK: 5))
        #expect(!top5.allows(metric: "accuracy", topK: 1))
        #expect(!top5.allows(metric: "accuracy", topK: 2))
        let plain = ValidationServer.Policy(allowedMetrics: ["threshold"])
        #expect(plain.allows(metric: "threshold", topK: 1))
        #expect(!plain.allows(metric: "accuracy", topK: 1))
        #expect(!plain.allows(metric: "threshold", topK: 5))
    }
}

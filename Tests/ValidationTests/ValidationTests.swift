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
import TestSupport


/// A dataset view of the first `count` examples of another dataset.
struct Prefix: Dataset {
    let base: any Dataset
    let count: Int
    var source: String { base.source }
    var featureShape: [Int] { base.featureShape }
    var labelWidth: Int { base.labelWidth }
    func batch(_ range: Range<Int>) throws -> DatasetBatch { try base.batch(range) }
    func labels(_ range: Range<Int>) throws -> [Int] { try base.labels(range) }
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
        let client = try ValidationClient(dataset: data, batch: 64, otEngine: ot)
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

    /// With the transition's BatchNorm folded through its ReLU (a signed shift) and, on silent OT,
    /// also without the fold (every BatchNorm an HE per-channel scale, reusing ciphertexts).
    @Test("densenet-digits: the secure count equals the fixed-point reference on 24 images, on both OT engines",
          arguments: [(OTEngine.silent, true), (.iknp, true), (.silent, false)])
    func densenetAccuracy(ot: OTEngine, fold: Bool) throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"), foldScalesThroughReLUs: fold)
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let data = Prefix(base: try openDataset(path: path("Datasets/digits-test")), count: 24)
        let server = try ValidationServer(modelName: "densenet", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10),
                                          otEngine: ot)
        let client = try ValidationClient(dataset: data, batch: 16, otEngine: ot)
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
            let client = try ValidationClient(dataset: data, metric: Metric(opening: .atLeast(threshold: tau)), batch: 143)
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
        let (v, h) = runValidation(server: server, client: try ValidationClient(dataset: data, batch: 64,
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

    @Test("a hospital whose program differs in one operand is refused before any cryptography", arguments: [0, 1, 2])
    func programDigestMismatchRefused(change: Int) throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"))
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let server = try ValidationServer(modelName: "densenet", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10))
        let (a, b) = MemoryChannel.pair(timeout: 30)
        let vendor = Outcome<ValidationResult>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            vendor.value = Result { try server.serve(channel: a) }
            a.close()
            done.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
        // A hospital that compiles the announced model honestly, then changes one public operand.
        _ = try Handshake.run(on: b, role: .hospital)
        #expect(try SessionMessage.receiveAdmission(on: b).admitted)
        let model = try SessionMessage.receiveAnnouncement(on: b)
        let honest = try ProgramCompiler.compile(model.graph, format: format, formatReason: model.formatReason, weightBits: model.weightBits)
        #expect(honest.digestHex == server.program.digestHex)
        var altered = honest
        switch change {
        case 0:  // a pooling window's padding
            let i = try #require(altered.instructions.firstIndex { $0.kind == .maxPool || $0.kind == .averagePool })
            switch altered.instructions[i].step {
            case .maxPool(var p): p.pads[0] += 1; altered.instructions[i].step = .maxPool(p)
            case .averagePool(var p, let include): p.pads[0] += 1; altered.instructions[i].step = .averagePool(p, countIncludePad: include)
            default: break
            }
        case 1:  // a truncation's shift
            let i = try #require(altered.instructions.firstIndex { $0.kind == .truncate || $0.kind == .reluTruncate })
            altered.instructions[i].step = .truncate(shift: format.scale - 1)
        default:  // a linear layer's public weight bound
            let i = try #require(altered.instructions.firstIndex { $0.kind == .linear })
            var step = try #require(altered.instructions[i].linear)
            step.weightBits = (step.weightBits ?? 0) + 1
            altered.instructions[i].step = .linear(step)
        }
        #expect(altered.digestHex != honest.digestHex)
        let request = SessionMessage.ValidationRequest(programDigest: altered.digestHex, metric: .accuracy,
                                                       images: 24, batch: 8, datasetCommitment: String(repeating: "0", count: 64))
        try SessionMessage.send(.request(request), on: b)
        let received = b.statistics.bytesReceived
        let decision = try SessionMessage.receiveDecision(on: b)
        #expect(!decision.accepted)
        #expect(decision.reason.contains("different secure program"))
        done.wait()
        do { _ = try vendor.value!.get(); Issue.record("expected the vendor to refuse") } catch let error as ValidationError {
            #expect(error.description.contains("different secure program"))
        }
        // Nothing followed the decision: no OT base transfers, no HE keys.
        #expect(throws: (any Error).self) { _ = try b.receiveMessage(limit: 1 << 20) }
        #expect(b.statistics.bytesReceived - received < 1024)
    }

    @Test("the vendor refuses a test set below its minimum, and says why to both sides")
    func refusesSmallTestSet() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let server = try ValidationServer(modelName: "mlp", graph: graph, format: .standard, formatReason: "test", policy: .init(minimumImages: 1000))
        let client = try ValidationClient(dataset: try openDataset(path: path("Datasets/breast-cancer-test")), batch: 32)
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
        let client = try ValidationClient(dataset: try openDataset(path: path("Datasets/digits-test")), batch: 32)
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
        let (v, h) = runValidation(server: server, client: try ValidationClient(dataset: data, batch: 32))
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
        let client = try ValidationClient(dataset: folder, batch: 143, expectedModel: server.modelCommitment,
                                          datasetCommitment: committed)
        let (v, h) = runValidation(server: server, client: client)
        let vendor = try v.get(), hospital = try h.get()
        #expect(vendor.modelCommitment == hospital.modelCommitment)
        #expect(vendor.datasetCommitment == committed)
        #expect(vendor.sessionID == hospital.sessionID)

        let other = String(repeating: "0", count: 64)
        let wary = try ValidationClient(dataset: folder, batch: 143, expectedModel: other)
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
        let (v1, _) = runValidation(server: server, client: try ValidationClient(dataset: folder, batch: 143))
        let (v2, _) = runValidation(server: server, client: try ValidationClient(dataset: folder, batch: 143))
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

@Suite("Session messages")
struct SessionMessageTests {
    @Test("one frame per message with its kind: a message of another kind than due is refused naming both; an abort is its own message")
    func typedFrames() throws {
        let (a, b) = MemoryChannel.pair(timeout: 5)
        try SessionMessage.send(.abort(.init(reason: "the test set does not fit")), on: a)
        guard case .abort(let abort) = try SessionMessage.receive(on: b, expecting: [.request, .abort]) else {
            Issue.record("expected an abort"); return
        }
        #expect(abort.reason == "the test set does not fit")
        try SessionMessage.send(.laneJoin(.init(sessionID: "00", lane: 1)), on: a)
        #expect(throws: TransportError.protocolViolation("the peer sent a lane join where a decision was due")) {
            _ = try SessionMessage.receiveDecision(on: b)
        }
        try a.sendMessage([0x2a] + Array("{}".utf8))
        try a.flush()
        #expect(throws: TransportError.protocolViolation("the peer sent a frame of unknown kind 42 where an admission was due")) {
            _ = try SessionMessage.receiveAdmission(on: b)
        }
        try a.sendMessage([SessionMessage.Kind.decision.rawValue] + Array("{\"accepted\": true}".utf8))
        try a.flush()
        #expect(throws: TransportError.self) { _ = try SessionMessage.receiveDecision(on: b) }
    }
}

@Suite("Model commitment covers the program and the weight store")
struct ProgramCommitmentTests {
    @Test("one changed weight or one changed public operand changes the commitment; the session's metric and OT engine do not")
    func coversProgramAndWeights() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let salt = CommitmentSalt.random()
        let program = try ProgramCompiler.compile(graph, format: format, weightBits: ProgramCompiler.weightBits(of: graph, format: format))
        let weights = try WeightStore(program: program, graph: graph)
        let base = Commitment.model(program: program, weights: weights, salt: salt)
        #expect(base == (try Commitment.model(graph, format: format, salt: salt)))
        // Session choices are not the model.
        var iknp = program.with(metric: try #require(Metric("top2 threshold:0.5")))
        iknp.otEngine = .iknp
        iknp.formatReason = "calibrated"
        #expect(Commitment.model(program: iknp, weights: weights, salt: salt) == base)
        // One weight one unit off.
        let index = try #require(weights.entries.keys.sorted().first)
        var entries = weights.entries
        guard case .linear(var w, let bias) = entries[index] else { Issue.record("first entry is not linear"); return }
        w[w.count / 2] &+= 1
        entries[index] = .linear(weights: w, bias: bias)
        #expect(Commitment.model(program: program, weights: WeightStore(entries: entries), salt: salt) != base)
        // One public operand: a truncation shift.
        var shifted = program
        let t = try #require(shifted.instructions.firstIndex {
            switch $0.step { case .truncate, .reluTruncate: true; default: false }
        })
        switch shifted.instructions[t].step {
        case .truncate(let shift): shifted.instructions[t].step = .truncate(shift: shift + 1)
        case .reluTruncate(let shift): shifted.instructions[t].step = .reluTruncate(shift: shift + 1)
        default: break
        }
        #expect(Commitment.model(program: shifted, weights: weights, salt: salt) != base)
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
                                              policy: .init(minimumImages: 10, allowedMetrics: [.accuracy, .topK(2), .topK(5)]))
        let (v, h) = runValidation(server: permissive, client: try ValidationClient(dataset: data, metric: Metric(correct: .init(k: 2)!), batch: 143))
        #expect(try h.get().correct == 143)
        #expect(try v.get().metric == "top2")
        let (_, h5) = runValidation(server: permissive, client: try ValidationClient(dataset: data, metric: Metric(correct: .init(k: 5)!), batch: 143))
        #expect(throws: ValidationError.self) { try h5.get() }
        let strict = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 10))
        let (_, hs) = runValidation(server: strict, client: try ValidationClient(dataset: data, metric: Metric(correct: .init(k: 2)!), batch: 143))
        do { _ = try hs.get(); Issue.record("expected a refusal") } catch let error as ValidationError {
            #expect(error.description.contains("not allowed"))
        }
        // `--allow top2` alone allows `--metric top2` (it used to demand "accuracy" as well).
        let topOnly = try ValidationServer(modelName: "mlp", graph: graph, format: format, formatReason: "test",
                                           policy: .init(minimumImages: 10, allowedMetrics: [.topK(2)]))
        let (_, ht) = runValidation(server: topOnly, client: try ValidationClient(dataset: data, metric: Metric(correct: .init(k: 2)!), batch: 143))
        #expect(try ht.get().correct == 143)
    }

    @Test("a vendor policy allows top-k by its own name, with either reveal; top-1 by the reveal")
    func policy() throws {
        func metric(_ text: String) throws -> Metric { try #require(Metric(text)) }
        let top5 = ValidationServer.Policy(allowedMetrics: [.topK(5)])
        #expect(top5.allows(try metric("top5")))
        #expect(top5.allows(try metric("top5 threshold:0.9")))
        #expect(!top5.allows(.accuracy))
        #expect(!top5.allows(try metric("top2")))
        let plain = ValidationServer.Policy(allowedMetrics: [.threshold])
        #expect(plain.allows(try metric("threshold:0.5")))
        #expect(!plain.allows(.accuracy))
        #expect(!plain.allows(try metric("top5 threshold:0.5")))
    }

    @Test("one text form for every metric: parsed, printed, encoded on the wire, and refused when malformed")
    func metricTextForm() throws {
        for text in ["accuracy", "threshold:0.9", "threshold:0.0", "threshold:1.0", "top5", "top2 threshold:0.55"] {
            let metric = try #require(Metric(text), "\(text)")
            #expect(metric.description == text)
            let wire = try JSONEncoder().encode([metric])
            #expect(try JSONDecoder().decode([Metric].self, from: wire) == [metric])
        }
        #expect(Metric("top5")?.correct.k == 5 && Metric("top5")?.opening == .count)
        #expect(Metric("threshold:0.55")?.opening == .atLeast(threshold: 0.55))
        for bad in ["", "acc", "threshold:", "threshold:1.5", "threshold:-0.1", "threshold:nan", "top0", "top-1", "top1", "top5 accuracy",
                    "top05", "accuracy threshold:0.5", "top5 top5", "top5  threshold:0.5"] {
            #expect(Metric(bad) == nil, "'\(bad)' parsed")
        }
        #expect(throws: DecodingError.self) { _ = try JSONDecoder().decode([Metric].self, from: Data(#"["threshold:2"]"#.utf8)) }
        for (text, permission) in [("accuracy", MetricPermission.accuracy), ("threshold", .threshold), ("top5", .topK(5))] {
            #expect(MetricPermission(text) == permission && permission.description == text)
        }
        #expect(MetricPermission("top1") == nil && MetricPermission("threshold:0.5") == nil)
    }
}

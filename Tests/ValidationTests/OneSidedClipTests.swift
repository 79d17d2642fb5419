import Commitments
import Datasets
import Foundation
import IR
import ONNX
import Reference
import RingArithmetic
import Testing
@testable import Validation
import TestSupport


/// The examples of an importer fixture's `input.npy`, labelled `index % classes` (the count only has
/// to equal the fixed-point reference's, whatever the labels).
struct FixtureInputs: Dataset {
    let source: String
    let featureShape: [Int]
    let features: [Float]
    let classes: Int
    var count: Int { features.count / featuresPerExample }

    init(_ npy: String, classes: Int) throws {
        let array = try NPYReader(path: npy).readAllFloats()
        source = npy
        featureShape = Array(array.shape.dropFirst())
        features = array.elements
        self.classes = classes
    }

    func batch(_ range: Range<Int>) throws -> DatasetBatch {
        let width = featuresPerExample
        return DatasetBatch(features: Array(features[(range.lowerBound * width)..<(range.upperBound * width)]),
                            labels: range.map { $0 % classes })
    }
}

/// A Clip with one bound (Gemm → Clip(min = −1), valid ONNX) used to stop `validate-inspect hash` and
/// `validate-serve` with `EncodingError.invalidValue: inf`: the unbounded side must be absent from
/// everything that is serialised or hashed, and the model must validate like any other.
@Suite("One-sided Clip: commitment, announcement and secure validation")
struct OneSidedClipTests {
    static let fixtures = ["gemm_clip_min_only_opset13", "gemm_clip_max_only_opset7"]

    static func fixture(_ name: String) -> String { path("Tests/Fixtures/importer/ops/\(name)") }

    @Test("the model commitment is computed and depends on the bound", arguments: fixtures)
    func commitment(_ name: String) throws {
        let graph = try ONNXImporter.loadGraph(path: Self.fixture(name) + "/model.onnx")
        let salt = CommitmentSalt.random()
        let commitment = try Commitment.model(graph, format: .standard, salt: salt)
        #expect(commitment.count == 64)
        // Another bound, or the other side bounded instead, is another model.
        var moved = graph
        let index = try #require(moved.nodes.firstIndex { $0.operation.name == "Clip" })
        guard case .clip(let lower, let upper) = moved.nodes[index].operation else { Issue.record("not a Clip"); return }
        moved.nodes[index].operation = .clip(lower: lower.map { $0 - 0.25 }, upper: upper.map { $0 - 0.25 })
        #expect(try Commitment.model(moved, format: .standard, salt: salt) != commitment)
        moved.nodes[index].operation = .clip(lower: upper, upper: lower)
        #expect(try Commitment.model(moved, format: .standard, salt: salt) != commitment)
    }

    @Test("the weight-stripped graph the vendor announces encodes without ±inf and decodes to itself", arguments: fixtures)
    func announcement(_ name: String) throws {
        let graph = try ONNXImporter.loadGraph(path: Self.fixture(name) + "/model.onnx").strippingWeights()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try encoder.encode(graph)
        let text = String(decoding: json, as: UTF8.self)
        #expect(!text.lowercased().contains("inf"), "\(text)")
        #expect(try JSONDecoder().decode(Graph.self, from: json) == graph)
    }

    @Test("secure validation (real OT and HE) counts exactly as the fixed-point reference", arguments: fixtures)
    func secureValidation(_ name: String) throws {
        let graph = try ONNXImporter.loadGraph(path: Self.fixture(name) + "/model.onnx")
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let data = try FixtureInputs(Self.fixture(name) + "/input.npy", classes: graph.classCount)
        let salt = CommitmentSalt.random()
        let server = try ValidationServer(modelName: name, graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 1),
                                          modelSalt: salt)
        let client = try ValidationClient(dataset: data, batch: 8)
        let (v, h) = runValidation(server: server, client: client)
        let all = try data.batch(0..<data.count)
        let logits = try FixedPointExecutor(graph: graph, format: format).run(all.features, batch: data.count)
        let k = graph.classCount
        let expected = (0..<data.count).filter { argmax(logits[($0 * k)..<(($0 + 1) * k)]) == all.labels[$0] }.count
        #expect(try v.get().correct == expected)
        #expect(try h.get().correct == expected)
        #expect(try h.get().modelCommitment == Commitment.model(graph, format: format, salt: salt))
    }
}

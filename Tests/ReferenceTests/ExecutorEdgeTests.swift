import IR
import ONNX
import Reference
import RingArithmetic
import Testing

/// Edge cases shared by both executors: empty batches, wrong input sizes, unencodable inputs.
@Suite("Executor edge cases")
struct ExecutorEdgeTests {
    static let models = ["Models/densenet-digits.onnx", "Models/mlp-breast-cancer.onnx", "Tests/Fixtures/ops/legacy_cnn_opset9/model.onnx"]

    @Test("a batch of zero examples gives no outputs", arguments: models)
    func emptyBatch(_ path: String) throws {
        let graph = try ONNXImporter.loadGraph(path: repositoryPath(path))
        #expect(try FloatExecutor(graph: graph).run([], batch: 0).isEmpty)
        let fixed = try FixedPointExecutor(graph: graph, format: .standard)
        #expect(try fixed.run([], batch: 0).isEmpty)
        #expect(try fixed.runDecoded([], batch: 0).isEmpty)
    }

    @Test("an input that is not a whole number of examples is refused")
    func wrongSize() throws {
        let graph = try ONNXImporter.loadGraph(path: repositoryPath("Models/mlp-breast-cancer.onnx"))
        #expect(throws: ReferenceError.inputSizeMismatch(expected: [30], valueCount: 31)) {
            _ = try FloatExecutor(graph: graph).run([Float](repeating: 0, count: 31), batch: 1)
        }
        #expect(throws: ReferenceError.inputSizeMismatch(expected: [30], valueCount: 60)) {
            _ = try FixedPointExecutor(graph: graph, format: .standard).run([Float](repeating: 0, count: 60), batch: 1)
        }
    }

    @Test("a non-finite or too large input names its example")
    func unencodable() throws {
        let graph = try ONNXImporter.loadGraph(path: repositoryPath("Models/mlp-breast-cancer.onnx"))
        var input = [Float](repeating: 0, count: 90)
        input[65] = .nan
        #expect(throws: ReferenceError.unencodableInput(format: .standard, example: 2)) {
            _ = try FixedPointExecutor(graph: graph, format: .standard).run(input, batch: 3)
        }
        input[65] = 0
        input[31] = 1e9
        #expect(throws: ReferenceError.unencodableInput(format: .standard, example: 1)) {
            _ = try FixedPointExecutor(graph: graph, format: .standard).run(input, batch: 3)
        }
    }

    @Test("batches give the same outputs as single examples")
    func batchesAreIndependent() throws {
        let graph = try ONNXImporter.loadGraph(path: repositoryPath("Tests/Fixtures/ops/legacy_cnn_opset9/model.onnx"))
        let input = try readFloatArray(repositoryPath("Tests/Fixtures/ops/legacy_cnn_opset9/input.npy"))
        let perExample = Shape.elementCount(graph.inputShape)
        let float = FloatExecutor(graph: graph)
        let fixed = try FixedPointExecutor(graph: graph, format: .standard)
        let both = try float.run(input.elements, batch: 2)
        let bothFixed = try fixed.run(input.elements, batch: 2)
        for b in 0..<2 {
            let one = Array(input.elements[(b * perExample)..<((b + 1) * perExample)])
            #expect(try float.run(one, batch: 1) == Array(both[(b * 10)..<((b + 1) * 10)]))
            #expect(try fixed.run(one, batch: 1) == Array(bothFixed[(b * 10)..<((b + 1) * 10)]))
        }
    }
}

import Datasets
import Foundation
import IR
import ONNX
import Reference
import RingArithmetic
import Testing

/// Single-op (and small multi-op) ONNX models of Scripts/make_op_fixtures.py, whose expected outputs
/// onnxruntime computed: the float executor must match each within 1e-4 relative, and the
/// fixed-point executor (decoded, a final Softmax re-applied in float) within a loose tolerance.
@Suite("Op conformance against onnxruntime")
struct OpConformanceTests {
    /// The fixed-point format a case runs with: the default ℓ = 41, s = 15 keeps every fixture exact
    /// enough (inputs are normal(0, 1), Clip cases ×4, weights ~1/√fan-in).
    static func format(for opCase: OpCase) -> FixedPointFormat { .standard }

    @Test("each manifest lists every fixture folder", arguments: OpCase.sets)
    func manifestIsComplete(_ set: String) throws {
        let cases = OpCase.cases(in: set)
        let folders = try FileManager.default.contentsOfDirectory(atPath: repositoryPath(set))
            .filter { !$0.hasSuffix(".json") }
        #expect(cases.count >= 30)
        #expect(Set(folders) == Set(cases.map(\.name)))
        #expect(Set(cases.map(\.name)).count == cases.count, "duplicate case names")
    }

    @Test("float and fixed-point executors match onnxruntime", arguments: OpCase.all)
    func matchesOnnxruntime(_ opCase: OpCase) throws {
        let graph = try ONNXImporter.loadGraph(path: opCase.modelPath)
        let input = try readFloatArray(opCase.folder + "/input.npy")
        let expected = try readFloatArray(opCase.folder + "/expected.npy")
        let batch = try #require(input.shape.first)
        #expect(Array(input.shape.dropFirst()) == graph.inputShape, "input shape")

        // Shape: the batch first, then the graph's per-example output shape. The one ONNX output
        // that is not batch-first (Flatten axis=2 gives [N·C, H·W]) keeps the same values in the
        // same order, as [N, C, H·W] per example.
        let irShape = [batch] + graph.outputShape
        if expected.shape.first == batch {
            #expect(expected.shape == irShape, "output shape: IR \(irShape), onnxruntime \(expected.shape)")
        } else {
            #expect(Shape.elementCount(expected.shape) == Shape.elementCount(irShape),
                    "output size: IR \(irShape), onnxruntime \(expected.shape)")
        }

        let float = try FloatExecutor(graph: graph).run(input.elements, batch: batch)
        expectClose(float, expected.elements, relative: 1e-4, "\(opCase.name) float")

        let format = Self.format(for: opCase)
        let kept = graph.argmaxEquivalentPrefix().nodeCount
        if let softmax = graph.nodes[..<kept].first(where: { $0.operation.isArgmaxInvariant }) {
            // A final Softmax along part of the output changes the argmax: float only.
            let error = #expect(throws: ReferenceError.self) { _ = try FixedPointExecutor(graph: graph, format: format) }
            guard case .unsupportedInFixedPoint(let node, let op, _)? = error else {
                Issue.record("\(opCase.name): expected unsupportedInFixedPoint, got \(String(describing: error))")
                return
            }
            #expect(node == softmax.name && op == softmax.operation.name)
            return
        }
        let fixed = try FixedPointExecutor(graph: graph, format: format).runDecoded(input.elements, batch: batch)
        expectClose(fixed, expected.elements, relative: 0.02, "\(opCase.name) fixed point (\(format))")
    }
}

import Preprocessing
import Foundation
import IR
import Testing

@testable import ONNX

// Tests of the ONNX → IR importer: the bad-model fixtures of Scripts/make_op_fixtures.py
// (Tests/Fixtures/bad/), the importer fixtures of Scripts/make_importer_fixtures.py
// (Tests/Fixtures/importer/), the bundled models and small models built here as `ONNXModel` values.

/// `relative` under the repository root (symlinks resolved, so a sandbox package linking here works).
private func repoPath(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(relative).path
}

/// Imports `path` and returns the `ONNXError` it throws (recording an issue if it throws nothing
/// or something else).
private func importError(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> ONNXError? {
    do {
        let graph = try ONNXImporter.loadGraph(path: path)
        Issue.record("\(path) imported (\(graph.nodes.count) nodes) but should have been rejected", sourceLocation: sourceLocation)
    } catch let error as ONNXError {
        #expect(error.localizedDescription == error.description, sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected an ONNXError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

private func importError(_ model: ONNXModel, sourceLocation: SourceLocation = #_sourceLocation) -> ONNXError? {
    do {
        let graph = try ONNXImporter.importGraph(from: model)
        Issue.record("\(model.source) imported (\(graph.nodes.count) nodes) but should have been rejected", sourceLocation: sourceLocation)
    } catch let error as ONNXError {
        return error
    } catch {
        Issue.record("expected an ONNXError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

// MARK: - Building small models in code

private func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String = "", domain: String = "",
                  _ attributes: [String: ONNXAttribute] = [:]) -> ONNXNode {
    ONNXNode(name: name, opType: op, domain: domain, inputs: inputs, outputs: outputs, attributes: attributes)
}

private func floats(_ name: String, _ dims: [Int], _ values: [Float]? = nil) -> ONNXTensor {
    let count = dims.reduce(1, *)
    return ONNXTensor(name: name, dataType: .float, dims: dims,
                      values: .floats(values ?? (0..<count).map { Float($0 % 7) * 0.25 - 0.5 }))
}

private func ints(_ name: String, _ values: [Int64]) -> ONNXTensor {
    ONNXTensor(name: name, dataType: .int64, dims: [values.count], values: .integers(values))
}

/// A model with input "X" of `inputShape` (batch first) and output "Y".
private func model(opset: Int, _ inputShape: [ONNXDimension], _ nodes: [ONNXNode], _ initializers: [ONNXTensor] = [],
                   source: String = "test.onnx") -> ONNXModel {
    ONNXModel(irVersion: 7, opsetVersion: opset, opsetImports: ["": opset], producerName: "ImporterTests", producerVersion: "",
              graph: ONNXGraph(name: "g", nodes: nodes, initializers: initializers,
                               inputs: [ONNXValueInfo(name: "X", elementType: .float, shape: inputShape)],
                               outputs: [ONNXValueInfo(name: "Y", elementType: .float, shape: nil)]),
              source: source)
}

private let nchw: [ONNXDimension] = [.symbolic("N"), .fixed(2), .fixed(6), .fixed(6)]
private let convWeight = floats("W", [3, 2, 3, 3])

// MARK: - Bad fixtures

@Suite("Importer: bad models give their specific error")
struct BadModelTests {
    @Test("unsupported-ops: the Tanh node is listed with file and opset; the Sigmoid (supported only as the last op) is not an unknown op")
    func unsupportedOps() throws {
        let path = repoPath("Tests/Fixtures/bad/unsupported-ops.onnx")
        guard case .unsupportedNodes(let source, let opset, let nodes)? = importError(path) else {
            Issue.record("expected unsupportedNodes")
            return
        }
        #expect(source == path)
        #expect(opset == 13)
        #expect(nodes.map(\.opType) == ["Tanh"], "only the unsupported op is listed, not the Sigmoid or the Add/Relu after it")
        #expect(nodes.map(\.node) == ["Tanh → th"])
        #expect(nodes.allSatisfy { $0.reason.contains("not supported") })
        let message = ONNXError.unsupportedNodes(source: source, opset: opset, nodes: nodes).description
        for part in [path, "opset 13", "Tanh", "1 node(s)"] { #expect(message.contains(part), "\(message)") }
    }

    @Test("the metadata 'preprocessing' is parsed into the graph and checked against the input: an image shape, crop and fixed size equal to it, one mean/std per channel")
    func preprocessingMetadata() throws {
        let fc: [ONNXNode] = [node("Flatten", ["X"], ["f"]), node("Gemm", ["f", "G"], ["Y"], ["transB": .int(1)])]
        let grey: [ONNXDimension] = [.symbolic("N"), .fixed(1), .fixed(6), .fixed(6)]
        var declared = model(opset: 13, grey, fc, [floats("G", [3, 36])])
        #expect(try ONNXImporter.importGraph(from: declared).preprocessing == nil)
        let inputSize = try ONNXImporter.importGraph(from: declared).inputShape.suffix(2).map(String.init).joined(separator: ",")
        declared.metadata = ["preprocessing": #"{"window": "file", "resize": {"shorter_side": 16}, "center_crop": [\#(inputSize)], "mean": 0.5, "std": [0.25]}"#]
        let graph = try ONNXImporter.importGraph(from: declared)
        #expect(graph.preprocessing?.window == .file)
        #expect(graph.preprocessing?.resize == .shorterSide(16))
        for (value, reason) in [(#"{"center_crop": [1, 1]}"#, "is not the model's input size"),
                                (#"{"resize": {"size": [1, 1]}}"#, "is not the model's input size"),
                                (#"{"mean": [0.1, 0.2, 0.3, 0.4]}"#, "has 4 values"),
                                (#"{"window": "fixed"}"#, "'window'"),
                                (#"{"resize": 256}"#, "'resize' must be an object")] {
            var bad = declared
            bad.metadata = ["preprocessing": value]
            guard case .unsupportedGraph(_, let message)? = importError(bad) else { Issue.record("\(value) was accepted"); continue }
            #expect(message.contains(reason), "\(message)")
        }
        // Two input channels are not an image.
        var twoChannels = model(opset: 13, nchw, fc, [floats("G", [3, 72])])
        twoChannels.metadata = ["preprocessing": "{}"]
        guard case .unsupportedGraph(_, let message)? = importError(twoChannels) else { Issue.record("2 channels accepted"); return }
        #expect(message.contains("is not an image"), "\(message)")
    }

    @Test("a Sigmoid is accepted as the last op (a multi-label model, with its findings and thresholds metadata) and refused anywhere else")
    func sigmoid() throws {
        let fc: [ONNXNode] = [node("Flatten", ["X"], ["f"]), node("Gemm", ["f", "G"], ["g"], ["transB": .int(1)])]
        var final = model(opset: 13, nchw, fc + [node("Sigmoid", ["g"], ["Y"])], [floats("G", [3, 72])])
        final.metadata = ["findings": "edema, effusion,mass", "thresholds": "0.5,0.25,0.75"]
        let graph = try ONNXImporter.importGraph(from: final)
        #expect(graph.task == .multiLabel)
        #expect(graph.argmaxEquivalentPrefix().nodeCount == graph.nodes.count - 1)
        #expect(graph.declarations == OutputDeclarations(findings: ["edema", "effusion", "mass"], thresholds: [0.5, 0.25, 0.75]))
        #expect(try ONNXImporter.importGraph(from: model(opset: 13, nchw, fc.dropLast() + [node("Gemm", ["f", "G"], ["Y"], ["transB": .int(1)])],
                                                         [floats("G", [3, 72])])).task == .singleLabel)

        for (key, value, reason) in [("findings", "a,b", "lists 2 value(s) but the model has 3"), ("findings", "a,,c", "output 1 is empty"),
                                     ("findings", "a,b,a", "distinct"), ("thresholds", "0.5,1,0.2", "strictly between 0 and 1"),
                                     ("thresholds", "0.5,x,0.2", "'x' (output 1) is not a finite number")] {
            var bad = final
            bad.metadata = [key: value]
            guard case .unsupportedGraph(_, let message)? = importError(bad) else { Issue.record("\(key)=\(value)"); continue }
            #expect(message.contains(reason), "\(message)")
        }

        let middle = model(opset: 13, nchw, fc + [node("Sigmoid", ["g"], ["s"], name: "sig"), node("Relu", ["s"], ["Y"])], [floats("G", [3, 72])])
        guard case .unsupportedNodes(_, _, let nodes)? = importError(middle) else { Issue.record("expected unsupportedNodes"); return }
        #expect(nodes.map(\.node) == ["sig"])
        #expect(nodes.first?.reason.contains("last op") == true)
    }

    @Test("missing-initializer: missingValue naming the node, its op and the value")
    func missingInitializer() {
        let path = repoPath("Tests/Fixtures/bad/missing-initializer.onnx")
        let error = importError(path)
        #expect(error == .missingValue(source: path, node: "Conv → c", opType: "Conv", opset: 13, value: "W_missing"))
        #expect(error?.description.contains("'W_missing'") == true)
        #expect(error?.description.contains("Conv, opset 13") == true)
    }

    @Test("unknown-attribute: unsupportedNodes whose reason names attribute 'foo'")
    func unknownAttribute() {
        let path = repoPath("Tests/Fixtures/bad/unknown-attribute.onnx")
        guard case .unsupportedNodes(let source, 13, let nodes)? = importError(path) else {
            Issue.record("expected unsupportedNodes at opset 13")
            return
        }
        #expect(source == path)
        #expect(nodes.count == 1)
        #expect(nodes.first?.opType == "Conv")
        #expect(nodes.first?.node == "Conv → c")
        #expect(nodes.first?.reason.contains("attribute 'foo'") == true)
    }

    @Test("grouped-conv: unsupportedNodes mentioning the group")
    func groupedConv() {
        let path = repoPath("Tests/Fixtures/bad/grouped-conv.onnx")
        guard case .unsupportedNodes(_, 13, let nodes)? = importError(path) else {
            Issue.record("expected unsupportedNodes at opset 13")
            return
        }
        #expect(nodes.count == 1)
        #expect(nodes.first?.opType == "Conv")
        #expect(nodes.first?.reason.contains("group=2") == true)
    }

    @Test("two-inputs: unsupportedGraph naming both inputs")
    func twoInputs() {
        let path = repoPath("Tests/Fixtures/bad/two-inputs.onnx")
        guard case .unsupportedGraph(let source, let reason)? = importError(path) else {
            Issue.record("expected unsupportedGraph")
            return
        }
        #expect(source == path)
        #expect(reason.contains("2 inputs") && reason.contains("'A'") && reason.contains("'B'") && reason.contains("exactly one input"))
    }

    @Test("dynamic-spatial: unsupportedGraph naming the dynamic dimension")
    func dynamicSpatial() {
        let path = repoPath("Tests/Fixtures/bad/dynamic-spatial.onnx")
        guard case .unsupportedGraph(let source, let reason)? = importError(path) else {
            Issue.record("expected unsupportedGraph")
            return
        }
        #expect(source == path)
        #expect(reason.contains("'X'") && reason.contains("'H'") && reason.contains("axis 2") && reason.contains("batch"))
    }

    @Test("a truncated bundled model is malformedProtobuf", arguments: [1, 3, 10, 100, 1000, 5000, 20000, 40000, -100, -1])
    func truncated(_ cut: Int) throws {
        let full = [UInt8](try Data(contentsOf: URL(fileURLWithPath: repoPath("Models/densenet-digits.onnx"))))
        let count = cut > 0 ? cut : full.count + cut
        try #require(count > 0 && count < full.count)
        let bytes = Array(full[..<count])
        #expect(throws: ONNXError.malformedProtobuf(source: "cut", byteCount: count)) {
            _ = try ONNXImporter.importGraph(from: ONNXModel(bytes: bytes, source: "cut"))
        }
        // The same through a file: the message names the file.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("truncated-\(count)-\(UUID().uuidString).onnx")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = importError(url.path)
        #expect(error == .malformedProtobuf(source: url.path, byteCount: count))
        #expect(error?.description.contains(url.path) == true)
    }

    @Test("a nonexistent path is unreadableFile")
    func nonexistent() {
        let path = repoPath("Models/no-such-model.onnx")
        let error = importError(path)
        guard case .unreadableFile(let reported, _)? = error else {
            Issue.record("expected unreadableFile, got \(String(describing: error))")
            return
        }
        #expect(reported == path)
        #expect(error!.description.contains(path))
        #expect(importError(repoPath("Models")).map { if case .unreadableFile = $0 { true } else { false } } == true, "a folder")
    }

    @Test("a Softmax in the middle of a graph is rejected, naming the node")
    func softmaxInTheMiddle() {
        let path = repoPath("Tests/Fixtures/importer/softmax-middle.onnx")
        guard case .unsupportedNodes(let source, 13, let nodes)? = importError(path) else {
            Issue.record("expected unsupportedNodes at opset 13")
            return
        }
        #expect(source == path)
        #expect(nodes.map(\.node) == ["middle_softmax"])
        #expect(nodes.first?.opType == "Softmax")
        #expect(nodes.first?.reason.contains("last op") == true)
    }

    @Test("dropout-mask-read: a Dropout whose mask is read is refused, naming the node, the output and its reader")
    func dropoutMaskRead() {
        let path = repoPath("Tests/Fixtures/importer/dropout-mask-read.onnx")
        guard case .unsupportedNodes(let source, 13, let nodes)? = importError(path) else {
            Issue.record("expected unsupportedNodes at opset 13")
            return
        }
        #expect(source == path)
        // Only the Dropout: the Cast and the Mul after it are known ops and not listed again.
        #expect(nodes.map(\.node) == ["drop"])
        #expect(nodes.map(\.opType) == ["Dropout"])
        let reason = nodes.first?.reason ?? ""
        for part in ["output 2 'mask'", "node 'mask_to_float'", "only the first output of Dropout"] {
            #expect(reason.contains(part), "\(reason)")
        }
        let message = ONNXError.unsupportedNodes(source: source, opset: 13, nodes: nodes).description
        for part in [path, "'drop'", "'mask'"] { #expect(message.contains(part), "\(message)") }
    }
}

// MARK: - What imports, and into what

@Suite("Importer: graphs after import and passes")
struct ImportedGraphTests {
    static func kinds(_ graph: Graph) -> [String: Int] {
        graph.nodes.reduce(into: [:]) { $0[$1.operation.name, default: 0] += 1 }
    }

    /// The default import folds the transition's BatchNorm (Concat → BN → ReLU → unpadded 1×1
    /// Conv) through its ReLU; the dense layers' (before a padded 3×3 Conv) and the last (before a
    /// MaxPool) stay per-channel scales.
    @Test("densenet-digits: the transition's BatchNorm folds through its ReLU into the 1×1 Conv")
    func densenetSignedShift() throws {
        let graph = try ONNXImporter.loadGraph(path: repoPath("Models/densenet-digits.onnx"))
        #expect(Self.kinds(graph) == ["Conv": 8, "Affine": 7, "SignedShift": 1, "Relu": 8, "Concat": 6, "AveragePool": 1, "MaxPool": 1,
                                      "GlobalAveragePool": 1, "Reshape": 1, "Gemm": 1])
        let index = try #require(graph.nodes.firstIndex { $0.operation.name == "SignedShift" })
        #expect(graph.nodes[index].name.hasPrefix("/trans/"))
        #expect(graph.nodes[index + 1].operation == .relu)
        guard case .convolution(let conv) = graph.nodes[index + 2].operation else { Issue.record("no Conv after the ReLU"); return }
        #expect(conv.kernel == [1, 1] && conv.pads == [0, 0, 0, 0])
    }

    @Test("densenet-digits: BatchNorms after a Concat (or a shared output) stay affine; none is folded wrongly")
    func densenet() throws {
        let path = repoPath("Models/densenet-digits.onnx")
        let graph = try ONNXImporter.loadGraph(path: path, foldScalesThroughReLUs: false)
        let onnx = try ONNXModel(contentsOf: path)
        let batchNorms = onnx.graph.nodes.filter { $0.opType == "BatchNormalization" }
        #expect(batchNorms.count == 8)
        #expect(graph.inputShape == [1, 8, 8])
        #expect(graph.batch == .symbolic("batch"))
        #expect(graph.outputShape == [10])
        #expect(Self.kinds(graph) == ["Conv": 8, "Affine": 8, "Relu": 8, "Concat": 6, "AveragePool": 1, "MaxPool": 1,
                                      "GlobalAveragePool": 1, "Reshape": 1, "Gemm": 1])
        let producers = Dictionary(graph.nodes.map { ($0.output, $0) }, uniquingKeysWith: { first, _ in first })
        let consumers = graph.consumers()
        for bn in batchNorms {
            // Each BatchNormalization is an affine node of the same name, per channel…
            let affine = try #require(graph.nodes.first { $0.name == bn.displayName }, "\(bn.displayName) vanished")
            guard case .affine(let a) = affine.operation else {
                Issue.record("\(bn.displayName) became \(affine.operation.name)")
                continue
            }
            let channels = affine.outputShape[0]
            #expect(a.perChannel(rank: 3, channels: channels) != nil)
            #expect(a.scale?.shape == [channels, 1, 1] && a.shift?.shape == [channels, 1, 1])
            // …and it may not have been folded: its input is a Concat, or a value read elsewhere too.
            let input = affine.inputs[0]
            let producer = producers[input]
            let isConcat: Bool = if case .concat? = producer?.operation { true } else { false }
            #expect(isConcat || (consumers[input]?.count ?? 0) > 1, "\(bn.displayName) reads \(input)")
        }
        // The first BatchNorm reads the stem Conv, which the first Concat reads too.
        let stem = try #require(graph.nodes.first)
        #expect(stem.operation.name == "Conv")
        #expect(consumers[stem.output]?.count == 2)
        #expect(graph.argmaxEquivalentPrefix().nodeCount == graph.nodes.count)
    }

    @Test("mlp-breast-cancer: three Gemms and two Relus")
    func mlp() throws {
        let graph = try ONNXImporter.loadGraph(path: repoPath("Models/mlp-breast-cancer.onnx"))
        #expect(graph.nodes.map(\.operation.name) == ["Gemm", "Relu", "Gemm", "Relu", "Gemm"])
        #expect(graph.inputShape == [30] && graph.outputShape == [2])
    }

    @Test("legacy opset-8/9 models: BN folded into the Conv, the Unsqueeze/Mul/Add scale one affine, the final Softmax kept but dropped from the secure program",
          arguments: ["legacy_cnn_opset8", "legacy_cnn_opset9"])
    func legacy(_ name: String) throws {
        let graph = try ONNXImporter.loadGraph(path: repoPath("Tests/Fixtures/ops/\(name)/model.onnx"))
        #expect(graph.nodes.map(\.operation.name) == ["Conv", "Relu", "MaxPool", "Conv", "Relu", "Add", "Affine", "Reshape", "Gemm", "Softmax"])
        #expect(graph.batch == .fixed(2))
        // The Mul and the Add by per-channel constants: one affine with both, per channel.
        let affine = try #require(graph.nodes.first { $0.operation.name == "Affine" })
        guard case .affine(let a) = affine.operation else { return }
        #expect(a.scale != nil && a.shift != nil)
        #expect(a.perChannel(rank: 3, channels: 8) != nil)
        // The BatchNormalization after the first Conv is folded: the conv has a bias, no BN left.
        guard case .convolution(let conv) = graph.nodes[0].operation else { return }
        #expect(conv.bias?.shape == [8])
        // The final Softmax is in the IR, and dropped from the secure program.
        let prefix = graph.argmaxEquivalentPrefix()
        #expect(prefix.nodeCount == graph.nodes.count - 1)
        #expect(prefix.outputName == graph.nodes[graph.nodes.count - 2].output)
        #expect(graph.nodeCosts().last?.protocolClass == .dropped)
    }

    @Test("torch exports fold their Shape/Gather/Unsqueeze/Concat chains", arguments: ["torch_cnn_opset11", "torch_cnn_opset17"])
    func torch(_ name: String) throws {
        let path = repoPath("Tests/Fixtures/ops/\(name)/model.onnx")
        let onnx = try ONNXModel(contentsOf: path)
        #expect(onnx.graph.nodes.contains { $0.opType == "Shape" })
        let graph = try ONNXImporter.loadGraph(path: path)
        #expect(graph.nodes.map(\.operation.name) == ["Conv", "Relu", "MaxPool", "Reshape", "Gemm"])
        #expect(graph.batch == .symbolic("batch"))
        #expect(graph.nodes[3].outputShape == [64])
    }

    @Test("constant computations fold away: only the activation's reshape or affine remains", arguments: ["fold_shape_reshape_opset11", "fold_shape_reshape_opset13", "fold_constantofshape_add", "fold_cast_mul", "fold_squeeze_unsqueeze_add", "fold_const_arith_add", "constant_add"])
    func folding(_ name: String) throws {
        let graph = try ONNXImporter.loadGraph(path: repoPath("Tests/Fixtures/ops/\(name)/model.onnx"))
        let allowed: Set<String> = ["Reshape", "Affine", "AddConstant", "Add"]
        #expect(graph.nodes.allSatisfy { allowed.contains($0.operation.name) }, "\(graph.nodes.map(\.operation.name))")
        #expect(graph.nodes.count <= 2)
    }

    @Test("a final Softmax over part of the output is kept, not dropped, and has no secure protocol")
    func partialFinalSoftmax() throws {
        let graph = try ONNXImporter.loadGraph(path: repoPath("Tests/Fixtures/ops/softmax_opset13/model.onnx"))
        #expect(graph.outputShape == [3, 5])
        #expect(graph.nodes.last?.operation == .softmax(axis: 1, coerced: false))
        #expect(graph.argmaxEquivalentPrefix().nodeCount == graph.nodes.count)
        #expect(graph.nodeCosts().last?.protocolClass == .unsupported)
        // Softmax-11 on [N, 3, 2, 2] with axis 1 normalises all 12 values of an example: dropped.
        let coerced = try ONNXImporter.loadGraph(path: repoPath("Tests/Fixtures/ops/softmax_opset11_axis1_rank4/model.onnx"))
        #expect(coerced.nodes.last?.operation == .softmax(axis: 0, coerced: true))
        #expect(coerced.argmaxEquivalentPrefix().nodeCount == coerced.nodes.count - 1)
    }

    @Test("an optional output nothing reads does not matter: a Dropout's mask (opsets 9 and 13), a MaxPool's Indices",
          arguments: [("dropout_mask_unused_opset9", ["Conv"]), ("dropout_mask_unused_opset13", ["Relu"]),
                      ("maxpool_indices_unused", ["MaxPool"])])
    func unusedOptionalOutputs(_ name: String, _ ops: [String]) throws {
        let graph = try ONNXImporter.loadGraph(path: repoPath("Tests/Fixtures/importer/ops/\(name)/model.onnx"))
        #expect(graph.nodes.map(\.operation.name) == ops)
    }

    @Test("BatchNorm after a Gemm folds into it; after a Conv read twice it stays", arguments: [("gemm_bn_relu", ["Gemm", "Relu"]), ("conv_bn_shared_output", ["Conv", "Affine", "Add"]), ("conv_div_sub_fold", ["Conv"]), ("affine_chain", ["Affine"]), ("mul_per_element_const", ["Affine"])])
    func folds(_ name: String, _ ops: [String]) throws {
        let graph = try ONNXImporter.loadGraph(path: repoPath("Tests/Fixtures/importer/ops/\(name)/model.onnx"))
        #expect(graph.nodes.map(\.operation.name) == ops)
    }
}

// MARK: - Models built in code

@Suite("Importer: op and opset details")
struct ImporterDetailTests {
    @Test("old opsets: Pad-1 'paddings', Cast-1 with a type name, consumed_inputs are accepted")
    func oldOpsets() throws {
        let pad1 = model(opset: 1, [.fixed(1), .fixed(2), .fixed(3)],
                         [node("Pad", ["X"], ["Y"], ["paddings": .ints([0, 1, 0, 0, 2, 1]), "value": .float(0.5)])])
        let graph = try ONNXImporter.importGraph(from: pad1)
        #expect(graph.nodes.map(\.operation) == [.pad(pads: [1, 0, 2, 1], value: 0.5)])
        #expect(graph.outputShape == [5, 4])

        let cast1 = model(opset: 1, [.fixed(1), .fixed(3)],
                          [node("Cast", ["k"], ["kf"], ["to": .string("FLOAT")]),
                           node("Mul", ["X", "kf"], ["Y"], ["consumed_inputs": .ints([0, 0])])],
                          [ints("k", [1, -2, 3])])
        let cast = try ONNXImporter.importGraph(from: cast1)
        #expect(cast.nodes.map(\.operation) == [.affine(Affine(scale: Tensor(shape: [3], values: [1, -2, 3]), shift: nil))])

        // consumed_inputs is only a legacy (opset < 6) attribute.
        let modern = model(opset: 13, [.fixed(1), .fixed(3)], [node("Relu", ["X"], ["Y"], ["consumed_inputs": .ints([0])])])
        guard case .unsupportedNodes(_, 13, let nodes)? = importError(modern) else {
            Issue.record("expected unsupportedNodes")
            return
        }
        #expect(nodes.first?.reason.contains("'consumed_inputs'") == true)
    }

    @Test("auto_pad SAME with dilations, and SAME pooling with a kernel smaller than the stride, are refused")
    func sameWithDilations() {
        let conv = model(opset: 13, nchw, [node("Conv", ["X", "W"], ["Y"], ["auto_pad": .string("SAME_UPPER"), "dilations": .ints([2, 2])])],
                         [convWeight])
        guard case .unsupportedNodes(_, _, let convNodes)? = importError(conv) else { Issue.record("conv"); return }
        #expect(convNodes.first?.reason.contains("dilations") == true)
        let pool = model(opset: 13, nchw, [node("MaxPool", ["X"], ["Y"], ["auto_pad": .string("SAME_LOWER"), "kernel_shape": .ints([2, 2]), "dilations": .ints([2, 2])])])
        guard case .unsupportedNodes(_, _, let poolNodes)? = importError(pool) else { Issue.record("pool"); return }
        #expect(poolNodes.first?.reason.contains("dilations") == true)
        let small = model(opset: 13, nchw, [node("AveragePool", ["X"], ["Y"], ["auto_pad": .string("SAME_UPPER"), "kernel_shape": .ints([1, 1]), "strides": .ints([2, 2])])])
        guard case .unsupportedNodes(_, _, let smallNodes)? = importError(small) else { Issue.record("small kernel"); return }
        #expect(smallNodes.first?.reason.contains("smaller than the strides") == true)
    }

    @Test("every unsupported node is listed at once, with ops of other domains and products of activations")
    func listsEverything() {
        let m = model(opset: 13, nchw, [
            node("Conv", ["X", "W"], ["c"], name: "conv"),
            node("Tanh", ["c"], ["s"], name: "tanh"),
            node("Mul", ["c", "c"], ["m"], name: "square"),
            node("Custom", ["c"], ["u"], name: "custom", domain: "com.example"),
            node("Add", ["s", "m"], ["a"], name: "add"),
            node("Add", ["a", "u"], ["Y"], name: "add2"),
        ], [convWeight])
        guard case .unsupportedNodes(_, _, let nodes)? = importError(m) else { Issue.record("expected unsupportedNodes"); return }
        #expect(nodes.map(\.node) == ["tanh", "square", "custom"])
        #expect(nodes[1].reason.contains("secure multiplication"))
        #expect(nodes[2].reason.contains("com.example"))
    }

    @Test("an output that does not depend on the input, and a model without outputs, are unsupportedGraph")
    func constantOutput() {
        let m = model(opset: 13, nchw, [node("Identity", ["W"], ["Y"])], [convWeight])
        guard case .unsupportedGraph(_, let reason)? = importError(m) else { Issue.record("expected unsupportedGraph"); return }
        #expect(reason.contains("does not depend on the input"))
    }

    @Test("Flatten axis=2 keeps the batch first: [N, C, H·W] per example")
    func flattenAxis2() throws {
        let m = model(opset: 13, nchw, [node("Flatten", ["X"], ["Y"], ["axis": .int(2)])])
        let graph = try ONNXImporter.importGraph(from: m)
        #expect(graph.outputShape == [2, 36])
        let axis0 = model(opset: 13, nchw, [node("Flatten", ["X"], ["Y"], ["axis": .int(0)])])
        guard case .unsupportedNodes(_, _, let nodes)? = importError(axis0) else { Issue.record("expected unsupportedNodes"); return }
        #expect(nodes.first?.reason.contains("batch") == true)
    }

    @Test("Clip: a missing, infinite or float32-extreme bound is absent in the IR; no bound at all is the identity")
    func clipBounds() throws {
        let x: [ONNXDimension] = [.symbolic("N"), .fixed(4)]
        func clip11(_ lower: Float?, _ upper: Float?) -> ONNXModel {
            model(opset: 13, x, [node("Clip", ["X", lower == nil ? "" : "lo"] + (upper == nil ? [] : ["hi"]), ["Y"])],
                  (lower.map { [floats("lo", [], [$0])] } ?? []) + (upper.map { [floats("hi", [], [$0])] } ?? []))
        }
        func clip6(_ attributes: [String: ONNXAttribute]) -> ONNXModel {
            model(opset: 7, x, [node("Clip", ["X"], ["Y"], attributes)])
        }
        let cases: [(ONNXModel, [IR.Operation])] = [
            (clip11(-1, nil), [.clip(lower: -1, upper: nil)]),
            (clip11(nil, 0.5), [.clip(lower: nil, upper: 0.5)]),
            (clip11(-.infinity, 2), [.clip(lower: nil, upper: 2)]),
            (clip11(-3, .infinity), [.clip(lower: -3, upper: nil)]),
            (clip11(-.greatestFiniteMagnitude, .greatestFiniteMagnitude), []),
            (clip11(0, .infinity), [.relu]),
            (clip11(nil, nil), []),
            (clip6(["max": .float(0.5)]), [.clip(lower: nil, upper: 0.5)]),
            (clip6(["min": .float(-.greatestFiniteMagnitude), "max": .float(6)]), [.clip(lower: nil, upper: 6)]),
            (clip6(["min": .float(-1), "max": .float(6)]), [.clip(lower: -1, upper: 6)]),
        ]
        for (index, (m, operations)) in cases.enumerated() {
            let graph = try ONNXImporter.importGraph(from: m)
            #expect(graph.nodes.map(\.operation) == operations, "case \(index)")
            #expect(graph.outputShape == [4])
        }
        // A bound that cannot be met (+inf as min, NaN) is refused, naming the node and the bound.
        for (m, bound) in [(clip11(.infinity, nil), "min = inf"), (clip11(nil, -.infinity), "max = -inf"), (clip11(.nan, 1), "min = nan")] {
            guard case .unsupportedNodes(_, _, let nodes)? = importError(m) else { Issue.record("expected unsupportedNodes for \(bound)"); continue }
            #expect(nodes.map(\.opType) == ["Clip"])
            #expect(nodes.first?.reason.contains(bound) == true, "\(nodes)")
        }
    }

    @Test("outputs nothing reads do not matter for any op; a read one is refused naming the output and who reads it")
    func unreadOutputs() throws {
        // BatchNormalization-9 declaring its four training outputs, none of them read.
        let stats = ["mean", "var", "saved_mean", "saved_var"]
        let bnInputs = ["s", "b", "m", "v"].map { floats($0, [2], [1, 0.5]) }
        let bn = model(opset: 9, nchw, [node("BatchNormalization", ["X", "s", "b", "m", "v"], ["Y"] + stats)], bnInputs)
        #expect(try ONNXImporter.importGraph(from: bn).nodes.map(\.operation.name) == ["Affine"])
        // One of them read by the next node: refused, naming that output and its reader.
        let bnRead = model(opset: 9, nchw, [node("BatchNormalization", ["X", "s", "b", "m", "v"], ["n"] + stats, name: "bn"),
                                            node("Add", ["n", "saved_var"], ["Y"], name: "add")], bnInputs)
        guard case .unsupportedNodes(_, 9, let bnNodes)? = importError(bnRead) else { Issue.record("expected unsupportedNodes"); return }
        #expect(bnNodes.map(\.node) == ["bn"])
        #expect(bnNodes.first?.reason.contains("output 5 'saved_var' is read by node 'add'") == true, "\(bnNodes)")

        // A mask that is itself the model's output.
        let maskOut = model(opset: 13, nchw, [node("Dropout", ["X"], ["d", "Y"], name: "drop")])
        guard case .unsupportedNodes(_, _, let maskNodes)? = importError(maskOut) else { Issue.record("expected unsupportedNodes"); return }
        #expect(maskNodes.first?.reason.contains("output 2 'Y' is read by the model's output") == true, "\(maskNodes)")

        // A mask read only by a branch that never reaches the output (even through an unsupported op).
        let deadBranch = model(opset: 13, nchw, [node("Dropout", ["X"], ["d", "mask"]),
                                                 node("Cast", ["mask"], ["mf"], ["to": .int(1)]),
                                                 node("Sigmoid", ["mf"], ["unused"]),
                                                 node("Relu", ["d"], ["Y"])])
        #expect(try ONNXImporter.importGraph(from: deadBranch).nodes.map(\.operation.name) == ["Relu"])

        // A Dropout folded on a constant: its mask is not computed, so reading it is refused too.
        let folded = model(opset: 13, [.symbolic("N"), .fixed(3)],
                           [node("Dropout", ["c"], ["cd", "cmask"], name: "constant_drop"),
                            node("Cast", ["cmask"], ["cm"], ["to": .int(1)]),
                            node("Mul", ["cd", "cm"], ["k"]), node("Mul", ["X", "k"], ["Y"])],
                           [floats("c", [3], [1, 2, 3])])
        guard case .unsupportedNodes(_, _, let foldedNodes)? = importError(folded) else { Issue.record("expected unsupportedNodes"); return }
        #expect(foldedNodes.map(\.node) == ["constant_drop"])
        #expect(foldedNodes.first?.reason.contains("'cmask' is read by node 'Cast → cm'") == true, "\(foldedNodes)")
        // The same Dropout with its mask unread folds away into the constant scale.
        let foldedUnread = model(opset: 13, [.symbolic("N"), .fixed(3)],
                                 [node("Dropout", ["c"], ["cd", "cmask"]), node("Mul", ["X", "cd"], ["Y"])],
                                 [floats("c", [3], [1, 2, 3])])
        #expect(try ONNXImporter.importGraph(from: foldedUnread).nodes.map(\.operation)
                == [.affine(Affine(scale: Tensor(shape: [3], values: [1, 2, 3]), shift: nil))])
    }

    @Test("Reshape: 0 copies a dimension, −1 is inferred, a reshape across the batch is refused")
    func reshape() throws {
        let m = model(opset: 13, nchw, [node("Reshape", ["X", "s"], ["Y"])], [ints("s", [0, 0, -1])])
        #expect(try ONNXImporter.importGraph(from: m).outputShape == [2, 36])
        let bad = model(opset: 13, nchw, [node("Reshape", ["X", "s"], ["Y"])], [ints("s", [-1, 36])])
        guard case .unsupportedNodes(_, _, let nodes)? = importError(bad) else { Issue.record("expected unsupportedNodes"); return }
        #expect(nodes.first?.reason.contains("batch") == true)
    }
}

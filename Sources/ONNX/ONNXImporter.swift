import IR
import Preprocessing
import Foundation

/// Lowers a parsed ONNX model into the IR: folds every constant computation, maps each remaining
/// node through the op table (`OpTable`), then runs the IR passes (affine/BatchNorm folding,
/// dead-node removal, shape inference).
///
/// Requirements on the model: one input tensor (float, batch first, every other dimension fixed),
/// one output, ops of the supported set (at any opset: each lowering follows its op's version).
/// Nodes the output does not depend on, and node outputs nothing on the way to it reads (optional
/// outputs such as a Dropout's mask), are ignored. Every node that cannot be lowered is listed in
/// one `ONNXError.unsupportedNodes`.
public enum ONNXImporter {
    /// Reads, parses and imports a model file.
    /// `foldScalesThroughReLUs: false` keeps every per-channel scale before a ReLU as an HE step
    /// (`Graph.optimize(foldScalesThroughReLUs:)`); for tests of that path.
    public static func loadGraph(path: String, foldScalesThroughReLUs: Bool = true) throws -> Graph {
        try importGraph(from: ONNXModel(contentsOf: path), foldScalesThroughReLUs: foldScalesThroughReLUs)
    }

    /// Imports a parsed model and optimises the result.
    public static func importGraph(from model: ONNXModel, foldScalesThroughReLUs: Bool = true) throws -> Graph {
        let source = model.source
        let graph = model.graph
        let initializerNames = Set(graph.initializers.map(\.name))
        let realInputs = graph.inputs.filter { !initializerNames.contains($0.name) }
        guard realInputs.count == 1, let input = realInputs.first else {
            let names = realInputs.map { "'\($0.name)'" }.joined(separator: ", ")
            throw ONNXError.unsupportedGraph(source: source, reason: realInputs.isEmpty
                ? "the model declares no input tensor"
                : "the model has \(realInputs.count) inputs (\(names)); SecureValidation supports models with exactly one input tensor")
        }
        guard graph.outputs.count == 1, let output = graph.outputs.first else {
            throw ONNXError.unsupportedGraph(source: source, reason:
                "the model has \(graph.outputs.count) outputs; SecureValidation supports models with exactly one output")
        }
        if let type = input.elementType, type != .float {
            throw ONNXError.unsupportedGraph(source: source, reason:
                "input '\(input.name)' has element type \(type); only float inputs are supported")
        }
        guard let dims = input.shape, dims.count >= 2 else {
            throw ONNXError.unsupportedGraph(source: source, reason:
                "input '\(input.name)' must have a static shape with a batch dimension first (e.g. [N, 1, 8, 8])"
                + (input.shape.map { ", got [\($0.map(\.description).joined(separator: ", "))]" } ?? ", but the model declares no shape"))
        }
        var perExample: [Int] = []
        for (axis, dim) in dims.enumerated().dropFirst() {
            guard case .fixed(let n) = dim, n > 0 else {
                throw ONNXError.unsupportedGraph(source: source, reason:
                    "input '\(input.name)' has a dynamic dimension '\(dim)' at axis \(axis); only the batch dimension (axis 0) may be symbolic — re-export with a fixed input size")
            }
            perExample.append(n)
        }
        let declaredBatch: Int
        if case .fixed(let n) = dims[0], n > 0 { declaredBatch = n } else { declaredBatch = 1 }
        guard Shape.isWithinLimit([declaredBatch] + perExample) else {
            throw ONNXError.unsupportedGraph(source: source, reason:
                "input '\(input.name)' has shape [\(dims.map(\.description).joined(separator: ", "))], more than "
                + "\(Shape.maximumElementCount) values per batch; SecureValidation supports inputs up to that size")
        }
        let batchDimension: BatchDimension
        switch dims[0] {
        case .fixed(let n) where n > 0: batchDimension = .fixed(n)
        case .symbolic(let name): batchDimension = .symbolic(name)
        default: batchDimension = .symbolic("N")
        }
        let foldingBatch: Int
        if case .fixed(let n) = batchDimension { foldingBatch = n } else { foldingBatch = 1 }

        var state = ImportState(source: source, opset: model.opsetVersion, batch: foldingBatch)
        for initializer in graph.initializers { state.values[initializer.name] = .constant(Constant(initializer)) }
        state.values[input.name] = .activation(irName: input.name, shape: [foldingBatch] + perExample)

        // Only the nodes the output depends on are imported: a node output that nothing on the way
        // to the model's output reads (a Dropout's mask, a MaxPool's Indices, a dangling branch)
        // does not matter, whatever its op.
        let live = liveNodes(graph.nodes, output: output.name)
        state.readers[output.name] = ["the model's output"]
        for (node, isLive) in zip(graph.nodes, live) where isLive {
            for name in node.inputs where !name.isEmpty { state.readers[name, default: []].append("node '\(node.displayName)'") }
        }
        for (node, isLive) in zip(graph.nodes, live) where isLive { try lower(node, state: &state) }

        guard state.unsupported.isEmpty else {
            throw ONNXError.unsupportedNodes(source: source, opset: model.opsetVersion, nodes: state.unsupported)
        }
        let outputIRName: String
        switch state.values[output.name] {
        case .activation(let name, _)?: outputIRName = name
        case .constant?:
            throw ONNXError.unsupportedGraph(source: source, reason: "the output '\(output.name)' does not depend on the input")
        case nil:
            throw ONNXError.unsupportedGraph(source: source, reason: "no node produces the output '\(output.name)'")
        }
        var result = Graph(inputName: input.name, inputShape: perExample, batch: batchDimension,
                           nodes: state.nodes, outputName: outputIRName)
        result.eliminateDeadNodes()
        try checkSoftmaxIsFinal(result, source: source, opset: model.opsetVersion)
        result.declarations = try declarations(model.metadata, graph: result, source: source)
        result.preprocessing = try preprocessing(model.metadata, inputShape: perExample, source: source)
        do {
            try result.optimize(foldScalesThroughReLUs: foldScalesThroughReLUs)
        } catch {
            throw ONNXError.unsupportedGraph(source: source, reason: error.description)
        }
        return result
    }

    /// Which nodes the value `output` depends on (ONNX lists nodes in topological order): walking
    /// back from the output, a node is live when something live reads one of its outputs.
    static func liveNodes(_ nodes: [ONNXNode], output: String) -> [Bool] {
        var needed: Set<String> = [output]
        var live = [Bool](repeating: false, count: nodes.count)
        for index in nodes.indices.reversed() where nodes[index].outputs.contains(where: needed.contains) {
            live[index] = true
            needed.formUnion(nodes[index].inputs.filter { !$0.isEmpty })
        }
        return live
    }

    /// Every output of `node` that an imported node or the model's output reads must have been
    /// produced by its folding or lowering, which produce the first output (and, when folded, any
    /// others the op computes); an optional output that is read (a Dropout's mask used by a later
    /// node) is refused, naming the output and its readers.
    static func checkReadOutputsProduced(_ node: ONNXNode, state: ImportState) throws {
        for (index, name) in node.outputs.enumerated() where !name.isEmpty && state.values[name] == nil {
            guard let readers = state.readers[name] else { continue }
            let which = index == 0 ? "its output '\(name)'" : "its output \(index + 1) '\(name)'"
            throw Unsupported(reason: "\(which) is read by \(readers.joined(separator: ", ")), but only the first output of "
                + "\(node.opType) is supported; re-export the model so that nothing reads '\(name)'")
        }
    }

    /// Lowers one node: constant folding when every input is a constant, else the op table.
    static func lower(_ node: ONNXNode, state: inout ImportState) throws {
        let standardDomain = node.domain.isEmpty || node.domain == "ai.onnx"
        // The foldings and lowerings read inputs by position: a node with too few or too many
        // (possible only in a malformed file) is rejected here, before any of them runs.
        if standardDomain, let arity = OpTable.arity(of: node.opType, opset: state.opset) {
            try checkArity(node, arity, state: state)
        }
        // Inputs: resolve names; an undefined name is a missing initializer (fatal).
        var inputs: [ImportedValue?] = []
        var isPoisoned = false
        for name in node.inputs {
            if name.isEmpty { inputs.append(nil); continue }
            if state.poisoned.contains(name) { isPoisoned = true; inputs.append(nil); continue }
            guard let value = state.values[name] else {
                throw ONNXError.missingValue(source: state.source, node: node.displayName, opType: node.opType,
                                             opset: state.opset, value: name)
            }
            inputs.append(value)
        }
        let context = NodeContext(node: node, inputs: inputs, opset: state.opset, source: state.source, batch: state.batch)
        func poison(_ reason: String?) {
            if let reason {
                state.unsupported.append(UnsupportedNode(node: node.displayName, opType: node.opType, reason: reason))
            }
            state.poisoned.formUnion(node.outputs)
        }
        guard standardDomain else {
            poison("ops of domain '\(node.domain)' are not supported")
            return
        }
        let lowering = OpTable.lowerings[node.opType]
        let foldable = ConstantFolding.evaluators[node.opType] != nil
        if isPoisoned {
            // Only say whether the op itself is known; its input is already reported.
            poison(lowering == nil && !foldable ? "op \(node.opType) is not supported" : nil)
            return
        }
        do {
            if let outputs = try ConstantFolding.fold(context) {
                for (name, value) in zip(node.outputs, outputs) where !name.isEmpty { state.values[name] = .constant(value) }
                try checkReadOutputsProduced(node, state: state)
                return
            }
            guard let lowering else {
                poison(foldable
                    ? "op \(node.opType) is supported only on constants, but an input depends on the model input"
                    : "op \(node.opType) is not supported (supported: \(OpTable.supportedOps.joined(separator: ", ")))")
                return
            }
            // `consumed_inputs` (opset < 6) only described in-place buffer reuse.
            let ignored: Set<String> = state.opset < 6 ? ["consumed_inputs"] : []
            if let unknown = node.attributes.keys.filter({ !lowering.attributes.contains($0) && !ignored.contains($0) }).sorted().first {
                poison("attribute '\(unknown)' is not supported for \(node.opType)")
                return
            }
            try lowering.lower(&state, context)
            try checkReadOutputsProduced(node, state: state)
            // Every activation stays within the size that shape arithmetic handles without overflow.
            for name in node.outputs where !name.isEmpty {
                if case .activation(_, let shape)? = state.values[name], !Shape.isWithinLimit(shape) {
                    throw context.shapeMismatch("the output '\(name)' would have shape \(Shape.describe(shape)), "
                        + "more than \(Shape.maximumElementCount) values")
                }
            }
        } catch let problem as Unsupported {
            poison(problem.reason)
        } catch let problem as IRError {
            // Shape inference of the node's IR op (Conv, pooling): name the ONNX node and file.
            if case .shapeMismatch(_, _, let reason) = problem { throw context.shapeMismatch(reason) }
            throw context.shapeMismatch(problem.description)
        }
    }

    /// Checks a node's input and output counts against its op's arity (`OpTable.arity`).
    static func checkArity(_ node: ONNXNode, _ arity: (required: Int, maximum: Int), state: ImportState) throws {
        func fail(_ reason: String) -> ONNXError {
            .shapeMismatch(source: state.source, node: node.displayName, opType: node.opType, opset: state.opset, reason: reason)
        }
        func inputs(_ n: Int) -> String { n == 1 ? "1 input" : "\(n) inputs" }
        let expected = arity.required == arity.maximum ? inputs(arity.required)
            : arity.maximum == .max ? "at least \(inputs(arity.required))"
            : "\(arity.required) to \(arity.maximum) inputs"
        guard node.inputs.count >= arity.required, node.inputs.count <= arity.maximum else {
            throw fail("has \(inputs(node.inputs.count)), but \(node.opType) at opset \(state.opset) takes \(expected)")
        }
        if let missing = node.inputs.prefix(arity.required).firstIndex(where: \.isEmpty) {
            throw fail("input \(missing) is required, but its name is empty")
        }
        guard let output = node.outputs.first, !output.isEmpty else {
            throw fail("the node has no output")
        }
    }

    /// A Softmax/LogSoftmax is accepted only in the chain of ops that ends at the model's output.
    /// There it is kept in the IR (the float executor computes the model's exact output); when it
    /// normalises over the whole output it does not change the argmax and the secure program drops
    /// it (`Graph.argmaxEquivalentPrefix`), otherwise only the float executor can run the model.
    /// The metadata `preprocessing` (JSON, see ``Preprocessing``), checked against the input shape:
    /// an image input (C × H × W with C = 1 or 3, or H × W), a crop or fixed resize of exactly the
    /// input's height and width, one mean and std per channel (or one for all).
    static func preprocessing(_ metadata: [String: String], inputShape: [Int], source: String) throws -> Preprocessing? {
        guard let text = metadata[Preprocessing.metadataKey] else { return nil }
        let declared: Preprocessing
        do { declared = try Preprocessing.parse(json: text) } catch {
            throw ONNXError.unsupportedGraph(source: source, reason: error.description)
        }
        func refuse(_ reason: String) -> ONNXError {
            .unsupportedGraph(source: source, reason: "metadata 'preprocessing': \(reason)")
        }
        let channels: Int
        switch inputShape.count {
        case 3 where inputShape[0] == 1 || inputShape[0] == 3: channels = inputShape[0]
        case 2: channels = 1
        default: throw refuse("the model's input \(inputShape) is not an image (1 or 3 channels × height × width)")
        }
        let spatial = Array(inputShape.suffix(2))
        if let crop = declared.centerCrop, crop != spatial {
            throw refuse("center_crop \(crop) is not the model's input size \(spatial)")
        }
        if declared.centerCrop == nil, case .size(let h, let w)? = declared.resize, [h, w] != spatial {
            throw refuse("resize.size [\(h), \(w)] is not the model's input size \(spatial) (and no center_crop follows)")
        }
        for (key, list) in [("mean", declared.mean), ("std", declared.std)] {
            if let list, list.count != 1 && list.count != channels {
                throw refuse("'\(key)' has \(list.count) values; the model takes \(channels) channel(s): give one per channel or one for all")
            }
        }
        return declared
    }

    /// The metadata `findings` and `thresholds` (comma-separated, one per output), checked against
    /// the model: the right count, non-empty distinct names, finite thresholds (in (0, 1) after a
    /// final Sigmoid).
    static func declarations(_ metadata: [String: String], graph: Graph, source: String) throws -> OutputDeclarations? {
        let outputs = graph.classCount
        func list(_ key: String) throws -> [String]? {
            guard let text = metadata[key] else { return nil }
            let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard items.count == outputs else {
                throw ONNXError.unsupportedGraph(source: source, reason:
                    "metadata '\(key)' lists \(items.count) value(s) but the model has \(outputs) output(s); give one per output, comma-separated")
            }
            return items
        }
        let findings = try list("findings")
        if let findings {
            if let empty = findings.firstIndex(of: "") {
                throw ONNXError.unsupportedGraph(source: source, reason: "metadata 'findings': the name of output \(empty) is empty")
            }
            guard Set(findings).count == findings.count else {
                throw ONNXError.unsupportedGraph(source: source, reason: "metadata 'findings': names must be distinct, got \(findings.joined(separator: ","))")
            }
        }
        var thresholds: [Double]?
        if let texts = try list("thresholds") {
            thresholds = try texts.enumerated().map { index, text in
                guard let value = Double(text), value.isFinite else {
                    throw ONNXError.unsupportedGraph(source: source, reason: "metadata 'thresholds': '\(text)' (output \(index)) is not a finite number")
                }
                if graph.task == .multiLabel, !(value > 0 && value < 1) {
                    throw ONNXError.unsupportedGraph(source: source, reason:
                        "metadata 'thresholds': \(text) (output \(index)) must be a probability strictly between 0 and 1: the model ends in a Sigmoid")
                }
                return value
            }
        }
        if findings == nil && thresholds == nil { return nil }
        return OutputDeclarations(findings: findings, thresholds: thresholds)
    }

    static func checkSoftmaxIsFinal(_ graph: Graph, source: String, opset: Int) throws {
        var finalChainStart = graph.nodes.count
        var output = graph.outputName
        while finalChainStart > 0, graph.nodes[finalChainStart - 1].output == output,
              graph.nodes[finalChainStart - 1].operation.isArgmaxInvariant {
            output = graph.nodes[finalChainStart - 1].inputs[0]
            finalChainStart -= 1
        }
        let misplaced = graph.nodes[..<finalChainStart].filter { $0.operation.isArgmaxInvariant }
        guard misplaced.isEmpty else {
            throw ONNXError.unsupportedNodes(source: source, opset: opset, nodes: misplaced.map {
                UnsupportedNode(node: $0.name, opType: $0.operation.name,
                                reason: "\($0.operation.name) is supported only as the model's last op (it has no secure protocol in the middle of a network)")
            })
        }
    }
}

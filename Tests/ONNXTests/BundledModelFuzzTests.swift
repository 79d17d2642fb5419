import CONNXProto
import CProtobufC
import Foundation
import IR
import Testing

@testable import ONNX
import TestSupport

// Fuzzing of the whole model-loading path on mutations of the two bundled models
// (Models/densenet-digits.onnx, Models/mlp-breast-cancer.onnx): protobuf parsing, import/lowering
// into the IR, the IR passes and shape inference, and what `validate-inspect plan` reads from the
// graph before it compiles (value shapes, node costs, class count, the stripped graph).
//
// Every input must either load or fail with a typed, user-facing error (an `ONNXError` naming the
// source, or an `IRError`) whose message is not empty. A crash (trap, precondition, index out of
// range, overflow, huge allocation) ends the test process, so reaching the end is the proof; a hang
// is caught by the per-input time bound and the test's time limit.

/// `relative` under the repository root (symlinks resolved, so a sandbox package linking here works).
private func repositoryPath(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent()  // Tests/ONNXTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent(relative).path
}

private func bundledModel(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: repositoryPath("Models/\(name)"))))
}


// MARK: - The model as a tree of fields, and where its structure lies in the bytes

/// Where the structure of a serialized model lies, at every nesting level: the offset of the first
/// byte of every field tag, length prefix and varint value, and the byte range of every field.
/// Byte-level mutations aim at these half the time (the float bytes of raw_data, most of a file,
/// rarely matter).
private struct WireLayout {
    var tags: [Int] = []
    var lengths: [Int] = []
    var values: [Int] = []
    var fields: [Range<Int>] = []

    var structural: [Int] { tags + lengths + values }
}

/// A protobuf message as its fields in file order, read with the protobuf-c descriptors of
/// onnx.proto (so sub-messages are known by schema, not guessed). Serialising it back gives the
/// original bytes; editing it and serialising gives a well-framed model whose content is wrong,
/// which is what reaches the importer's checks.
private struct WireMessage {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes([UInt8])
        case message(WireMessage)
    }

    struct Field {
        var number: UInt64
        var value: Value
    }

    /// The onnx.proto message name, e.g. "onnx.NodeProto".
    var type: String
    var fields: [Field]

    /// Parses a whole `ModelProto`.
    static func model(_ bytes: [UInt8]) -> WireMessage? {
        var layout = WireLayout()
        return model(bytes, layout: &layout)
    }

    /// Parses a whole `ModelProto`, recording where its structure lies in `bytes`.
    static func model(_ bytes: [UInt8], layout: inout WireLayout) -> WireMessage? {
        withUnsafePointer(to: onnx__model_proto__descriptor) { parse(bytes, 0..<bytes.count, $0, &layout) }
    }

    private static func varint(_ bytes: [UInt8], _ position: inout Int, end: Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < end, shift < 64 {
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    private static func parse(_ bytes: [UInt8], _ range: Range<Int>, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
                              _ layout: inout WireLayout) -> WireMessage? {
        var message = WireMessage(type: String(cString: descriptor.pointee.name), fields: [])
        var position = range.lowerBound
        func load<T: FixedWidthInteger>(_: T.Type) -> T {
            var value: T = 0
            for index in 0..<MemoryLayout<T>.size { value |= T(bytes[position + index]) << (8 * index) }
            position += MemoryLayout<T>.size
            return value
        }
        while position < range.upperBound {
            let start = position
            layout.tags.append(start)
            guard let tag = varint(bytes, &position, end: range.upperBound) else { return nil }
            let number = tag >> 3
            let value: Value
            switch tag & 7 {
            case 0:
                layout.values.append(position)
                guard let v = varint(bytes, &position, end: range.upperBound) else { return nil }
                value = .varint(v)
            case 1:
                guard range.upperBound - position >= 8 else { return nil }
                value = .fixed64(load(UInt64.self))
            case 5:
                guard range.upperBound - position >= 4 else { return nil }
                value = .fixed32(load(UInt32.self))
            case 2:
                layout.lengths.append(position)
                guard let length = varint(bytes, &position, end: range.upperBound),
                      length <= UInt64(range.upperBound - position) else { return nil }
                let payload = position..<(position + Int(length))
                position = payload.upperBound
                if let child = childDescriptor(descriptor, number) {
                    guard let inner = parse(bytes, payload, child, &layout) else { return nil }
                    value = .message(inner)
                } else {
                    value = .bytes(Array(bytes[payload]))
                }
            default:
                return nil
            }
            message.fields.append(Field(number: number, value: value))
            layout.fields.append(start..<position)
        }
        return message
    }

    private static func childDescriptor(_ message: UnsafePointer<ProtobufCMessageDescriptor>,
                                        _ number: UInt64) -> UnsafePointer<ProtobufCMessageDescriptor>? {
        guard let fields = message.pointee.fields else { return nil }
        for index in 0..<Int(message.pointee.n_fields) where UInt64(fields[index].id) == number {
            guard fields[index].type == PROTOBUF_C_TYPE_MESSAGE, let child = fields[index].descriptor else { return nil }
            return child.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
        }
        return nil
    }

    var serialized: [UInt8] {
        var out: [UInt8] = []
        func varint(_ value: UInt64) {
            var v = value
            repeat {
                out.append(UInt8(v & 0x7F) | (v > 0x7F ? 0x80 : 0))
                v >>= 7
            } while v != 0
        }
        for field in fields {
            switch field.value {
            case .varint(let v):
                varint(field.number << 3)
                varint(v)
            case .fixed64(let v):
                varint(field.number << 3 | 1)
                for index in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * index))) }
            case .fixed32(let v):
                varint(field.number << 3 | 5)
                for index in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * index))) }
            case .bytes(let payload):
                varint(field.number << 3 | 2)
                varint(UInt64(payload.count))
                out += payload
            case .message(let inner):
                let payload = inner.serialized
                varint(field.number << 3 | 2)
                varint(UInt64(payload.count))
                out += payload
            }
        }
        return out
    }

    /// Paths (field indices from the root) of every field, with the type of the message holding it
    /// and the field's value.
    func paths(prefix: [Int] = []) -> [(path: [Int], parent: String, value: Value)] {
        var result: [(path: [Int], parent: String, value: Value)] = []
        for (index, field) in fields.enumerated() {
            result.append((prefix + [index], type, field.value))
            if case .message(let inner) = field.value { result += inner.paths(prefix: prefix + [index]) }
        }
        return result
    }

    /// Paths of every message (the root is `[]`) with its type.
    func messagePaths(prefix: [Int] = []) -> [(path: [Int], type: String)] {
        var result: [(path: [Int], type: String)] = [(prefix, type)]
        for (index, field) in fields.enumerated() {
            if case .message(let inner) = field.value { result += inner.messagePaths(prefix: prefix + [index]) }
        }
        return result
    }

    /// The message at `path` (`[]` is self), edited in place.
    mutating func withMessage(at path: ArraySlice<Int>, _ body: (inout WireMessage) -> Void) {
        guard let first = path.first else { return body(&self) }
        guard case .message(var inner) = fields[first].value else { return }
        fields[first].value = .varint(0)  // drop the reference so the edit does not copy
        inner.withMessage(at: path.dropFirst(), body)
        fields[first].value = .message(inner)
    }

    func field(at path: [Int]) -> Field {
        var message = self
        for index in path.dropLast() {
            guard case .message(let inner) = message.fields[index].value else { preconditionFailure("not a message") }
            message = inner
        }
        return message.fields[path.last!]
    }
}

/// Edits of the field tree: every result is well framed, so it reaches the importer's checks.
private struct TreeMutator {
    let root: WireMessage
    /// Short byte strings to swap in for names, op types and string attributes: those of the model
    /// and the op types the importer knows (so that nodes turn into ops the model does not use).
    let strings: [[UInt8]]

    init(_ root: WireMessage) {
        self.root = root
        var strings: [[UInt8]] = []
        for (_, _, value) in root.paths() {
            if case .bytes(let b) = value, b.count <= 64 { strings.append(b) }
        }
        let ops = Set(OpTable.lowerings.keys).union(ConstantFolding.evaluators.keys).sorted()
        self.strings = strings + ops.map { Array($0.utf8) }
    }

    static let interestingValues: [UInt64] = [
        0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 17, 127, 128, 255, 256, 65_535, 1 << 20, 1 << 31 - 1, 1 << 31,
        1 << 32, 1 << 40, 1 << 53, 1 << 62, UInt64(Int64.max), UInt64(bitPattern: -1), UInt64(bitPattern: -2),
        UInt64(bitPattern: -1 << 31), UInt64(bitPattern: Int64.min),
    ]

    /// One to three edits of the model; the description lists them.
    func mutate(_ generator: inout SplitMix64) -> (bytes: [UInt8], edit: String) {
        var tree = root
        let count = Bool.random(using: &generator) ? 1 : Int.random(in: 2...3, using: &generator)
        let edits = (0..<count).map { _ in edit(&tree, &generator) }
        return (tree.serialized, edits.joined(separator: "; "))
    }

    private func edit(_ tree: inout WireMessage, _ generator: inout SplitMix64) -> String {
        let fieldPaths = tree.paths()
        guard !fieldPaths.isEmpty else { return "none" }
        func paths(where include: (WireMessage.Value) -> Bool) -> [[Int]] {
            fieldPaths.filter { include($0.value) }.map(\.path)
        }
        switch Int.random(in: 0..<8, using: &generator) {
        case 0, 1:
            // A varint (dim, data type, attribute int, attribute type, opset, ...) set to a value
            // at an edge: zero, small, a power of two, the int32/int64 limits, negative.
            let varints = paths { if case .varint = $0 { true } else { false } }
            guard let path = varints.randomElement(using: &generator),
                  case .varint(let old) = tree.field(at: path).value else { return "none" }
            let value = Bool.random(using: &generator) ? Self.interestingValues.randomElement(using: &generator)!
                : [old &+ 1, old &- 1, old &* 2, old &* 1000, old / 2].randomElement(using: &generator)!
            tree.withMessage(at: path.dropLast()[...]) { $0.fields[path.last!].value = .varint(value) }
            return "varint \(path) \(old) → \(value)"
        case 2:
            // A field removed (an input, an attribute, a dim, a node, an initializer, ...).
            let path = fieldPaths.randomElement(using: &generator)!.path
            tree.withMessage(at: path.dropLast()[...]) { $0.fields.remove(at: path.last!) }
            return "delete \(path)"
        case 3:
            // A field copied into another message of the same type (or duplicated in its own).
            let (path, parent, _) = fieldPaths.randomElement(using: &generator)!
            let field = tree.field(at: path)
            let target = tree.messagePaths().filter { $0.type == parent }.randomElement(using: &generator)!.path
            tree.withMessage(at: target[...]) { message in
                message.fields.insert(field, at: Int.random(in: 0...message.fields.count, using: &generator))
            }
            return "copy \(path) into \(target)"
        case 4, 5:
            // A name, op type or string attribute replaced by another string, or edited.
            let stringPaths = paths { if case .bytes(let b) = $0 { b.count <= 64 } else { false } }
            guard let path = stringPaths.randomElement(using: &generator),
                  case .bytes(let old) = tree.field(at: path).value else { return "none" }
            var value = strings.randomElement(using: &generator)!
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: value = []
            case 1 where !old.isEmpty:
                value = old
                value[Int.random(in: 0..<value.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            default: break
            }
            tree.withMessage(at: path.dropLast()[...]) { $0.fields[path.last!].value = .bytes(value) }
            return "string \(path) '\(String(decoding: old, as: UTF8.self))' → '\(String(decoding: value, as: UTF8.self))'"
        case 6:
            // Two fields of one message swapped (node order, input order, dims order).
            let candidates = tree.messagePaths().filter { tree.fieldCount(at: $0.path) >= 2 }
            guard let target = candidates.randomElement(using: &generator)?.path else { return "none" }
            let i = Int.random(in: 0..<tree.fieldCount(at: target), using: &generator)
            let j = Int.random(in: 0..<tree.fieldCount(at: target), using: &generator)
            tree.withMessage(at: target[...]) { $0.fields.swapAt(i, j) }
            return "swap \(i) and \(j) in \(target)"
        default:
            // A float or double field (epsilon, alpha, a float attribute) set to an edge value.
            let fixed = paths { switch $0 { case .fixed32, .fixed64: true; default: false } }
            guard let path = fixed.randomElement(using: &generator) else { return "none" }
            let floats: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, -1, 1e30, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
            let f = floats.randomElement(using: &generator)!
            tree.withMessage(at: path.dropLast()[...]) { message in
                switch message.fields[path.last!].value {
                case .fixed32: message.fields[path.last!].value = .fixed32(f.bitPattern)
                default: message.fields[path.last!].value = .fixed64(Double(f).bitPattern)
                }
            }
            return "float \(path) → \(f)"
        }
    }
}

extension WireMessage {
    func fieldCount(at path: [Int]) -> Int {
        var message = self
        for index in path {
            guard case .message(let inner) = message.fields[index].value else { return 0 }
            message = inner
        }
        return message.fields.count
    }
}

// MARK: - Byte-level mutations

private enum MutationKind: String, CaseIterable {
    case truncation, overwrite, insertion, deletion, varintCorruption = "varint", splice
    /// An edit of the field tree that keeps the framing (`TreeMutator`).
    case fieldEdit = "field-edit"
}

private struct Mutator {
    let original: [UInt8]
    let layout: WireLayout
    let structural: [Int]
    let tree: TreeMutator?

    init(_ original: [UInt8]) {
        self.original = original
        var layout = WireLayout()
        tree = WireMessage.model(original, layout: &layout).map(TreeMutator.init)
        self.layout = layout
        structural = layout.structural
    }

    /// Half the time a byte that carries structure (tag, length, varint value), else any byte.
    func position(_ generator: inout SplitMix64, count: Int) -> Int {
        if !structural.isEmpty, Bool.random(using: &generator) {
            return min(structural.randomElement(using: &generator)!, count - 1)
        }
        return Int.random(in: 0..<count, using: &generator)
    }

    /// The kind of round `round`, in a cycle of 16: 6 truncations (more than a third), 2 overwrites,
    /// 1 insertion, 1 deletion, 1 varint corruption, 1 splice, 4 field edits.
    static func kind(round: Int) -> MutationKind {
        switch round % 16 {
        case 0, 3, 6, 9, 12, 15: .truncation
        case 1, 10: .overwrite
        case 2: .insertion
        case 4: .deletion
        case 5: .varintCorruption
        case 7: .splice
        default: .fieldEdit
        }
    }

    /// The mutated bytes and, for field edits, what was edited.
    func mutate(_ kind: MutationKind, _ generator: inout SplitMix64) -> (bytes: [UInt8], edit: String) {
        var bytes = original
        switch kind {
        case .fieldEdit:
            return tree!.mutate(&generator)
        case .truncation:
            bytes.removeSubrange(Int.random(in: 0..<bytes.count, using: &generator)...)
        case .overwrite:
            // One to four bytes; every third round overwrites a run of up to eight bytes.
            if Int.random(in: 0..<3, using: &generator) == 0 {
                let start = position(&generator, count: bytes.count)
                for index in start..<min(start + Int.random(in: 2...8, using: &generator), bytes.count) {
                    bytes[index] = UInt8.random(in: 0...255, using: &generator)
                }
            } else {
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[position(&generator, count: bytes.count)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
        case .insertion:
            let at = position(&generator, count: bytes.count)
            let inserted = (0..<Int.random(in: 1...8, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            bytes.insert(contentsOf: inserted, at: at)
        case .deletion:
            let at = position(&generator, count: bytes.count)
            bytes.removeSubrange(at..<min(at + Int.random(in: 1...8, using: &generator), bytes.count))
        case .varintCorruption:
            // A length prefix (or, a third of the time, a varint value such as a dim, an attribute or
            // a data type) gets a byte that lengthens, shortens or stretches it.
            let pool = Int.random(in: 0..<3, using: &generator) == 0 || layout.lengths.isEmpty ? layout.values : layout.lengths
            let at = pool.randomElement(using: &generator) ?? position(&generator, count: bytes.count)
            let old = bytes[at]
            let replacements: [UInt8] = [0xFF, 0x7F, 0x80, 0x00, 0x01, old &+ 1, old &- 1, old ^ 0x80, old | 0x40]
            bytes[at] = replacements.randomElement(using: &generator)!
            if Int.random(in: 0..<4, using: &generator) == 0 {
                // Sometimes a maximal 10-byte varint in its place (lengths and values near 2^64).
                bytes.replaceSubrange(at..<(at + 1), with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
            }
        case .splice:
            if !layout.fields.isEmpty, Bool.random(using: &generator) {
                // A whole field copied to another field boundary (possibly in another message).
                let field = layout.fields.randomElement(using: &generator)!
                let at = layout.tags.randomElement(using: &generator)!
                bytes.insert(contentsOf: original[field], at: at)
            } else {
                // A chunk of the file copied over another place.
                let length = Int.random(in: 1...min(256, bytes.count), using: &generator)
                let from = Int.random(in: 0...(bytes.count - length), using: &generator)
                let to = Int.random(in: 0...(bytes.count - length), using: &generator)
                bytes.replaceSubrange(to..<(to + length), with: original[from..<(from + length)])
            }
        }
        return (bytes, "")
    }
}

// MARK: - Loading one input

/// What loading one input gave.
private enum LoadOutcome: String, CaseIterable {
    case loaded, malformedProtobuf, missingGraph, invalidTensor, unsupportedNodes, missingValue
    case invalidAttribute, shapeMismatch, unsupportedGraph, unreadableFile, irError, unexpected

    /// Failures of the protobuf layer (framing, tensor decoding) as opposed to the importer's.
    var isParseFailure: Bool { self == .malformedProtobuf || self == .missingGraph || self == .invalidTensor }
}

/// Runs `bytes` through everything `validate-inspect plan` does before compiling: parse, import
/// (lowering, constant folding, affine/BatchNorm folding, dead-node removal, shape inference), then
/// the plan's reads of the graph. Records an issue for an error of an unexpected type or with an
/// unhelpful message.
private func loadFuzzInput(_ bytes: [UInt8], _ label: String) -> LoadOutcome {
    load(label) { try ONNXModel(bytes: bytes, source: label) }.outcome
}

/// Imports a model and does what the plan does with the graph: PlanReport
/// (Sources/ValidateInspect/Plan.swift) reads value shapes, node costs (summed over the nodes),
/// parameter counts, the class count and the secure prefix; `validate-serve` sends the stripped graph.
@discardableResult
private func importAndPlan(_ model: ONNXModel) throws -> Graph {
    let graph = try ONNXImporter.importGraph(from: model)
    let shapes = graph.valueShapes()
    let costs = graph.nodeCosts()
    var totals = (macs: 0, comparisons: 0, divisions: 0, truncations: 0, inputs: 0)
    for (node, cost) in zip(graph.nodes, costs) {
        totals.macs += cost.macs
        totals.comparisons += cost.comparisons
        totals.divisions += cost.divisions
        totals.truncations += cost.truncations
        totals.inputs += node.inputs.map { Shape.elementCount(shapes[$0] ?? []) }.reduce(0, +)
        if case .convolution(let c) = node.operation { totals.inputs += c.weight.elementCount + (c.bias?.elementCount ?? 0) }
    }
    _ = (totals, graph.classCount, graph.argmaxEquivalentPrefix(), graph.strippingWeights().isStripped)
    return graph
}

/// Parses (`parse`) and imports with `importAndPlan`; the outcome and, for a failure, its message.
/// Records an issue for an error of an unexpected type or with an unhelpful message.
private func load(_ label: String, _ parse: () throws -> ONNXModel) -> (outcome: LoadOutcome, message: String) {
    do {
        try importAndPlan(try parse())
        return (.loaded, "")
    } catch let error as ONNXError {
        return (classify(error, label), error.description)
    } catch let error as IRError {
        if error.description.isEmpty { Issue.record("\(label): IRError with an empty message") }
        return (.irError, error.description)
    } catch {
        Issue.record("\(label): unexpected error type \(type(of: error)): \(error)")
        return (.unexpected, "\(error)")
    }
}

/// The outcome class of an `ONNXError`, after checking that its message is a user-facing one:
/// not empty, naming the source, the same as `localizedDescription`.
private func classify(_ error: ONNXError, _ label: String) -> LoadOutcome {
    let message = error.description
    if message.isEmpty || !message.contains(label) || error.localizedDescription != message {
        Issue.record("\(label): ONNXError with an unhelpful message: '\(message)'")
    }
    switch error {
    case .malformedProtobuf: return .malformedProtobuf
    case .missingGraph: return .missingGraph
    case .invalidTensor: return .invalidTensor
    case .unsupportedNodes(_, _, let nodes):
        if nodes.isEmpty || nodes.contains(where: { $0.reason.isEmpty }) {
            Issue.record("\(label): unsupportedNodes without reasons: '\(message)'")
        }
        return .unsupportedNodes
    case .missingValue: return .missingValue
    case .invalidAttribute: return .invalidAttribute
    case .shapeMismatch: return .shapeMismatch
    case .unsupportedGraph: return .unsupportedGraph
    case .unreadableFile: return .unreadableFile
    }
}

// MARK: - Tests

private func seconds(_ duration: Duration) -> String {
    String(format: "%.3f", Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18)
}

@Suite struct BundledModelFuzzTests {
    /// Rounds per bundled model: 12,000 inputs in all, 4,000 from the DenseNet (35 nodes, 66 KB,
    /// the slower one to import in a debug build) and 8,000 from the MLP.
    static let rounds = [("densenet-digits.onnx", 4_000, UInt64(0xD1_6175)), ("mlp-breast-cancer.onnx", 8_000, UInt64(0xB_C4_2C))]

    @Test(.timeLimit(.minutes(5)))
    func mutatedBundledModelsLoadOrFailWithTypedErrors() throws {
        // For longer local runs: ONNX_FUZZ_SCALE multiplies the rounds, ONNX_FUZZ_SEED changes the
        // seeds, ONNX_FUZZ_TRACE prints each input's label to stderr before loading it (the last
        // one printed is the input that crashed).
        let environment = ProcessInfo.processInfo.environment
        let scale = environment["ONNX_FUZZ_SCALE"].flatMap(Int.init) ?? 1
        let seedOffset = environment["ONNX_FUZZ_SEED"].flatMap(UInt64.init) ?? 0
        let trace = environment["ONNX_FUZZ_TRACE"] != nil
        let clock = ContinuousClock()
        let started = clock.now
        var outcomes: [LoadOutcome: Int] = [:]
        var kinds: [MutationKind: Int] = [:]
        var perModel: [String] = []
        var slowest: (Duration, String) = (.zero, "")
        var total = 0
        for (name, baseCount, baseSeed) in Self.rounds {
            let count = baseCount * max(scale, 1)
            let seed = baseSeed ^ seedOffset
            let original = try bundledModel(name)
            // The unmutated model loads, and the layout found its structure.
            #expect(loadFuzzInput(original, name) == .loaded)
            let mutator = Mutator(original)
            #expect(mutator.layout.tags.count > 50 && mutator.layout.lengths.count > 20 && mutator.layout.values.count > 10)
            // The field tree reads the whole model and writes it back byte for byte.
            let tree = try #require(mutator.tree)
            #expect(tree.root.serialized == original)

            var generator = SplitMix64(state: seed)
            var modelOutcomes: [LoadOutcome: Int] = [:]
            var loading = Duration.zero
            let modelStarted = clock.now
            for round in 0..<count {
                let kind = Mutator.kind(round: round)
                let (bytes, edit) = mutator.mutate(kind, &generator)
                let label = "\(name) fuzz \(seedOffset == 0 ? "" : "seed \(seedOffset) ")round \(round) (\(kind.rawValue)\(edit.isEmpty ? "" : ": " + edit))"
                if trace { FileHandle.standardError.write(Data("TRACE \(label)\n".utf8)) }
                let before = clock.now
                let outcome = loadFuzzInput(bytes, label)
                let elapsed = clock.now - before
                loading += elapsed
                if elapsed > slowest.0 { slowest = (elapsed, label) }
                modelOutcomes[outcome, default: 0] += 1
                kinds[kind, default: 0] += 1
            }
            // Both models reach every stage: some mutations still load, some break the protobuf,
            // some are rejected by the importer.
            #expect(modelOutcomes[.loaded, default: 0] > 0, "\(name): no mutation loaded")
            #expect(modelOutcomes[.malformedProtobuf, default: 0] > 0, "\(name): no mutation broke the framing")
            #expect(modelOutcomes.filter { !$0.key.isParseFailure && $0.key != .loaded }.values.reduce(0, +) > 0,
                    "\(name): no mutation reached an importer error")
            for (outcome, n) in modelOutcomes { outcomes[outcome, default: 0] += n }
            perModel.append("\(name) \(count): \(seconds(clock.now - modelStarted)) s, \(seconds(loading)) s loading")
            total += count
        }
        let duration = clock.now - started

        #expect(total >= 10_000)
        #expect(kinds[.truncation, default: 0] * 3 >= total)
        #expect(outcomes[.unexpected] == nil)
        #expect(outcomes[.unreadableFile] == nil)
        // Several classes of outcome, across the parser and the importer.
        let reached = LoadOutcome.allCases.filter { outcomes[$0, default: 0] > 0 }
        #expect(reached.count >= 6, "only reached \(reached)")
        for expected: LoadOutcome in [.loaded, .malformedProtobuf, .invalidTensor, .unsupportedNodes, .shapeMismatch] {
            #expect(outcomes[expected, default: 0] > 0, "no input gave \(expected)")
        }
        // No input comes near a hang: the slowest takes well under the bound.
        #expect(slowest.0 < .seconds(5), "slowest input: \(slowest.1) took \(slowest.0)")

        let counts = LoadOutcome.allCases.compactMap { outcome in outcomes[outcome].map { "\(outcome.rawValue) \($0)" } }
        let kindCounts = MutationKind.allCases.map { "\($0.rawValue) \(kinds[$0, default: 0])" }
        print("bundled-model fuzz: \(total) inputs in \(seconds(duration)) s (\(perModel.joined(separator: "; "))): "
              + counts.joined(separator: ", ") + " | kinds: " + kindCounts.joined(separator: ", ")
              + " | slowest \(seconds(slowest.0)) s (\(slowest.1))")
    }
}

// MARK: - Regressions: crashes the fuzzing found, as minimal edits of the bundled models

extension WireMessage {
    /// The first field `number` read as a string.
    func string(_ number: UInt64) -> String? {
        for field in fields where field.number == number {
            if case .bytes(let b) = field.value { return String(decoding: b, as: UTF8.self) }
        }
        return nil
    }

    /// Edits the first sub-message in field `number` that satisfies `predicate`.
    mutating func edit(_ number: UInt64, where predicate: (WireMessage) -> Bool = { _ in true },
                       _ body: (inout WireMessage) -> Void) {
        for index in fields.indices where fields[index].number == number {
            guard case .message(var inner) = fields[index].value, predicate(inner) else { continue }
            body(&inner)
            fields[index].value = .message(inner)
            return
        }
        Issue.record("no field \(number) to edit in \(type)")
    }

    /// In a `ModelProto`, edits the first node named `name` (GraphProto.node = 1, NodeProto.name = 3).
    mutating func editNode(_ name: String, _ body: (inout WireMessage) -> Void) {
        edit(7) { graph in graph.edit(1, where: { $0.string(3) == name }, body) }
    }

    /// In a `NodeProto`, replaces the INTS of attribute `name` (AttributeProto.ints = 8).
    mutating func setInts(_ name: String, _ values: [Int64]) {
        edit(5, where: { $0.string(1) == name }) { attribute in
            attribute.fields.removeAll { $0.number == 8 }
            attribute.fields += values.map { WireMessage.Field(number: 8, value: .varint(UInt64(bitPattern: $0))) }
        }
    }
}

/// Loads the bundled model `name` after `edit`, returning the error it must fail with.
private func loadEdited(_ name: String, _ edit: (inout WireMessage) -> Void) throws -> ONNXError? {
    var tree = try #require(WireMessage.model(try bundledModel(name)))
    edit(&tree)
    do {
        let graph = try importAndPlan(ONNXModel(bytes: tree.serialized, source: name))
        Issue.record("\(name) loaded (\(graph.nodes.count) nodes) but should have been rejected")
    } catch let error as ONNXError {
        return error
    } catch {
        Issue.record("expected an ONNXError, got \(type(of: error)): \(error)")
    }
    return nil
}

@Suite struct BundledModelFuzzRegressionTests {
    /// Fuzz: "densenet-digits.onnx fuzz round 1917 (field-edit: delete [3, 22, 0])" and 19 more of
    /// the 36,000 inputs of ONNX_FUZZ_SCALE=3 (e.g. mlp-breast-cancer.onnx round 3307) — a Relu
    /// whose input list is empty was constant-folded (no input depends on the model input) and the
    /// evaluator read input 0: index out of range in ConstantFolding.unary.
    @Test func nodeWithoutItsInput() throws {
        let error = try loadEdited("mlp-breast-cancer.onnx") { $0.editNode("/Relu") { $0.fields.removeAll { $0.number == 1 } } }
        guard case .shapeMismatch("mlp-breast-cancer.onnx", "/Relu", "Relu", 13, let reason)? = error else {
            Issue.record("expected shapeMismatch for /Relu, got \(String(describing: error))")
            return
        }
        #expect(reason == "has 0 inputs, but Relu at opset 13 takes 1 input")
    }

    /// Fuzz: "densenet-digits.onnx fuzz round 3262 (field-edit: varint [3, 15, 8, 4] 0 → 4611686018427387904)"
    /// — pads 2^62 on a Conv gave an output of 2^62 × 2^62 positions: integer overflow in
    /// Graph.nodeCosts (the import itself accepted it). With ONNX_FUZZ_SCALE=2, rounds 7211
    /// (dilations 2^62) and 6941 (pads Int64.max) overflowed in the IR's shape inference.
    @Test(arguments: [("pads", [Int64]([0, 0, 0, 1 << 62])), ("pads", [1, .max, 1, 1]), ("dilations", [1 << 62, 1]),
                      ("strides", [.max, 1])])
    func convGeometryAttributeAtInt64Edge(attribute: String, values: [Int64]) throws {
        let node = attribute == "pads" && values[0] == 0 ? "/trans/conv/Conv" : "/block2/block2.1/conv/Conv"
        let error = try loadEdited("densenet-digits.onnx") { $0.editNode(node) { $0.setInts(attribute, values) } }
        guard case .invalidAttribute("densenet-digits.onnx", node, "Conv", 13, attribute, let reason)? = error else {
            Issue.record("expected invalidAttribute '\(attribute)' of \(node), got \(String(describing: error))")
            return
        }
        #expect(reason.contains("2147483648"), "\(reason)")
    }

    /// Pads within the bound but an output beyond 2^31 values: a shape error, not an overflow.
    @Test func convOutputTooLarge() throws {
        let error = try loadEdited("densenet-digits.onnx") { $0.editNode("/trans/conv/Conv") { $0.setInts("pads", [1 << 31, 1 << 31, 1 << 31, 1 << 31]) } }
        guard case .shapeMismatch(_, "/trans/conv/Conv", "Conv", 13, let reason)? = error else {
            Issue.record("expected shapeMismatch, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("more than 2147483648 elements"), "\(reason)")
    }

    /// Fuzz (16 of the 36,000 inputs of ONNX_FUZZ_SCALE=3): an IR shape error of a Conv, here a dilated kernel
    /// spanning more than the padded input, escaped the importer as a bare `IRError` that named
    /// neither the file nor the opset; it is now an `ONNXError.shapeMismatch`.
    @Test func convShapeErrorNamesTheFile() throws {
        let node = "/block1/block1.1/conv/Conv"  // 3 × 3, pads 1, on 8 × 8
        let error = try loadEdited("densenet-digits.onnx") { $0.editNode(node) { $0.setInts("dilations", [8, 8]) } }
        #expect(error == .shapeMismatch(source: "densenet-digits.onnx", node: node, opType: "Conv", opset: 13,
                                        reason: "kernel span 17 exceeds the padded input 10 on spatial axis 0"))
    }
}

// MARK: - Hardening: the same classes of bug, in ops and fields the bundled models do not use

private func node(_ op: String, _ inputs: [String], _ outputs: [String], _ attributes: [String: ONNXAttribute] = [:]) -> ONNXNode {
    ONNXNode(name: "", opType: op, domain: "", inputs: inputs, outputs: outputs, attributes: attributes)
}

private func floats(_ name: String, _ dims: [Int], _ values: [Float]? = nil) -> ONNXTensor {
    ONNXTensor(name: name, dataType: .float, dims: dims, values: .floats(values ?? [Float](repeating: 0.5, count: dims.reduce(1, *))))
}

private func int64s(_ name: String, _ values: [Int64], dims: [Int]? = nil) -> ONNXTensor {
    ONNXTensor(name: name, dataType: .int64, dims: dims ?? [values.count], values: .integers(values))
}

/// A model with input "X" of `input` (batch "N" first) and output "Y".
private func model(opset: Int = 13, _ input: [Int], _ nodes: [ONNXNode], _ initializers: [ONNXTensor] = []) -> ONNXModel {
    ONNXModel(irVersion: 7, opsetVersion: opset, opsetImports: ["": opset], producerName: "BundledModelFuzzTests",
              producerVersion: "",
              graph: ONNXGraph(name: "g", nodes: nodes, initializers: initializers,
                               inputs: [ONNXValueInfo(name: "X", elementType: .float, shape: [.symbolic("N")] + input.map { .fixed($0) })],
                               outputs: [ONNXValueInfo(name: "Y", elementType: .float, shape: nil)]),
              source: "hardening.onnx")
}

/// Models that trapped, hung or allocated without bound before this change (found by reading the
/// code paths the fuzzing showed to be fragile), and a few that were accepted with absurd sizes,
/// each with what it now gives: the outcome class and a part of the message (empty: any).
private let hardeningCases: [String: (model: ONNXModel, outcome: LoadOutcome, message: String)] = [
    // Index out of range: Sub read node.inputs[1].
    "Sub with one input": (model(opset: 13, [4], [node("Sub", ["X"], ["Y"])]),
                           .shapeMismatch, "has 1 input, but Sub at opset 13 takes 2 inputs"),
    // Index out of range: an omitted (empty-named) required input folded as an empty constant.
    "Range with an omitted input": (model(opset: 13, [4], [node("Range", ["s", "", "d"], ["r"]), node("Add", ["X", "r"], ["Y"])],
                                          [int64s("s", [0], dims: []), int64s("d", [1], dims: [])]),
                                    .shapeMismatch, "input 1 is required, but its name is empty"),
    // Force-unwrap of nil: repeated Unsqueeze axes made the output rank too large.
    "Unsqueeze with a repeated axis": (model(opset: 11, [4], [node("Unsqueeze", ["X"], ["Y"], ["axes": .ints([1, 1])])]),
                                       .invalidAttribute, "[1, 1] repeats an axis"),
    // Precondition in Tensor.init: squeezing a size-3 axis kept 6 values for shape [3].
    "Squeeze of an axis of size 3": (model(opset: 11, [3], [node("Squeeze", ["C"], ["c"], ["axes": .ints([0])]), node("Add", ["X", "c"], ["Y"])],
                                           [floats("C", [2, 3])]),
                                     .shapeMismatch, "cannot squeeze an axis whose size is not 1"),
    // Precondition in Tensor.init: Concat of a [2] and a [2, 2] constant gave 6 values for [4].
    "Concat of constants of different ranks": (model(opset: 13, [4], [node("Concat", ["A", "B"], ["c"], ["axis": .int(0)]), node("Add", ["X", "c"], ["Y"])],
                                                     [floats("A", [2]), floats("B", [2, 2])]),
                                               .shapeMismatch, "differ outside axis 0"),
    // Overflow in Shape.elementCount, and an allocation of 2^40 doubles.
    "ConstantOfShape [2^40, 2^40]": (model(opset: 13, [4], [node("ConstantOfShape", ["s"], ["c"]), node("Add", ["X", "c"], ["Y"])],
                                           [int64s("s", [1 << 40, 1 << 40])]),
                                     .unsupportedNodes, "more than 67108864 values"),
    "ConstantOfShape [2^20, 2^20]": (model(opset: 13, [4], [node("ConstantOfShape", ["s"], ["c"]), node("Add", ["X", "c"], ["Y"])],
                                           [int64s("s", [1 << 20, 1 << 20])]),
                                     .unsupportedNodes, "more than 67108864 values"),
    // An allocation of 10^15 doubles; a NaN count trapped in Int(_:).
    "Range of 10^15 values": (model(opset: 13, [4], [node("Range", ["s", "l", "d"], ["r"]), node("Add", ["X", "r"], ["Y"])],
                                    [floats("s", [], [0]), floats("l", [], [1e12]), floats("d", [], [1e-3])]),
                              .unsupportedNodes, "more than 67108864"),
    "Range with a NaN limit": (model(opset: 13, [4], [node("Range", ["s", "l", "d"], ["r"]), node("Add", ["X", "r"], ["Y"])],
                                     [floats("s", [], [0]), floats("l", [], [.nan]), floats("d", [], [1])]),
                               .shapeMismatch, "no finite range"),
    // Hang: Gather over axis 1 of a [2^40, 0] constant looped 2^40 times.
    "Gather from a [2^40, 0] constant": (model(opset: 13, [4], [node("Gather", ["D", "i"], ["g"], ["axis": .int(1)]), node("Add", ["X", "g"], ["Y"])],
                                               [floats("D", [1 << 40, 0], []), int64s("i", [], dims: [0])]),
                                         .unsupportedNodes, "more than 67108864 values"),
    // Overflow: a step of Int64.max in (end - start + step - 1) / step.
    "Slice with step Int64.max": (model(opset: 13, [1], [node("Slice", ["D", "st", "en", "ax", "sp"], ["s"]), node("Add", ["X", "s"], ["Y"])],
                                        [floats("D", [5]), int64s("st", [0]), int64s("en", [5]), int64s("ax", [0]), int64s("sp", [.max])]),
                                  .loaded, ""),
    // Index out of range: fewer steps than axes.
    "Slice with fewer steps than axes": (model(opset: 13, [1], [node("Slice", ["D", "st", "en", "ax", "sp"], ["s"]), node("Add", ["X", "s"], ["Y"])],
                                               [floats("D", [2, 3]), int64s("st", [0, 0]), int64s("en", [1, 1]), int64s("ax", [0, 1]), int64s("sp", [1])]),
                                         .shapeMismatch, "lengths differ"),
    // Hang: a Gemm with B [4, 0] made a [N, 0] activation; the next Gemm, with B [0, 2^40], looped
    // 2^40 times over its empty rows.
    "Gemm with an empty B": (model(opset: 13, [4], [node("Gemm", ["X", "B1"], ["h"]), node("Gemm", ["h", "B2"], ["Y"])],
                                   [floats("B1", [4, 0], []), floats("B2", [0, 1 << 40], [])]),
                             .shapeMismatch, "B [4, 0] has no values"),
    // Overflow in the output-size arithmetic of the IR / the cost of the plan.
    "input of 2^80 values per example": (model(opset: 13, [1 << 40, 1 << 40], [node("Relu", ["X"], ["Y"])]),
                                         .unsupportedGraph, "more than 2147483648 values per batch"),
    "MaxPool dilations Int64.max": (model(opset: 13, [1, 8, 8], [node("MaxPool", ["X"], ["Y"], ["kernel_shape": .ints([3, 3]), "dilations": .ints([.max, 1])])]),
                                    .invalidAttribute, "must be two integers in 1...2147483648"),
    // (Already an error, from the output size; now the attribute itself is named.)
    "MaxPool kernel 2^40": (model(opset: 13, [1, 8, 8], [node("MaxPool", ["X"], ["Y"], ["kernel_shape": .ints([1 << 40, 1])])]),
                            .invalidAttribute, "must be two integers in 1...2147483648"),
    "Conv SAME_UPPER stride Int64.max": (model(opset: 13, [1, 8, 8], [node("Conv", ["X", "W"], ["Y"], ["auto_pad": .string("SAME_UPPER"), "strides": .ints([.max, 1])])],
                                               [floats("W", [2, 1, 3, 3])]),
                                         .invalidAttribute, "must be two integers in 1...2147483648"),
    "Pad by Int64.max": (model(opset: 2, [1, 8, 8], [node("Pad", ["X"], ["Y"], ["pads": .ints([0, 0, 0, .max, 0, 0, 0, 0])])]),
                         .shapeMismatch, "exceed 2147483648"),
    // (Was accepted: an activation of 2^42 values per example.)
    "Pad to more than 2^31 values": (model(opset: 2, [1, 8, 8], [node("Pad", ["X"], ["Y"], ["pads": .ints([0, 0, 1 << 20, 1 << 20, 0, 0, 0, 0])])]),
                                     .shapeMismatch, "more than 2147483648 values"),
    "Reshape to [-1, 2^40, 2^40]": (model(opset: 13, [4], [node("Reshape", ["X", "s"], ["Y"])], [int64s("s", [-1, 1 << 40, 1 << 40])]),
                                    .shapeMismatch, "has more than 9223372036854775807 elements"),
]

@Suite struct ImporterHardeningTests {
    @Test(arguments: hardeningCases.keys.sorted())
    func malformedModelGivesTypedError(_ name: String) throws {
        let entry = try #require(hardeningCases[name])
        let (outcome, message) = load("hardening.onnx") { entry.model }
        #expect(outcome == entry.outcome, "\(name): \(message)")
        if !entry.message.isEmpty { #expect(message.contains(entry.message), "\(name): \(message)") }
    }

    /// Every op the importer folds or lowers has an input count (`OpTable.arity`), checked before any
    /// folding or lowering reads its inputs by position.
    @Test func everyKnownOpHasAnArity() {
        for op in Set(OpTable.lowerings.keys).union(ConstantFolding.evaluators.keys) {
            for opset in [1, 7, 11, 13, 18] {
                #expect(OpTable.arity(of: op, opset: opset) != nil, "no arity for \(op) at opset \(opset)")
            }
        }
    }

    /// Dims [0, 2^62, 2^62] hold no values, but every part of the shape without the zero overflows;
    /// the decoder rejects them (it used to check only the running product, which stays 0).
    @Test func tensorDimsWhoseNonZeroProductOverflows() throws {
        var tree = try #require(WireMessage.model(try bundledModel("mlp-breast-cancer.onnx")))
        tree.edit(7) { graph in
            graph.edit(5, where: { $0.string(8) == "fc1.bias" }) { tensor in  // TensorProto: dims 1, name 8, raw_data 9
                tensor.fields.removeAll { $0.number == 1 || $0.number == 9 }
                tensor.fields += [0, 1 << 62, 1 << 62].map { WireMessage.Field(number: 1, value: .varint($0)) }
            }
        }
        let error = #expect(throws: ONNXError.self) { try ONNXModel(bytes: tree.serialized, source: "mlp") }
        guard case .invalidTensor("mlp", "fc1.bias", let reason)? = error else {
            Issue.record("expected invalidTensor for fc1.bias, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("too large"), "\(reason)")
    }

    /// Node costs saturate instead of overflowing (a 2^31-position window over a 2^31-value output).
    @Test func nodeCostsSaturate() {
        let pool = Pooling(kernel: [1 << 31, 1 << 31], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], ceilMode: false)
        let graph = Graph(inputName: "x", inputShape: [1, 1 << 16, 1 << 15], batch: .symbolic("N"),
                          nodes: [Node(name: "p", operation: .maxPool(pool), inputs: ["x"], output: "y", outputShape: [1, 1 << 16, 1 << 15])],
                          outputName: "y")
        #expect(graph.nodeCosts().map(\.comparisons) == [NodeCost.saturation])
    }
}

import CONNXProto
import Foundation
import Testing

@testable import ONNX
import TestSupport

// Tests of the ONNX protobuf parser (ONNXParser.swift, ONNXTensorDecoding.swift) on the fixtures of
// Scripts/make_parser_fixtures.py in Tests/Fixtures/parser/.

/// Path of a parser fixture: from this file up to the repository root, then Tests/Fixtures/parser/.
private func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/ONNXTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("Tests/Fixtures/parser/\(name)").path
}

private func fixtureBytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath(name))))
}


/// What parsing one fuzz input gave.
private enum Outcome: Hashable {
    case parsed, malformed, invalidTensor, otherONNXError, otherError
}

/// Parses `bytes`; any error other than an `ONNXError` is recorded as a test failure. Also checks
/// that the parser's nesting pre-scan is never stricter than protobuf-c: bytes protobuf-c unpacks
/// must pass the scan (with no depth limit). A crash would end the run: reaching the end is the test.
@discardableResult
private func parseFuzzInput(_ bytes: [UInt8], _ label: String) -> Outcome {
    let unpacks = bytes.withUnsafeBufferPointer { buffer -> Bool in
        guard let base = buffer.baseAddress, let message = onnx__model_proto__unpack(nil, buffer.count, base)
        else { return false }
        onnx__model_proto__free_unpacked(message, nil)
        return true
    }
    if unpacks, !bytes.withUnsafeBytes({ ProtobufNesting.isWellFramed($0, limit: .max) }) {
        Issue.record("\(label): protobuf-c unpacks the bytes but the nesting pre-scan rejects them")
    }
    do {
        _ = try ONNXModel(bytes: bytes, source: label)
        return .parsed
    } catch let error as ONNXError {
        switch error {
        case .malformedProtobuf: return .malformed
        case .invalidTensor: return .invalidTensor
        default: return .otherONNXError
        }
    } catch {
        Issue.record("\(label): unexpected error type \(type(of: error)): \(error)")
        return .otherError
    }
}

/// The protobuf encoding of a varint.
private func varint(_ value: Int) -> [UInt8] {
    var v = UInt64(value)
    var out: [UInt8] = []
    repeat {
        out.append(UInt8(v & 0x7F) | (v > 0x7F ? 0x80 : 0))
        v >>= 7
    } while v != 0
    return out
}

/// A ModelProto whose graph nests `levels` graph attributes: graph → node → attribute.g → graph …,
/// i.e. 2 + 3·levels nested messages. Built from the inside out, emitted from the outside in.
private func nestedGraphModel(levels: Int) -> [UInt8] {
    var headers: [[UInt8]] = []
    var length = 0  // the innermost graph is empty
    for _ in 0..<levels {
        for tag: UInt8 in [6 << 3 | 2, 5 << 3 | 2, 1 << 3 | 2] {  // AttributeProto.g, NodeProto.attribute, GraphProto.node
            let header = [tag] + varint(length)
            headers.append(header)
            length += header.count
        }
    }
    headers.append([7 << 3 | 2] + varint(length))  // ModelProto.graph
    return headers.reversed().flatMap { $0 }
}

@Suite("ONNX parser")
struct ONNXParserTests {
    // MARK: Decoding

    @Test func modelHeaderAndOpsets() throws {
        let path = fixturePath("parser_full.onnx")
        let model = try ONNXModel(contentsOf: path)
        #expect(model.irVersion == 8)
        #expect(model.opsetVersion == 13)
        #expect(model.opsetImports == ["": 13, "com.example": 2])
        #expect(model.producerName == "make_parser_fixtures")
        #expect(model.producerVersion == "1.0")
        #expect(model.source == path)
        #expect(model.graph.name == "parser_full")
        #expect(try ONNXModel(bytes: fixtureBytes("parser_full.onnx"), source: path) == model)
    }

    @Test func defaultDomainNamedAIOnnxAndMissingOpset() throws {
        let aiOnnx = try ONNXModel(contentsOf: fixturePath("opset_ai_onnx.onnx"))
        #expect(aiOnnx.opsetVersion == 17)
        #expect(aiOnnx.opsetImports == ["com.example": 1, "ai.onnx": 17])

        let none = try ONNXModel(contentsOf: fixturePath("no_opset.onnx"))
        #expect(none.opsetVersion == 1)
        #expect(none.opsetImports.isEmpty)
    }

    @Test func inputsAndOutputs() throws {
        let graph = try ONNXModel(contentsOf: fixturePath("parser_full.onnx")).graph
        #expect(graph.inputs == [
            ONNXValueInfo(name: "X", elementType: .float, shape: [.symbolic("N"), .fixed(1), .fixed(4), .fixed(4)]),
            ONNXValueInfo(name: "partial", elementType: .float, shape: [.unknown, .fixed(3)]),
            ONNXValueInfo(name: "noshape", elementType: .int64, shape: nil),
            ONNXValueInfo(name: "seq", elementType: nil, shape: nil),
        ])
        #expect(graph.outputs == [
            ONNXValueInfo(name: "Z", elementType: .float, shape: [.symbolic("N"), .fixed(2), .fixed(4), .fixed(4)]),
        ])
    }

    @Test func nodesAndEveryAttributeType() throws {
        let nodes = try ONNXModel(contentsOf: fixturePath("parser_full.onnx")).graph.nodes
        try #require(nodes.count == 2)

        let conv = nodes[0]
        #expect(conv.name == "conv0")
        #expect(conv.opType == "Conv")
        #expect(conv.domain == "")
        #expect(conv.inputs == ["X", "W", "B"])
        #expect(conv.outputs == ["Y"])
        #expect(conv.attributes == [
            "kernel_shape": .ints([1, 1]),
            "group": .int(1),
            "auto_pad": .string("NOTSET"),
            "alpha": .float(0.5),
            "scales": .floats([1.5, -2.0]),
            "labels": .strings(["a", "b"]),
            "value": .tensor(ONNXTensor(name: "value", dataType: .float, dims: [2], values: .floats([7, 8]))),
            "body": .unsupported(typeName: "GRAPH"),
            "many": .unsupported(typeName: "TENSORS"),
            // AttributeProto.type unset: inferred from the field that is present.
            "legacy_int": .int(7),
            "legacy_floats": .floats([0.5, 0.25]),
        ])

        let custom = nodes[1]
        #expect(custom == ONNXNode(name: "", opType: "MyOp", domain: "com.example", inputs: ["Y", ""],
                                   outputs: ["Z"], attributes: [:]))
        #expect(custom.displayName == "MyOp → Z")
    }

    @Test func initializersFromRawAndTypedFields() throws {
        let initializers = try ONNXModel(contentsOf: fixturePath("parser_full.onnx")).graph.initializers
        let expected: [ONNXTensor] = [
            ONNXTensor(name: "W", dataType: .float, dims: [2, 1, 1, 1], values: .floats([0.5, -1.25])),
            ONNXTensor(name: "B", dataType: .float, dims: [2], values: .floats([0.25, -2.0])),
            ONNXTensor(name: "shape", dataType: .int64, dims: [3], values: .integers([1, -2, 9_007_199_254_740_993])),
            ONNXTensor(name: "i64_raw", dataType: .int64, dims: [2], values: .integers([.min, .max])),
            ONNXTensor(name: "h16_raw", dataType: .float16, dims: [6],
                       values: .floats([1, -2, 65504, 0x1p-24, .infinity, -0.0])),
            ONNXTensor(name: "h16_i32", dataType: .float16, dims: [2], values: .floats([1.5, -0.25])),
            ONNXTensor(name: "bf16_i32", dataType: .bfloat16, dims: [2], values: .floats([1.0, -3.5])),
            ONNXTensor(name: "bf16_raw", dataType: .bfloat16, dims: [2], values: .floats([1.0, -3.5])),
            ONNXTensor(name: "d64", dataType: .double, dims: [2], values: .floats([Float(0.1 as Double), .infinity])),
            ONNXTensor(name: "d64_raw", dataType: .double, dims: [2], values: .floats([2.5, -0.125])),
            ONNXTensor(name: "i8", dataType: .int8, dims: [2], values: .integers([-128, 127])),
            ONNXTensor(name: "u8_raw", dataType: .uint8, dims: [2], values: .integers([0, 255])),
            ONNXTensor(name: "flags", dataType: .bool, dims: [3], values: .integers([1, 0, 1])),
            ONNXTensor(name: "flags_raw", dataType: .bool, dims: [2], values: .integers([1, 0])),
            ONNXTensor(name: "i16_raw", dataType: .int16, dims: [2], values: .integers([-32768, 32767])),
            ONNXTensor(name: "u16", dataType: .uint16, dims: [1], values: .integers([65535])),
            ONNXTensor(name: "i32", dataType: .int32, dims: [2], values: .integers([-2_147_483_648, 7])),
            ONNXTensor(name: "u32", dataType: .uint32, dims: [1], values: .integers([4_294_967_295])),
            ONNXTensor(name: "u64", dataType: .uint64, dims: [2], values: .integers([0, .max])),
            ONNXTensor(name: "u64_raw", dataType: .uint64, dims: [1], values: .integers([42])),
            ONNXTensor(name: "scalar", dataType: .float, dims: [], values: .floats([3.0])),
            ONNXTensor(name: "empty", dataType: .float, dims: [2, 0], values: .floats([])),
        ]
        #expect(initializers.map(\.name) == expected.map(\.name))
        for (actual, wanted) in zip(initializers, expected) {
            #expect(actual == wanted)
        }
        // -0.0 == 0.0, so check the sign of the float16 negative zero separately.
        if case .floats(let halves)? = initializers.first(where: { $0.name == "h16_raw" })?.values {
            #expect(halves.last?.sign == .minus)
        }
        #expect(initializers.first { $0.name == "scalar" }?.elementCount == 1)
    }

    // MARK: Errors

    @Test(arguments: [
        ("external_data.onnx", "W", "external data (in 'weights.bin')"),
        ("external_data.onnx", "W", "save_as_external_data=False"),
        ("negative_dim.onnx", "W", "dimension 0 is negative (-1)"),
        ("overflow_dims.onnx", "W", "hold more than"),
        ("count_mismatch.onnx", "W", "float_data holds 5 float values, but dims [2, 3] need 6"),
        ("raw_not_multiple.onnx", "W", "raw_data holds 7 bytes, not a multiple of the 4-byte size of a float element"),
        ("raw_count_mismatch.onnx", "W", "raw_data holds 3 float values, but dims [2] need 2"),
        ("string_tensor.onnx", "W", "string tensors are not supported"),
        ("complex_tensor.onnx", "W", "complex64 tensors are not supported"),
        ("float8_tensor.onnx", "W", "data type FLOAT8E4M3FN (17) is not supported"),
        ("uint8_out_of_range.onnx", "W", "element 0 of int32_data is outside the range of uint8"),
        ("uint64_too_large.onnx", "W", "element 0 of uint64_data is outside the range of uint64"),
        ("attribute_tensor_negative_dim.onnx", "attr_t (attribute 'value' of node 'id')", "dimension 0 is negative"),
    ])
    func invalidTensor(fixture: String, tensor: String, reasonPart: String) throws {
        let path = fixturePath(fixture)
        let error = try #require(throws: ONNXError.self) { try ONNXModel(contentsOf: path) }
        guard case let .invalidTensor(source, name, reason) = error else {
            Issue.record("expected .invalidTensor, got \(error)")
            return
        }
        #expect(source == path)
        #expect(name == tensor)
        #expect(reason.contains(reasonPart), "\(reason)")
        #expect(error.description.contains(path))
    }

    @Test func missingGraph() throws {
        let path = fixturePath("no_graph.onnx")
        let error = try #require(throws: ONNXError.self) { try ONNXModel(contentsOf: path) }
        #expect(error == .missingGraph(source: path))
        #expect(error.description.contains(path))
    }

    @Test func malformedProtobuf() throws {
        let cases: [(label: String, bytes: [UInt8])] = [
            ("empty.onnx", []),
            ("short-graph.onnx", [0x3A, 0x05, 0x01]),  // graph field claims 5 bytes, holds 1
            ("truncated.onnx", try fixtureBytes("tiny.onnx").dropLast()),
            ("text.onnx", Array("not an onnx model\n".utf8)),
        ]
        for (label, bytes) in cases {
            let error = try #require(throws: ONNXError.self) { try ONNXModel(bytes: bytes, source: label) }
            #expect(error == .malformedProtobuf(source: label, byteCount: bytes.count))
            #expect(error.description.contains(label))
        }
    }

    @Test func unreadableFile() throws {
        let missing = fixturePath("does-not-exist.onnx")
        let error = try #require(throws: ONNXError.self) { try ONNXModel(contentsOf: missing) }
        guard case let .unreadableFile(path, _) = error else {
            Issue.record("expected .unreadableFile, got \(error)")
            return
        }
        #expect(path == missing)
        #expect(error.description.contains(missing))

        let directory = fixturePath("")
        let directoryError = try #require(throws: ONNXError.self) { try ONNXModel(contentsOf: directory) }
        guard case .unreadableFile(directory, _) = directoryError else {
            Issue.record("expected .unreadableFile, got \(directoryError)")
            return
        }
    }

    /// protobuf-c recurses once per nested message without a limit; the parser bounds the depth
    /// at 100 before unpacking, so a 1 MB chain of nested graphs is an error, not a stack overflow.
    @Test func nestingDepthIsBounded() throws {
        let deepest = try ONNXModel(bytes: nestedGraphModel(levels: 32), source: "nest32")  // depth 98
        #expect(deepest.graph.nodes.first?.attributes[""] == .unsupported(typeName: "GRAPH"))

        for levels in [33, 100_000] {  // depth 101; ~1.2 MB, which overflows an 8 MB stack in protobuf-c
            let bytes = nestedGraphModel(levels: levels)
            let error = try #require(throws: ONNXError.self) { try ONNXModel(bytes: bytes, source: "nest") }
            #expect(error == .malformedProtobuf(source: "nest", byteCount: bytes.count))
        }
    }

    // MARK: Robustness: never crash

    @Test func randomGarbageAndEmptyBuffers() {
        var generator = SplitMix64(state: 0x5EC0_4E_0411)
        #expect(parseFuzzInput([], "empty") == .malformed)
        for index in 0..<300 {
            let count = Int.random(in: 0...600, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            parseFuzzInput(bytes, "garbage \(index)")
        }
    }

    @Test func everyTruncation() throws {
        let bytes = try fixtureBytes("parser_full.onnx")
        var outcomes: [Outcome: Int] = [:]
        for length in 0..<bytes.count {
            outcomes[parseFuzzInput(Array(bytes[..<length]), "prefix \(length)"), default: 0] += 1
        }
        #expect(parseFuzzInput(bytes, "whole") == .parsed)
        #expect(outcomes[.malformed, default: 0] > bytes.count / 2)  // most prefixes end inside a field
        #expect(outcomes[.otherError] == nil)
    }

    @Test func seededByteMutations() throws {
        let original = try fixtureBytes("parser_full.onnx")
        var generator = SplitMix64(state: 42)
        var outcomes: [Outcome: Int] = [:]
        for round in 0..<4000 {
            var bytes = original
            // Mostly single-byte mutations; every fourth round mutates three bytes.
            for _ in 0..<(round % 4 == 3 ? 3 : 1) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[position] = UInt8.random(in: 0...255, using: &generator)
            }
            outcomes[parseFuzzInput(bytes, "mutation \(round)"), default: 0] += 1
        }
        // The mutations reach every stage: some still parse, some break the framing, some break a tensor.
        #expect(outcomes[.parsed, default: 0] > 0)
        #expect(outcomes[.malformed, default: 0] > 0)
        #expect(outcomes[.invalidTensor, default: 0] > 0)
        #expect(outcomes[.otherError] == nil)
        print("4000 byte mutations of parser_full.onnx: \(outcomes[.parsed, default: 0]) parsed, "
              + "\(outcomes[.malformed, default: 0]) malformed, \(outcomes[.invalidTensor, default: 0]) invalid tensor, "
              + "\(outcomes[.otherONNXError, default: 0]) other ONNXError")
    }

    // MARK: 16-bit floats

    @Test func halfPrecisionMatchesEveryBitPattern() {
        #if !(os(macOS) && arch(x86_64))
        for bits in UInt16.min...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let actual = HalfPrecision.float(fromHalf: bits)
            if expected.isNaN {
                #expect(actual.isNaN)
            } else if actual.bitPattern != expected.bitPattern {
                Issue.record("half 0x\(String(bits, radix: 16)): \(actual) ≠ \(expected)")
            }
        }
        #endif
        #expect(HalfPrecision.float(fromHalf: 0x0001) == 0x1p-24)
        #expect(HalfPrecision.float(fromHalf: 0x7BFF) == 65504)
        #expect(HalfPrecision.float(fromHalf: 0xFC00) == -.infinity)
    }

    @Test func bfloat16IsTheUpperHalfOfAFloat() {
        for value: Float in [0, -0, 1, -3.5, 0x1p-126, .infinity, -.greatestFiniteMagnitude.nextUp] {
            let upper = UInt16(value.bitPattern >> 16)
            #expect(HalfPrecision.float(fromBFloat16: upper).bitPattern == value.bitPattern & 0xFFFF_0000)
        }
    }
}

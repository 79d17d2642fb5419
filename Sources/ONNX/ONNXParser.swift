import CONNXProto
import CProtobufC
import Foundation

// ONNX protobuf bytes → the plain values of ONNXModel.swift, through the protobuf-c code generated
// from onnx.proto (target CONNXProto). Every count and pointer that comes from C is checked before
// use, and the nesting depth is bounded before protobuf-c (which recurses without a limit) sees the
// bytes: no input, however malformed, may crash the process. Tensor decoding: ONNXTensorDecoding.swift.

extension ONNXModel {
    /// Reads and parses the ONNX model file at `path`.
    ///
    /// The vendor's own model, parsed in the clear. Weights must be stored inside the file: a model
    /// that keeps them in external data files is rejected with a message saying how to re-export it.
    ///
    /// - Throws: `ONNXError.unreadableFile` when the file cannot be read, and every error of
    ///   `init(bytes:source:)`, with `path` as the source.
    public init(contentsOf path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ONNXError.unreadableFile(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw ONNXError.unreadableFile(path: path, reason: "it is a directory, not an .onnx file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ONNXError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        try self.init(bytes: [UInt8](data), source: path)
    }

    /// Parses the bytes of a serialized ONNX `ModelProto`.
    ///
    /// - Parameters:
    ///   - bytes: the protobuf encoding of the model (the content of a `.onnx` file).
    ///   - source: where the bytes came from (a path or a label); stored in `source` and named in errors.
    /// - Throws: `ONNXError.malformedProtobuf` when the bytes are empty, not a `ModelProto`, or nest
    ///   messages deeper than 100 levels; `.missingGraph` when the model has no graph;
    ///   `.invalidTensor` when an initializer or a tensor attribute cannot be decoded (negative or
    ///   overflowing dims, a value count that does not match the dims, external data, string or
    ///   complex elements, values out of their type's range). Never traps on any input.
    public init(bytes: [UInt8], source: String) throws {
        let message: UnsafeMutablePointer<Onnx__ModelProto>? = bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty,
                  ProtobufNesting.isWellFramed(UnsafeRawBufferPointer(buffer), limit: ProtobufNesting.depthLimit)
            else { return nil }
            return onnx__model_proto__unpack(nil, buffer.count, base)
        }
        guard let message else { throw ONNXError.malformedProtobuf(source: source, byteCount: bytes.count) }
        defer { onnx__model_proto__free_unpacked(message, nil) }
        self = try ONNXProtoReader(source: source).model(message.pointee)
    }
}

/// Converts the C structs of an unpacked `ModelProto` into `ONNXModel` values. Valid only while the
/// unpacked message is alive; copies everything it returns.
struct ONNXProtoReader {
    /// Where the bytes came from, for error messages.
    let source: String

    func model(_ proto: Onnx__ModelProto) throws -> ONNXModel {
        guard let graphPointer = proto.graph else { throw ONNXError.missingGraph(source: source) }

        var imports: [String: Int] = [:]
        var defaultVersion: Int?
        for entry in CArray.messages(proto.opset_import, proto.n_opset_import) {
            let domain = CArray.string(entry.domain)
            let version = Int(clamping: entry.version)
            if imports[domain] == nil { imports[domain] = version }
            if defaultVersion == nil, domain == "" || domain == "ai.onnx" { defaultVersion = version }
        }

        var model = ONNXModel(
            irVersion: proto.ir_version,
            opsetVersion: defaultVersion ?? 1,
            opsetImports: imports,
            producerName: CArray.string(proto.producer_name),
            producerVersion: CArray.string(proto.producer_version),
            graph: try graph(graphPointer.pointee),
            source: source)
        for entry in CArray.messages(proto.metadata_props, proto.n_metadata_props) {
            let key = CArray.string(entry.key)
            if model.metadata[key] == nil { model.metadata[key] = CArray.string(entry.value) }
        }
        return model
    }

    func graph(_ proto: Onnx__GraphProto) throws -> ONNXGraph {
        ONNXGraph(
            name: CArray.string(proto.name),
            nodes: try CArray.messages(proto.node, proto.n_node).map(node),
            initializers: try CArray.messages(proto.initializer, proto.n_initializer).map { try tensor($0) },
            inputs: CArray.messages(proto.input, proto.n_input).map(valueInfo),
            outputs: CArray.messages(proto.output, proto.n_output).map(valueInfo))
    }

    func node(_ proto: Onnx__NodeProto) throws -> ONNXNode {
        let name = CArray.string(proto.name)
        let opType = CArray.string(proto.op_type)
        let outputs = CArray.strings(proto.output, proto.n_output)
        let label = name.isEmpty ? "\(opType) → \(outputs.first ?? "?")" : name
        var attributes: [String: ONNXAttribute] = [:]
        for entry in CArray.messages(proto.attribute, proto.n_attribute) {
            let attributeName = CArray.string(entry.name)
            // Duplicate names are invalid ONNX; the first one wins, as in onnxruntime.
            if attributes[attributeName] == nil {
                attributes[attributeName] = try attribute(entry, context: "attribute '\(attributeName)' of node '\(label)'")
            }
        }
        return ONNXNode(
            name: name, opType: opType, domain: CArray.string(proto.domain),
            inputs: CArray.strings(proto.input, proto.n_input), outputs: outputs, attributes: attributes)
    }

    /// `AttributeProto.AttributeType` numbers (onnx.proto).
    private enum AttributeType: Int {
        case undefined = 0, float = 1, int = 2, string = 3, tensor = 4, graph = 5, floats = 6, ints = 7
        case strings = 8, tensors = 9, graphs = 10, sparseTensor = 11, sparseTensors = 12, typeProto = 13
        case typeProtos = 14

        var protoName: String {
            switch self {
            case .undefined: "UNDEFINED"; case .float: "FLOAT"; case .int: "INT"; case .string: "STRING"
            case .tensor: "TENSOR"; case .graph: "GRAPH"; case .floats: "FLOATS"; case .ints: "INTS"
            case .strings: "STRINGS"; case .tensors: "TENSORS"; case .graphs: "GRAPHS"
            case .sparseTensor: "SPARSE_TENSOR"; case .sparseTensors: "SPARSE_TENSORS"
            case .typeProto: "TYPE_PROTO"; case .typeProtos: "TYPE_PROTOS"
            }
        }

        /// The type of an attribute whose `type` field is unset (exporters before IR version 2):
        /// the first field that is present, in the order of onnx.helper.get_attribute_value.
        static func inferred(from proto: Onnx__AttributeProto) -> AttributeType {
            if proto.has_f != 0 { return .float }
            if proto.has_i != 0 { return .int }
            if proto.has_s != 0 { return .string }
            if proto.t != nil { return .tensor }
            if proto.g != nil { return .graph }
            if proto.sparse_tensor != nil { return .sparseTensor }
            if proto.tp != nil { return .typeProto }
            if proto.n_floats > 0 { return .floats }
            if proto.n_ints > 0 { return .ints }
            if proto.n_strings > 0 { return .strings }
            if proto.n_tensors > 0 { return .tensors }
            if proto.n_graphs > 0 { return .graphs }
            if proto.n_sparse_tensors > 0 { return .sparseTensors }
            if proto.n_type_protos > 0 { return .typeProtos }
            return .undefined
        }
    }

    /// Decodes an attribute by its `type` field (inferred from the field set when `type` is
    /// UNDEFINED). Graphs, sparse tensors, type protos and lists of tensors become `.unsupported`.
    func attribute(_ proto: Onnx__AttributeProto, context: String) throws -> ONNXAttribute {
        let number = Int(proto.type.rawValue)
        guard var type = AttributeType(rawValue: number) else {
            return .unsupported(typeName: "attribute type \(number)")
        }
        if type == .undefined { type = AttributeType.inferred(from: proto) }
        switch type {
        case .float: return .float(proto.f)
        case .int: return .int(proto.i)
        case .string: return .string(CArray.string(proto.s))
        case .tensor:
            guard let t = proto.t else {
                throw ONNXError.invalidTensor(source: source, tensor: context,
                                              reason: "a TENSOR attribute that holds no tensor")
            }
            return .tensor(try tensor(t.pointee, context: context))
        case .floats: return .floats(Array(CArray.buffer(proto.floats, proto.n_floats)))
        case .ints: return .ints(Array(CArray.buffer(proto.ints, proto.n_ints)))
        case .strings: return .strings(CArray.buffer(proto.strings, proto.n_strings).map(CArray.string))
        case .undefined, .graph, .graphs, .sparseTensor, .sparseTensors, .typeProto, .typeProtos, .tensors:
            return .unsupported(typeName: type.protoName)
        }
    }

    /// A value info: element type and shape when its type is a tensor type, nil otherwise.
    func valueInfo(_ proto: Onnx__ValueInfoProto) -> ONNXValueInfo {
        let name = CArray.string(proto.name)
        guard let type = proto.type?.pointee,
              type.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
              let tensorType = type.tensor_type?.pointee
        else { return ONNXValueInfo(name: name, elementType: nil, shape: nil) }

        // Element types this module does not know (float8, int4, …) read as nil, like "no type".
        let elementType = tensorType.has_elem_type != 0 ? ONNXDataType(rawValue: tensorType.elem_type) : nil
        let shape = tensorType.shape.map { shapeProto in
            CArray.messages(shapeProto.pointee.dim, shapeProto.pointee.n_dim).map(dimension)
        }
        return ONNXValueInfo(name: name, elementType: elementType, shape: shape)
    }

    /// `dim_value` → `.fixed` (a negative value, invalid in ONNX, reads as `.unknown`); a non-empty
    /// `dim_param` → `.symbolic`; neither → `.unknown`.
    func dimension(_ proto: Onnx__TensorShapeProto__Dimension) -> ONNXDimension {
        switch proto.value_case {
        case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE:
            guard proto.dim_value >= 0, let value = Int(exactly: proto.dim_value) else { return .unknown }
            return .fixed(value)
        case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM:
            let parameter = CArray.string(proto.dim_param)
            return parameter.isEmpty ? .unknown : .symbolic(parameter)
        default:
            return .unknown
        }
    }
}

/// Safe views of the arrays and strings of protobuf-c structs: a NULL pointer or a non-positive
/// count reads as empty, a NULL string as "", NULL entries of message arrays are skipped.
enum CArray {
    static func buffer<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: Int) -> UnsafeBufferPointer<T> {
        guard let pointer, count > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: pointer, count: count)
    }

    /// The messages of a repeated message field, copied out of the C array.
    static func messages<T>(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?, _ count: Int) -> [T] {
        buffer(pointer, count).compactMap { $0?.pointee }
    }

    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)  // repairs invalid UTF-8
    }

    static func strings(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ count: Int) -> [String] {
        buffer(pointer, count).map { string($0) }
    }

    /// A `bytes` field read as UTF-8 (invalid sequences repaired).
    static func string(_ data: ProtobufCBinaryData) -> String {
        String(decoding: bytes(data), as: UTF8.self)
    }

    static func bytes(_ data: ProtobufCBinaryData) -> UnsafeBufferPointer<UInt8> {
        buffer(data.data, data.len)
    }
}

/// A walk over the protobuf wire format of a `ModelProto`, guided by the protobuf-c descriptors of
/// onnx.proto, that bounds how deeply messages nest. protobuf-c 1.4 unpacks sub-messages by
/// recursion without a depth limit, so a 1 MB file of nested graph attributes overflows the stack;
/// this walk runs first, with an explicit stack, and is no stricter than protobuf-c otherwise.
enum ProtobufNesting {
    /// Maximum message nesting depth, as the default recursion limit of Google's protobuf. Real
    /// models nest three messages per level of control-flow subgraph (node → attribute → graph).
    static let depthLimit = 100

    /// True when `bytes` are well framed (every varint ends, every length fits in its enclosing
    /// message, no group or unknown wire types — all of which protobuf-c rejects as well) and no
    /// message nests deeper than `limit` levels, counting the `ModelProto` itself as level 1.
    static func isWellFramed(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Bool {
        withUnsafePointer(to: onnx__model_proto__descriptor) { root in
            var frames: [(descriptor: UnsafePointer<ProtobufCMessageDescriptor>?, end: Int)] = [(root, bytes.count)]
            var position = 0
            while let frame = frames.last {
                if position == frame.end {
                    frames.removeLast()
                    continue
                }
                guard let tag = readVarint(bytes, &position, end: frame.end) else { return false }
                switch tag & 7 {
                case 0:
                    guard readVarint(bytes, &position, end: frame.end) != nil else { return false }
                case 1:
                    guard frame.end - position >= 8 else { return false }
                    position += 8
                case 5:
                    guard frame.end - position >= 4 else { return false }
                    position += 4
                case 2:
                    guard let length = readVarint(bytes, &position, end: frame.end),
                          length <= UInt64(frame.end - position)
                    else { return false }
                    let end = position + Int(length)
                    if let child = messageDescriptor(of: frame.descriptor, field: tag >> 3) {
                        guard frames.count < limit else { return false }
                        frames.append((child, end))
                    } else {
                        position = end
                    }
                default:
                    return false
                }
            }
            return true
        }
    }

    /// Reads a base-128 varint of at most 10 bytes that ends before `end`.
    private static func readVarint(_ bytes: UnsafeRawBufferPointer, _ position: inout Int, end: Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < end, shift < 70 {
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    /// The descriptor of field number `field` of a message when that field is a message, else nil.
    private static func messageDescriptor(of message: UnsafePointer<ProtobufCMessageDescriptor>?,
                                          field: UInt64) -> UnsafePointer<ProtobufCMessageDescriptor>? {
        guard let message, let fields = message.pointee.fields else { return nil }
        for index in 0..<Int(message.pointee.n_fields) {
            let descriptor = fields[index]
            guard UInt64(descriptor.id) == field else { continue }
            guard descriptor.type == PROTOBUF_C_TYPE_MESSAGE, let child = descriptor.descriptor else { return nil }
            return child.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
        }
        return nil
    }
}

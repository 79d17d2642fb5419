/// Plain Swift values for the parts of an ONNX `ModelProto` that SecureValidation reads.
///
/// Produced by `ONNXModel(contentsOf:)` / `ONNXModel(bytes:source:)` from protobuf bytes; consumed by
/// `ONNXImporter`, which lowers them into the `IR` graph. Nothing here is secret-aware: the vendor
/// parses its own model. Tensors hold their values decoded (raw_data or typed fields).
public struct ONNXModel: Sendable, Equatable {
    /// `ModelProto.ir_version`.
    public var irVersion: Int64
    /// Opset version of the default domain (`""` or `"ai.onnx"`); 1 when the model names none.
    public var opsetVersion: Int
    /// Every `opset_import` entry, domain → version.
    public var opsetImports: [String: Int]
    public var producerName: String
    public var producerVersion: String
    public var graph: ONNXGraph
    /// `ModelProto.metadata_props`, key → value (the first entry of a repeated key). The vendor's
    /// declarations live here: `findings` (comma-separated output names), `thresholds`.
    public var metadata: [String: String] = [:]
    /// Where the bytes came from (a file path, or a caller-chosen label); used in error messages.
    public var source: String

    public init(irVersion: Int64, opsetVersion: Int, opsetImports: [String: Int], producerName: String,
                producerVersion: String, graph: ONNXGraph, source: String) {
        self.irVersion = irVersion
        self.opsetVersion = opsetVersion
        self.opsetImports = opsetImports
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.graph = graph
        self.source = source
    }
}

/// `GraphProto`: nodes in file order (ONNX requires topological order), initializers, inputs, outputs.
public struct ONNXGraph: Sendable, Equatable {
    public var name: String
    public var nodes: [ONNXNode]
    public var initializers: [ONNXTensor]
    /// Graph inputs. Old exports (opset ≤ 9) also list every initializer here.
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]

    public init(name: String, nodes: [ONNXNode], initializers: [ONNXTensor], inputs: [ONNXValueInfo],
                outputs: [ONNXValueInfo]) {
        self.name = name
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// One dimension of a `TensorShapeProto`.
public enum ONNXDimension: Sendable, Equatable, CustomStringConvertible {
    case fixed(Int)
    case symbolic(String)
    case unknown

    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .symbolic(let s): return s
        case .unknown: return "?"
        }
    }
}

/// `ValueInfoProto` of a tensor-typed value.
public struct ONNXValueInfo: Sendable, Equatable {
    public var name: String
    /// Element type; nil when the value is not a tensor or names no element type.
    public var elementType: ONNXDataType?
    /// Shape; nil when the value info carries no shape.
    public var shape: [ONNXDimension]?

    public init(name: String, elementType: ONNXDataType?, shape: [ONNXDimension]?) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
    }
}

/// `TensorProto.DataType` values (the numbering of onnx.proto).
public enum ONNXDataType: Int32, Sendable, Equatable, CustomStringConvertible {
    case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, string = 8
    case bool = 9, float16 = 10, double = 11, uint32 = 12, uint64 = 13, complex64 = 14
    case complex128 = 15, bfloat16 = 16

    public var description: String {
        switch self {
        case .float: "float"; case .uint8: "uint8"; case .int8: "int8"; case .uint16: "uint16"
        case .int16: "int16"; case .int32: "int32"; case .int64: "int64"; case .string: "string"
        case .bool: "bool"; case .float16: "float16"; case .double: "double"; case .uint32: "uint32"
        case .uint64: "uint64"; case .complex64: "complex64"; case .complex128: "complex128"
        case .bfloat16: "bfloat16"
        }
    }

    /// True for the floating-point types whose values decode into `ONNXTensor.Values.floats`.
    public var isFloatingPoint: Bool { self == .float || self == .double || self == .float16 || self == .bfloat16 }
}

/// `TensorProto` with its values decoded. Floating types (float, double, float16, bfloat16) decode to
/// `Float`; integer and bool types decode to `Int64`.
public struct ONNXTensor: Sendable, Equatable {
    public enum Values: Sendable, Equatable {
        case floats([Float])
        case integers([Int64])
    }

    public var name: String
    public var dataType: ONNXDataType
    public var dims: [Int]
    public var values: Values

    public init(name: String, dataType: ONNXDataType, dims: [Int], values: Values) {
        self.name = name
        self.dataType = dataType
        self.dims = dims
        self.values = values
    }

    /// Number of elements the dims promise (1 for a scalar).
    public var elementCount: Int { dims.reduce(1, *) }
}

/// `AttributeProto`, decoded by its type.
public enum ONNXAttribute: Sendable, Equatable {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(ONNXTensor)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    /// A graph, sparse tensor, type proto or list of those: kept only by name so that an importer can
    /// name it in an error.
    case unsupported(typeName: String)
}

/// `NodeProto`.
public struct ONNXNode: Sendable, Equatable {
    /// The node's name; exporters may leave it empty (then importers name it by its first output).
    public var name: String
    public var opType: String
    public var domain: String
    /// Input value names; an empty string marks an omitted optional input.
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: ONNXAttribute]

    public init(name: String, opType: String, domain: String, inputs: [String], outputs: [String],
                attributes: [String: ONNXAttribute]) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    /// A name for messages: the node name, or `<OpType> → <first output>` when the name is empty.
    public var displayName: String {
        if !name.isEmpty { return name }
        return "\(opType) → \(outputs.first ?? "?")"
    }
}

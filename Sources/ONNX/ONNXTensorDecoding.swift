import CONNXProto
import CProtobufC

// TensorProto → ONNXTensor: dims checked (non-negative, product without overflow), values decoded
// from raw_data (little-endian) or from the typed field onnx.proto assigns to the data type, and
// their count checked against the dims before anything is allocated from the dims. Error messages
// name the tensor and never contain its values.

extension ONNXProtoReader {
    /// Decodes a `TensorProto`. `context` says where the tensor sits when it is not an initializer
    /// (for example "attribute 'value' of node 'c1'"); errors name the tensor and that place.
    func tensor(_ proto: Onnx__TensorProto, context: String? = nil) throws -> ONNXTensor {
        let name = CArray.string(proto.name)
        let label = switch (name.isEmpty, context) {
        case (true, nil): "<unnamed initializer>"
        case (true, let context?): context
        case (false, nil): name
        case (false, let context?): "\(name) (\(context))"
        }
        func fail(_ reason: String) -> ONNXError { .invalidTensor(source: source, tensor: label, reason: reason) }

        guard let type = ONNXDataType(rawValue: proto.data_type) else {
            throw fail("data type \(TensorStorage.typeName(proto.data_type)) is not supported; "
                       + "only float, double, float16, bfloat16, integer and bool tensors are")
        }
        switch type {
        case .string: throw fail("string tensors are not supported; only numeric tensors are")
        case .complex64, .complex128: throw fail("\(type) tensors are not supported; only real tensors are")
        default: break
        }
        if proto.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL {
            let location = CArray.messages(proto.external_data, proto.n_external_data)
                .first { CArray.string($0.key) == "location" }
                .map { " (in '\(CArray.string($0.value))')" } ?? ""
            throw fail("its values are stored as external data\(location), which is not supported: re-export "
                       + "the model with the weights inside the .onnx file, e.g. with "
                       + "onnx.save_model(model, path, save_as_external_data=False)")
        }
        if proto.segment != nil {
            throw fail("segmented tensors (TensorProto.segment) are not supported")
        }

        // The product of the non-zero dims must not overflow: then no part of the shape can either,
        // even when a zero dim makes the element count 0 (dims [0, 2^62, 2^62]).
        var dims: [Int] = []
        var nonZeroProduct = 1
        for dim in CArray.buffer(proto.dims, proto.n_dims) {
            guard dim >= 0, let size = Int(exactly: dim) else {
                throw fail("dimension \(dims.count) is negative (\(dim))")
            }
            dims.append(size)
            guard size != 0 else { continue }
            let (product, overflow) = nonZeroProduct.multipliedReportingOverflow(by: size)
            guard !overflow else {
                let all = CArray.buffer(proto.dims, proto.n_dims).map { $0 }
                throw fail(all.contains(0)
                    ? "its dims \(all) are too large: the product of the non-zero dims exceeds \(Int.max)"
                    : "its dims \(all) hold more than \(Int.max) elements")
            }
            nonZeroProduct = product
        }
        let count = dims.contains(0) ? 0 : nonZeroProduct

        let storage = TensorStorage(proto: proto, type: type, count: count, dims: dims)
        do {
            return ONNXTensor(name: name, dataType: type, dims: dims, values: try storage.values())
        } catch {
            throw fail(error.message)
        }
    }
}

/// The values of one tensor, read from raw_data or from its typed field.
struct TensorStorage {
    struct Failure: Error { var message: String }

    let proto: Onnx__TensorProto
    let type: ONNXDataType
    /// The element count the dims promise (already checked for overflow).
    let count: Int
    let dims: [Int]

    /// Names for `TensorProto.DataType` numbers that `ONNXDataType` does not cover.
    static func typeName(_ number: Int32) -> String {
        if let known = ONNXDataType(rawValue: number) { return known.description }
        let newer = [0: "UNDEFINED", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2",
                     20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1", 24: "FLOAT8E8M0",
                     25: "UINT2", 26: "INT2", 27: "FLOAT6E2M3", 28: "FLOAT6E3M2"]
        return newer[Int(number)].map { "\($0) (\(number))" } ?? "\(number) (unknown)"
    }

    func values() throws(Failure) -> ONNXTensor.Values {
        let raw = proto.has_raw_data != 0 ? CArray.bytes(proto.raw_data) : UnsafeBufferPointer(start: nil, count: 0)
        let typedFields: [(name: String, count: Int)] = [
            ("float_data", proto.n_float_data), ("int32_data", proto.n_int32_data),
            ("int64_data", proto.n_int64_data), ("double_data", proto.n_double_data),
            ("uint64_data", proto.n_uint64_data), ("string_data", proto.n_string_data),
        ].filter { $0.count > 0 }
        if !raw.isEmpty {
            if let other = typedFields.first {
                throw Failure(message: "both raw_data and \(other.name) are set; a tensor stores its values in one")
            }
            return try rawValues(UnsafeRawBufferPointer(raw))
        }
        let field = typedFieldName
        if let other = typedFields.first(where: { $0.name != field }) {
            throw Failure(message: "its values are in \(other.name), but \(type) tensors keep them in \(field) "
                          + "or raw_data")
        }
        return try typedValues()
    }

    /// The typed field onnx.proto assigns to the data type.
    private var typedFieldName: String {
        switch type {
        case .float, .complex64: "float_data"
        case .double, .complex128: "double_data"
        case .int64: "int64_data"
        case .uint32, .uint64: "uint64_data"
        case .string: "string_data"
        case .int8, .uint8, .int16, .uint16, .int32, .bool, .float16, .bfloat16: "int32_data"
        }
    }

    private var elementSize: Int {
        switch type {
        case .int8, .uint8, .bool: 1
        case .int16, .uint16, .float16, .bfloat16: 2
        case .float, .int32, .uint32: 4
        case .double, .int64, .uint64, .complex64: 8
        case .complex128: 16
        case .string: 1
        }
    }

    private func checkCount(_ stored: Int, in field: String) throws(Failure) {
        guard stored == count else {
            throw Failure(message: "\(field) holds \(stored) \(type) values, but dims \(dims) need \(count)")
        }
    }

    // MARK: raw_data

    private func rawValues(_ raw: UnsafeRawBufferPointer) throws(Failure) -> ONNXTensor.Values {
        let size = elementSize
        guard raw.count % size == 0 else {
            throw Failure(message: "raw_data holds \(raw.count) bytes, not a multiple of the \(size)-byte size "
                          + "of a \(type) element")
        }
        try checkCount(raw.count / size, in: "raw_data")

        func load<T: FixedWidthInteger>(_ index: Int, as _: T.Type) -> T {
            T(littleEndian: raw.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
        }
        let indices = 0..<count
        switch type {
        case .float: return .floats(indices.map { Float(bitPattern: load($0, as: UInt32.self)) })
        case .double: return .floats(indices.map { Float(Double(bitPattern: load($0, as: UInt64.self))) })
        case .float16: return .floats(indices.map { HalfPrecision.float(fromHalf: load($0, as: UInt16.self)) })
        case .bfloat16: return .floats(indices.map { HalfPrecision.float(fromBFloat16: load($0, as: UInt16.self)) })
        case .int8: return .integers(indices.map { Int64(load($0, as: Int8.self)) })
        case .uint8: return .integers(indices.map { Int64(load($0, as: UInt8.self)) })
        case .int16: return .integers(indices.map { Int64(load($0, as: Int16.self)) })
        case .uint16: return .integers(indices.map { Int64(load($0, as: UInt16.self)) })
        case .int32: return .integers(indices.map { Int64(load($0, as: Int32.self)) })
        case .uint32: return .integers(indices.map { Int64(load($0, as: UInt32.self)) })
        case .int64: return .integers(indices.map { load($0, as: Int64.self) })
        case .bool:
            return .integers(try checkedMap(indices, field: "raw_data", range: 0...1) { Int64(load($0, as: UInt8.self)) })
        case .uint64:
            return .integers(try checkedMap(indices, field: "raw_data", range: 0...Int64.max) {
                Int64(truncatingIfNeeded: load($0, as: UInt64.self)) // values above Int64.max turn negative
            })
        case .string, .complex64, .complex128:
            throw Failure(message: "\(type) tensors are not supported")
        }
    }

    // MARK: typed fields

    private func typedValues() throws(Failure) -> ONNXTensor.Values {
        switch type {
        case .float:
            let data = CArray.buffer(proto.float_data, proto.n_float_data)
            try checkCount(data.count, in: "float_data")
            return .floats(Array(data))
        case .double:
            let data = CArray.buffer(proto.double_data, proto.n_double_data)
            try checkCount(data.count, in: "double_data")
            return .floats(data.map { Float($0) })
        case .int64:
            let data = CArray.buffer(proto.int64_data, proto.n_int64_data)
            try checkCount(data.count, in: "int64_data")
            return .integers(Array(data))
        case .uint32, .uint64:
            let data = CArray.buffer(proto.uint64_data, proto.n_uint64_data)
            try checkCount(data.count, in: "uint64_data")
            let range: ClosedRange<Int64> = type == .uint32 ? 0...Int64(UInt32.max) : 0...Int64.max
            return .integers(try checkedMap(data.indices, field: "uint64_data", range: range) {
                Int64(truncatingIfNeeded: data[$0])
            })
        case .int8, .uint8, .int16, .uint16, .int32, .bool, .float16, .bfloat16:
            let data = CArray.buffer(proto.int32_data, proto.n_int32_data)
            try checkCount(data.count, in: "int32_data")
            let range: ClosedRange<Int64> = switch type {
            case .int8: Int64(Int8.min)...Int64(Int8.max)
            case .uint8: 0...Int64(UInt8.max)
            case .int16: Int64(Int16.min)...Int64(Int16.max)
            case .bool: 0...1
            case .int32: Int64(Int32.min)...Int64(Int32.max)
            default: 0...Int64(UInt16.max)  // uint16, and the bit patterns of float16 / bfloat16
            }
            let integers = try checkedMap(data.indices, field: "int32_data", range: range) { Int64(data[$0]) }
            switch type {
            case .float16: return .floats(integers.map { HalfPrecision.float(fromHalf: UInt16(truncatingIfNeeded: $0)) })
            case .bfloat16: return .floats(integers.map { HalfPrecision.float(fromBFloat16: UInt16(truncatingIfNeeded: $0)) })
            default: return .integers(integers)
            }
        case .string, .complex64, .complex128:
            throw Failure(message: "\(type) tensors are not supported")
        }
    }

    /// Maps indices to values, failing (without naming the value) on the first one outside `range`.
    private func checkedMap(_ indices: Range<Int>, field: String, range: ClosedRange<Int64>,
                            _ value: (Int) -> Int64) throws(Failure) -> [Int64] {
        var result: [Int64] = []
        result.reserveCapacity(indices.count)
        for index in indices {
            let element = value(index)
            guard range.contains(element) else {
                let limit = type == .uint64 ? " (uint64 values above \(Int64.max) are not supported)" : ""
                throw Failure(message: "element \(index) of \(field) is outside the range of \(type)\(limit)")
            }
            result.append(element)
        }
        return result
    }
}

/// Conversions of 16-bit floating-point bit patterns to `Float` (exact: both formats are subsets of
/// binary32).
enum HalfPrecision {
    /// IEEE 754 binary16 → binary32: zeros, subnormals, infinities and NaN payloads are preserved.
    static func float(fromHalf bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0:  // zero or subnormal: mantissa × 2^-24
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:  // infinity or NaN
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:  // normal: rebias the exponent from 15 to 127
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }

    /// bfloat16 → binary32: bfloat16 is the upper half of a binary32.
    static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}

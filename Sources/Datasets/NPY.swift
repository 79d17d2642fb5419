import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The .npy format (numpy/lib/format.py, "NEP 1"):
//   "\x93NUMPY" · major · minor · header length (UInt16 LE for 1.0, UInt32 LE for 2.0 and 3.0)
//   · header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }
//     padded with spaces and ended by "\n" (ASCII/Latin-1 for 1.0 and 2.0, UTF-8 for 3.0)
//   · the elements, C order, `descr` byte order.

/// An element type of an `.npy` file that this module can read, named by its numpy `descr`.
///
/// Only little-endian layouts are accepted (`<`, or `|` for one-byte types).
public enum NPYDType: String, CaseIterable, Equatable, Sendable {
    case float32 = "<f4"
    case float64 = "<f8"
    case int32 = "<i4"
    case int64 = "<i8"
    case uint8 = "|u1"
    case int16 = "<i2"
    case int8 = "|i1"
    case uint16 = "<u2"
    case uint32 = "<u4"
    case uint64 = "<u8"
    case bool = "|b1"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .int16, .uint16: return 2
        case .float32, .int32, .uint32: return 4
        case .float64, .int64, .uint64: return 8
        }
    }

    /// Whether the type is `float32` or `float64`.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// The type for a numpy kind character (`f`, `i`, `u`, `b`) and byte size, if supported.
    init?(kind: Character, size: Int) {
        guard let match = NPYDType.allCases.first(where: {
            $0.rawValue.last.flatMap { $0.wholeNumberValue } == size && $0.rawValue.dropFirst().first == kind
        }) else { return nil }
        self = match
    }
}

/// The parsed header of an `.npy` file.
///
/// Contract: a header that was returned by ``NPYReader`` has a supported version and dtype, is
/// C-ordered (or has a layout where C and Fortran order coincide), has non-negative dimensions and
/// a byte size that fits in `Int`.
public struct NPYHeader: Equatable, Sendable {
    /// Format version, (1, 0), (2, 0) or (3, 0).
    public var majorVersion: Int
    public var minorVersion: Int
    /// Element type.
    public var dtype: NPYDType
    /// Array shape (C order); `[]` for a 0-d array.
    public var shape: [Int]
    /// Byte offset of the first element from the start of the file.
    public var dataOffset: Int
    /// Product of `shape` (1 for a 0-d array).
    public var elementCount: Int

    public init(majorVersion: Int, minorVersion: Int, dtype: NPYDType, shape: [Int],
                dataOffset: Int, elementCount: Int) {
        self.majorVersion = majorVersion
        self.minorVersion = minorVersion
        self.dtype = dtype
        self.shape = shape
        self.dataOffset = dataOffset
        self.elementCount = elementCount
    }
}

/// A dense array read from an `.npy` file: `elements` in C order, `elements.count == product(shape)`.
public struct NPYArray<Element: Equatable>: Equatable {
    public var shape: [Int]
    public var elements: [Element]

    public init(shape: [Int], elements: [Element]) {
        self.shape = shape
        self.elements = elements
    }
}

extension NPYArray: Sendable where Element: Sendable {}

/// Reads an `.npy` file row by row without loading all of it.
///
/// A "row" is one slice along the first axis (one example of a dataset); a 0-d array has one row.
/// `init(path:)` reads and checks only the header and the file size; each `read…(rows:)` call
/// reads exactly the bytes of the requested rows with `pread` at their offset, so a large test set
/// can be processed in batches with bounded memory. The file stays open for the reader's lifetime.
///
/// Not thread-safe to share across tasks (it is not `Sendable`); open one reader per task.
public final class NPYReader {
    /// The path as given, used in every error message.
    public let path: String
    /// The checked header.
    public let header: NPYHeader
    private let handle: FileHandle

    /// Opens `path` and checks its header.
    ///
    /// - Throws: ``DatasetError`` `.notFound`, `.unreadable`, `.notNPY`, `.unsupportedNPYVersion`,
    ///   `.malformedNPYHeader`, `.fortranOrder`, `.bigEndian`, `.unsupportedDType`,
    ///   `.invalidShape` or `.truncated`, each naming `path`.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DatasetError.notFound(path: path)
        }
        if isDirectory.boolValue {
            throw DatasetError.unreadable(file: path, reason: "it is a folder, not an .npy file")
        }
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        } catch {
            throw DatasetError.unreadable(file: path, reason: error.localizedDescription)
        }
        let fileSize: Int
        do {
            fileSize = Int(try handle.seekToEnd())
        } catch {
            throw DatasetError.unreadable(file: path, reason: error.localizedDescription)
        }
        self.path = path
        self.handle = handle
        self.header = try NPYHeaderParser.readHeader(
            file: path, fileSize: fileSize,
            read: { count, offset in try NPYReader.pread(handle: handle, file: path, count: count, at: offset) })
    }

    /// Number of rows (the first dimension; 1 for a 0-d array).
    public var rowCount: Int { header.shape.first ?? 1 }
    /// Shape of one row (the shape without its first dimension).
    public var rowShape: [Int] { Array(header.shape.dropFirst()) }
    /// Elements per row (product of `rowShape`).
    public var elementsPerRow: Int { header.shape.isEmpty ? 1 : header.shape.dropFirst().reduce(1, *) }

    // MARK: Reading

    /// Reads the given rows of a float32 or float64 array as `Float` (float64 is rounded to the
    /// nearest float32; values beyond float32's range become infinite), C order.
    ///
    /// - Throws: `.wrongDType` for any other dtype, `.rangeOutOfBounds`, `.unreadable`, `.truncated`.
    public func readFloats(rows: Range<Int>) throws -> [Float] {
        switch header.dtype {
        case .float32: return try readElements(Float.self, rows: rows)
        case .float64: return try readElements(Double.self, rows: rows).map { Float($0) }
        default:
            throw DatasetError.wrongDType(file: path, dtype: header.dtype.rawValue, role: "the elements",
                                          accepted: [NPYDType.float32.rawValue, NPYDType.float64.rawValue])
        }
    }

    /// Reads the given rows of an integer or bool array as `Int`, C order (`bool` reads as 0 or 1).
    ///
    /// - Throws: `.wrongDType` for float dtypes, `.integerOverflow` for a `<u8` value above
    ///   `Int.max`, `.rangeOutOfBounds`, `.unreadable`, `.truncated`.
    public func readIntegers(rows: Range<Int>) throws -> [Int] {
        switch header.dtype {
        case .int8: return try readElements(Int8.self, rows: rows).map { Int($0) }
        case .uint8: return try readElements(UInt8.self, rows: rows).map { Int($0) }
        case .bool: return try readElements(UInt8.self, rows: rows).map { $0 == 0 ? 0 : 1 }
        case .int16: return try readElements(Int16.self, rows: rows).map { Int($0) }
        case .uint16: return try readElements(UInt16.self, rows: rows).map { Int($0) }
        case .int32: return try readElements(Int32.self, rows: rows).map { Int($0) }
        case .uint32: return try readElements(UInt32.self, rows: rows).map { Int($0) }
        case .int64: return try readElements(Int64.self, rows: rows).map { Int($0) }
        case .uint64:
            let values = try readElements(UInt64.self, rows: rows)
            var result = [Int]()
            result.reserveCapacity(values.count)
            for (index, value) in values.enumerated() {
                guard let converted = Int(exactly: value) else {
                    let row = rows.lowerBound + index / max(elementsPerRow, 1)
                    throw DatasetError.integerOverflow(file: path, location: .row(row))
                }
                result.append(converted)
            }
            return result
        case .float32, .float64:
            throw DatasetError.wrongDType(
                file: path, dtype: header.dtype.rawValue, role: "the elements",
                accepted: NPYDType.allCases.filter { !$0.isFloatingPoint }.map(\.rawValue))
        }
    }

    /// Reads the whole float32/float64 array (see ``readFloats(rows:)``).
    public func readAllFloats() throws -> NPYArray<Float> {
        NPYArray(shape: header.shape, elements: try readFloats(rows: 0..<rowCount))
    }

    /// Reads the whole integer/bool array (see ``readIntegers(rows:)``).
    public func readAllIntegers() throws -> NPYArray<Int> {
        NPYArray(shape: header.shape, elements: try readIntegers(rows: 0..<rowCount))
    }

    /// Reads the raw little-endian elements of `rows` into an array of `T` (whose size must be the
    /// dtype's size), converting to host byte order.
    private func readElements<T: BitwiseCopyable>(_ type: T.Type, rows: Range<Int>) throws -> [T] {
        precondition(MemoryLayout<T>.size == header.dtype.size, "element type does not match dtype")
        guard rows.lowerBound >= 0, rows.upperBound <= rowCount else {
            throw DatasetError.rangeOutOfBounds(file: path, lower: rows.lowerBound, upper: rows.upperBound,
                                                count: rowCount)
        }
        // Cannot overflow: the header check proved elementCount × size + dataOffset fits in Int.
        let count = rows.count * elementsPerRow
        let offset = header.dataOffset + rows.lowerBound * elementsPerRow * header.dtype.size
        guard count > 0 else { return [] }
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            try NPYReader.pread(handle: handle, file: path, into: raw, at: offset)
            if !NPYReader.hostIsLittleEndian, header.dtype.size > 1 {
                let size = header.dtype.size
                for start in stride(from: 0, to: raw.count, by: size) {
                    raw[start..<(start + size)].reverse()
                }
            }
            // Every byte is now written, and T is BitwiseCopyable: all `count` elements are valid.
            initialized = count
        }
    }

    static let hostIsLittleEndian = 1.littleEndian == 1

    /// Reads exactly `count` bytes at `offset`.
    static func pread(handle: FileHandle, file: String, count: Int, at offset: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try pread(handle: handle, file: file, into: $0, at: offset) }
        return bytes
    }

    /// Fills `buffer` from the file at `offset`, retrying short reads and `EINTR`.
    static func pread(handle: FileHandle, file: String, into buffer: UnsafeMutableRawBufferPointer,
                      at offset: Int) throws {
        guard let base = buffer.baseAddress else { return }
        let descriptor = handle.fileDescriptor
        var done = 0
        while done < buffer.count {
            #if canImport(Glibc)
            let n = Glibc.pread(descriptor, base + done, buffer.count - done, off_t(offset + done))
            #elseif canImport(Musl)
            let n = Musl.pread(descriptor, base + done, buffer.count - done, off_t(offset + done))
            #else
            let n = Darwin.pread(descriptor, base + done, buffer.count - done, off_t(offset + done))
            #endif
            if n < 0 {
                if errno == EINTR { continue }
                throw DatasetError.unreadable(file: file, reason: String(cString: strerror(errno)))
            }
            if n == 0 {
                // The file shrank since its size was checked.
                throw DatasetError.truncated(file: file, expectedBytes: offset + buffer.count,
                                             actualBytes: offset + done)
            }
            done += n
        }
    }
}

// MARK: - Header parsing

/// Parses and checks the preamble and header dictionary of an `.npy` file.
enum NPYHeaderParser {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

    static func readHeader(file: String, fileSize: Int,
                           read: (_ count: Int, _ offset: Int) throws -> [UInt8]) throws -> NPYHeader {
        guard fileSize >= magic.count, try read(magic.count, 0) == magic else {
            throw DatasetError.notNPY(file: file)
        }
        guard fileSize >= 8 else {
            throw DatasetError.truncated(file: file, expectedBytes: 10, actualBytes: fileSize)
        }
        let version = try read(2, 6)
        let (major, minor) = (Int(version[0]), Int(version[1]))
        let lengthSize: Int
        switch (major, minor) {
        case (1, 0): lengthSize = 2
        case (2, 0), (3, 0): lengthSize = 4
        default: throw DatasetError.unsupportedNPYVersion(file: file, major: major, minor: minor)
        }
        guard fileSize >= 8 + lengthSize else {
            throw DatasetError.truncated(file: file, expectedBytes: 8 + lengthSize, actualBytes: fileSize)
        }
        let lengthBytes = try read(lengthSize, 8)
        let headerLength = lengthBytes.reversed().reduce(0) { $0 << 8 | Int($1) }
        let dataOffset = 8 + lengthSize + headerLength
        guard fileSize >= dataOffset else {
            throw DatasetError.truncated(file: file, expectedBytes: dataOffset, actualBytes: fileSize)
        }
        let headerBytes = try read(headerLength, 8 + lengthSize)
        let text: String
        if major == 3 {
            guard let decoded = String(bytes: headerBytes, encoding: .utf8) else {
                throw DatasetError.malformedNPYHeader(file: file, reason: "the header is not valid UTF-8")
            }
            text = decoded
        } else {
            // Latin-1: every byte is the Unicode scalar of the same value.
            text = String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))
        }

        var parser = PythonLiteralParser(text: text)
        let dictionary: [(key: String, value: PythonLiteral)]
        do {
            dictionary = try parser.parseHeaderDictionary()
        } catch let error as PythonLiteralParser.Failure {
            throw DatasetError.malformedNPYHeader(file: file, reason: error.reason)
        }
        var entries = [String: PythonLiteral]()
        for (key, value) in dictionary { entries[key] = value }
        let expectedKeys: Set = ["descr", "fortran_order", "shape"]
        let missing = expectedKeys.subtracting(entries.keys).sorted()
        if !missing.isEmpty {
            throw DatasetError.malformedNPYHeader(
                file: file, reason: "missing key\(missing.count > 1 ? "s" : "") \(missing.map { "'\($0)'" }.joined(separator: ", "))")
        }
        let unexpected = Set(entries.keys).subtracting(expectedKeys).sorted()
        if !unexpected.isEmpty {
            throw DatasetError.malformedNPYHeader(
                file: file, reason: "unexpected key\(unexpected.count > 1 ? "s" : "") \(unexpected.map { "'\($0)'" }.joined(separator: ", "))")
        }

        // dtype
        guard case .string(let descr) = entries["descr"]! else {
            throw DatasetError.unsupportedDType(file: file, descr: "a structured (record) dtype")
        }
        let dtype = try parseDType(descr, file: file)

        // shape
        guard case .tuple(let dimensions) = entries["shape"]! else {
            throw DatasetError.malformedNPYHeader(file: file, reason: "'shape' is not a tuple")
        }
        var shape = [Int]()
        for dimension in dimensions {
            guard case .integer(let value, _) = dimension else {
                throw DatasetError.malformedNPYHeader(file: file, reason: "'shape' holds a value that is not an integer")
            }
            guard let value, value >= 0 else {
                throw DatasetError.invalidShape(file: file, shape: pythonTuple(dimensions.map { literal -> String in
                    if case .integer(_, let text) = literal { return text }
                    return "?"
                }))
            }
            shape.append(value)
        }
        var elementCount = 1
        for dimension in shape {
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: dimension)
            if overflow { throw DatasetError.invalidShape(file: file, shape: pythonTuple(shape.map(String.init))) }
            elementCount = product
        }
        let (byteCount, byteOverflow) = elementCount.multipliedReportingOverflow(by: dtype.size)
        let (end, endOverflow) = byteCount.addingReportingOverflow(dataOffset)
        if byteOverflow || endOverflow {
            throw DatasetError.invalidShape(file: file, shape: pythonTuple(shape.map(String.init)))
        }

        // order
        guard case .bool(let fortranOrder) = entries["fortran_order"]! else {
            throw DatasetError.malformedNPYHeader(file: file, reason: "'fortran_order' is not True or False")
        }
        // With at most one dimension above 1 the two orders store the same bytes.
        if fortranOrder && shape.filter({ $0 > 1 }).count > 1 {
            throw DatasetError.fortranOrder(file: file)
        }

        guard fileSize >= end else {
            throw DatasetError.truncated(file: file, expectedBytes: end, actualBytes: fileSize)
        }
        return NPYHeader(majorVersion: major, minorVersion: minor, dtype: dtype, shape: shape,
                         dataOffset: dataOffset, elementCount: elementCount)
    }

    /// Maps a numpy `descr` such as `<f4` to a supported type, rejecting big-endian layouts.
    static func parseDType(_ descr: String, file: String) throws -> NPYDType {
        let characters = Array(descr)
        guard characters.count >= 3, "<>|=".contains(characters[0]),
              let size = Int(String(characters[2...])),
              let dtype = NPYDType(kind: characters[1], size: size)
        else { throw DatasetError.unsupportedDType(file: file, descr: descr) }
        let order = characters[0]
        if order == "<" || dtype.size == 1 { return dtype }  // one byte has no byte order
        if order == ">" { throw DatasetError.bigEndian(file: file, descr: descr) }
        throw DatasetError.unsupportedDType(file: file, descr: descr)  // "|" or "=" with several bytes
    }

    /// A shape spelled as Python spells a tuple: `(3,)`, `(2, 3)`, `()`.
    static func pythonTuple(_ dimensions: [String]) -> String {
        dimensions.count == 1 ? "(\(dimensions[0]),)" : "(\(dimensions.joined(separator: ", ")))"
    }
}

/// The subset of Python literals that appears in an `.npy` header.
indirect enum PythonLiteral {
    case string(String)
    case bool(Bool)
    case none
    /// `value` is nil when the integer does not fit in `Int`; `text` is its spelling.
    case integer(value: Int?, text: String)
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dictionary([(key: String, value: PythonLiteral)])
}

/// A recursive-descent parser for Python literals (strings, integers, True/False/None, tuples,
/// lists, dicts). It never evaluates anything.
struct PythonLiteralParser {
    struct Failure: Error { var reason: String }

    private let scalars: [Unicode.Scalar]
    private var index = 0

    init(text: String) { scalars = Array(text.unicodeScalars) }

    /// Parses one dictionary followed only by whitespace (numpy pads with spaces and ends with "\n").
    mutating func parseHeaderDictionary() throws -> [(key: String, value: PythonLiteral)] {
        skipWhitespace()
        guard peek == "{" else { throw Failure(reason: "the header is not a Python dictionary") }
        guard case .dictionary(let entries) = try parseValue() else {
            throw Failure(reason: "the header is not a Python dictionary")
        }
        skipWhitespace()
        guard index == scalars.count else {
            throw Failure(reason: "unexpected text after the header dictionary")
        }
        return entries
    }

    private var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private mutating func skipWhitespace() {
        while let c = peek, c == " " || c == "\n" || c == "\t" || c == "\r" { index += 1 }
    }

    private mutating func expect(_ c: Unicode.Scalar) throws {
        skipWhitespace()
        guard peek == c else {
            throw Failure(reason: peek == nil ? "the header ends early (expected '\(c)')" : "expected '\(c)' at character \(index)")
        }
        index += 1
    }

    private mutating func parseValue() throws -> PythonLiteral {
        skipWhitespace()
        guard let c = peek else { throw Failure(reason: "the header ends early") }
        switch c {
        case "'", "\"": return .string(try parseString())
        case "(": return try parseSequence(close: ")", make: PythonLiteral.tuple)
        case "[": return try parseSequence(close: "]", make: PythonLiteral.list)
        case "{":
            index += 1
            var entries = [(key: String, value: PythonLiteral)]()
            while true {
                skipWhitespace()
                if peek == "}" { index += 1; return .dictionary(entries) }
                guard peek == "'" || peek == "\"" else {
                    throw Failure(reason: peek == nil ? "the header ends early (unclosed '{')" : "a dictionary key is not a string (character \(index))")
                }
                let key = try parseString()
                try expect(":")
                let value = try parseValue()
                entries.append((key, value))
                skipWhitespace()
                if peek == "," { index += 1; continue }
                try expect("}")
                return .dictionary(entries)
            }
        case "-", "+", "0"..."9": return try parseInteger()
        default:
            var word = ""
            while let c = peek, c.properties.isAlphabetic || c == "_" { word.unicodeScalars.append(c); index += 1 }
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default: throw Failure(reason: "unexpected \(word.isEmpty ? "character" : "word '\(word)'") at character \(index)")
            }
        }
    }

    private mutating func parseSequence(close: Unicode.Scalar,
                                        make: ([PythonLiteral]) -> PythonLiteral) throws -> PythonLiteral {
        index += 1
        var items = [PythonLiteral]()
        while true {
            skipWhitespace()
            if peek == close { index += 1; return make(items) }
            items.append(try parseValue())
            skipWhitespace()
            if peek == "," { index += 1; continue }
            try expect(close)
            return make(items)
        }
    }

    private mutating func parseString() throws -> String {
        let quote = scalars[index]
        index += 1
        var result = String.UnicodeScalarView()
        while let c = peek {
            index += 1
            if c == quote { return String(result) }
            if c == "\\" {
                guard let escaped = peek else { break }
                index += 1
                switch escaped {
                case "n": result.append("\n")
                case "t": result.append("\t")
                default: result.append(escaped)
                }
            } else {
                result.append(c)
            }
        }
        throw Failure(reason: "unterminated string")
    }

    private mutating func parseInteger() throws -> PythonLiteral {
        var text = ""
        if let c = peek, c == "-" || c == "+" { text.unicodeScalars.append(c); index += 1 }
        var digits = 0
        while let c = peek, ("0"..."9").contains(c) { text.unicodeScalars.append(c); index += 1; digits += 1 }
        guard digits > 0 else { throw Failure(reason: "a sign without digits at character \(index)") }
        if peek == "L" || peek == "l" { index += 1 }  // Python 2 long suffix
        return .integer(value: Int(text), text: text)
    }
}

// MARK: - Writing

/// Writes `.npy` files that numpy reads back unchanged.
///
/// Output is byte-identical to `numpy.save` (numpy 2.x) for the same array: format version 1.0,
/// header keys sorted, 21 − len(repr(shape[0])) spare spaces for in-place growth, padded with
/// spaces and a newline so that the data starts at a multiple of 64 bytes; C order, little-endian.
public enum NPYWriter {
    /// The complete file contents for a float32 array.
    /// - Throws: `.writerShapeMismatch` when `product(shape) != values.count` or a dimension is negative.
    public static func data(float32 values: [Float], shape: [Int]) throws -> Data {
        try encode(values, dtype: .float32, shape: shape, file: "(in memory)")
    }

    /// The complete file contents for an int64 array.
    /// - Throws: `.writerShapeMismatch` when `product(shape) != values.count` or a dimension is negative.
    public static func data(int64 values: [Int64], shape: [Int]) throws -> Data {
        try encode(values, dtype: .int64, shape: shape, file: "(in memory)")
    }

    /// Writes a float32 array to `path` (atomically: a partial file is never left behind).
    public static func write(float32 values: [Float], shape: [Int], to path: String) throws {
        try save(try encode(values, dtype: .float32, shape: shape, file: path), to: path)
    }

    /// Writes an int64 array to `path` (atomically).
    public static func write(int64 values: [Int64], shape: [Int], to path: String) throws {
        try save(try encode(values, dtype: .int64, shape: shape, file: path), to: path)
    }

    /// The version 1.0 preamble and header for `dtype` and `shape`, exactly as numpy writes it.
    public static func header(dtype: NPYDType, shape: [Int]) -> Data {
        let shapeText = NPYHeaderParser.pythonTuple(shape.map(String.init))
        var dictionary = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        if let first = shape.first {
            dictionary += String(repeating: " ", count: max(0, 21 - String(first).count))
        }
        let preambleLength = NPYHeaderParser.magic.count + 2 + 2
        let unpadded = dictionary.utf8.count + 1  // + "\n"
        let padding = 64 - (preambleLength + unpadded) % 64
        let headerLength = unpadded + padding
        var bytes = NPYHeaderParser.magic + [1, 0, UInt8(headerLength & 0xFF), UInt8(headerLength >> 8)]
        bytes += Array(dictionary.utf8)
        bytes += [UInt8](repeating: 0x20, count: padding)
        bytes.append(0x0A)
        return Data(bytes)
    }

    private static func encode<T: BitwiseCopyable>(_ values: [T], dtype: NPYDType, shape: [Int],
                                                   file: String) throws -> Data {
        guard shape.count <= 64 else {
            throw DatasetError.invalidArgument("\(file): cannot write an array of rank \(shape.count); numpy supports at most 64 dimensions.")
        }
        var product = 1
        for dimension in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow else {
                throw DatasetError.writerShapeMismatch(file: file, shape: shape, elementCount: values.count)
            }
            product = next
        }
        guard product == values.count else {
            throw DatasetError.writerShapeMismatch(file: file, shape: shape, elementCount: values.count)
        }
        var data = header(dtype: dtype, shape: shape)
        values.withUnsafeBytes { raw in
            if NPYReader.hostIsLittleEndian {
                data.append(contentsOf: raw)
            } else {
                var swapped = Array(raw)
                for start in stride(from: 0, to: swapped.count, by: dtype.size) {
                    swapped[start..<(start + dtype.size)].reverse()
                }
                data.append(contentsOf: swapped)
            }
        }
        return data
    }

    private static func save(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw DatasetError.unwritable(file: path, reason: error.localizedDescription)
        }
    }
}

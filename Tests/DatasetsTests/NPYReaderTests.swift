import Foundation
import Testing
@testable import Datasets

/// The reader against files written by numpy (Tests/Fixtures/npy) and hand-built odd headers.
@Suite struct NPYReaderTests {
    // MARK: numpy-written files

    @Test func readsNumpyFloat32() throws {
        let reader = try NPYReader(path: fixture("f32_3x2x2.npy"))
        #expect(reader.header == NPYHeader(majorVersion: 1, minorVersion: 0, dtype: .float32, shape: [3, 2, 2],
                                           dataOffset: 128, elementCount: 12))
        #expect(reader.rowCount == 3)
        #expect(reader.rowShape == [2, 2])
        #expect(reader.elementsPerRow == 4)
        #expect(try reader.readAllFloats() == NPYArray(shape: [3, 2, 2], elements: referenceFloats))
    }

    @Test(arguments: [(2, "f32_3x2x2_v2.npy"), (3, "f32_3x2x2_v3.npy")])
    func readsNumpyLaterVersions(major: Int, name: String) throws {
        let reader = try NPYReader(path: fixture(name))
        #expect(reader.header.majorVersion == major)
        #expect(reader.header.dataOffset % 64 == 0)
        #expect(try reader.readAllFloats() == NPYArray(shape: [3, 2, 2], elements: referenceFloats))
    }

    @Test func readsNumpyFloat64AsRoundedFloat32() throws {
        let array = try NPYReader(path: fixture("f64_2x3.npy")).readAllFloats()
        #expect(array.shape == [2, 3])
        #expect(array.elements == (0..<6).map { Float(Double($0) / 3) })
    }

    @Test(arguments: [
        ("labels_i8.npy", NPYDType.int64, [0, 2, 1]),
        ("labels_u1.npy", .uint8, [3, 0, 255]),
        ("labels_i4.npy", .int32, [-1, 7, 2147483647]),
        ("labels_i2.npy", .int16, [-32768, 5]),
        ("labels_u2.npy", .uint16, [65535, 5]),
        ("labels_i1.npy", .int8, [-128, 127]),
        ("bool_4.npy", .bool, [1, 0, 0, 1]),
    ])
    func readsNumpyIntegers(name: String, dtype: NPYDType, values: [Int]) throws {
        let reader = try NPYReader(path: fixture(name))
        #expect(reader.header.dtype == dtype)
        #expect(try reader.readAllIntegers() == NPYArray(shape: [values.count], elements: values))
    }

    @Test func readsEmptyAndScalarArrays() throws {
        let empty = try NPYReader(path: fixture("f32_empty_0x4.npy"))
        #expect(empty.rowCount == 0)
        #expect(empty.rowShape == [4])
        #expect(try empty.readAllFloats() == NPYArray(shape: [0, 4], elements: []))

        let scalar = try NPYReader(path: fixture("f32_scalar.npy"))
        #expect(scalar.header.shape == [])
        #expect(scalar.rowCount == 1)
        #expect(try scalar.readAllFloats() == NPYArray(shape: [], elements: [2.5]))
    }

    @Test func rejectsNumpyFortranOrder() {
        let path = fixture("fortran_2x3.npy")
        expectDatasetError(.fortranOrder(file: path), naming: path) { _ = try NPYReader(path: path) }
        #expect(DatasetError.fortranOrder(file: path).description.contains("np.ascontiguousarray"))
    }

    @Test func rejectsNumpyBigEndian() {
        let path = fixture("bigendian_f4.npy")
        expectDatasetError(.bigEndian(file: path, descr: ">f4"), naming: path) { _ = try NPYReader(path: path) }
    }

    @Test func rejectsUnsupportedDTypeListingAccepted() {
        let path = fixture("complex_c8.npy")
        let error = expectDatasetError(naming: path) { _ = try NPYReader(path: path) }
        #expect(error == .unsupportedDType(file: path, descr: "<c8"))
        for dtype in NPYDType.allCases { #expect(error?.description.contains(dtype.rawValue) == true) }
    }

    // MARK: Row ranges

    @Test func rowRangesEqualTheWholeRead() throws {
        let reader = try NPYReader(path: fixture("f32_3x2x2.npy"))
        let whole = try reader.readAllFloats().elements
        for lower in 0...3 {
            for upper in lower...3 {
                #expect(try reader.readFloats(rows: lower..<upper) == Array(whole[(lower * 4)..<(upper * 4)]))
            }
        }
        let labels = try NPYReader(path: fixture("labels_i8.npy"))
        #expect(try labels.readIntegers(rows: 1..<3) == [2, 1])
    }

    @Test func rowRangesOfALargerFile() throws {
        let folder = try TemporaryFolder()
        var generator = SystemRandomNumberGenerator()
        let values = (0..<(257 * 3 * 5)).map { _ in Float.random(in: -1000...1000, using: &generator) }
        let path = folder.path("big.npy")
        try NPYWriter.write(float32: values, shape: [257, 3, 5], to: path)
        let reader = try NPYReader(path: path)
        var collected = [Float]()
        var start = 0
        for size in [1, 7, 64, 100, 85] {
            collected += try reader.readFloats(rows: start..<(start + size))
            start += size
        }
        #expect(start == 257)
        #expect(collected == values)
    }

    @Test func rejectsRowsOutsideTheArray() throws {
        let path = fixture("f32_3x2x2.npy")
        let reader = try NPYReader(path: path)
        expectDatasetError(.rangeOutOfBounds(file: path, lower: 2, upper: 4, count: 3), naming: path) {
            _ = try reader.readFloats(rows: 2..<4)
        }
        expectDatasetError(.rangeOutOfBounds(file: path, lower: -1, upper: 1, count: 3), naming: path) {
            _ = try reader.readFloats(rows: -1..<1)
        }
    }

    @Test func rejectsReadingTheWrongKind() throws {
        let floats = fixture("f32_3x2x2.npy")
        let error = expectDatasetError(naming: floats) { _ = try NPYReader(path: floats).readIntegers(rows: 0..<1) }
        guard case .wrongDType(_, "<f4", _, _) = error else { Issue.record("got \(String(describing: error))"); return }
        let integers = fixture("labels_i8.npy")
        let other = expectDatasetError(naming: integers) { _ = try NPYReader(path: integers).readAllFloats() }
        #expect(other == .wrongDType(file: integers, dtype: "<i8", role: "the elements", accepted: ["<f4", "<f8"]))
    }

    // MARK: Hand-built headers

    @Test func acceptsOneByteTypesWithAnyByteOrderMark() throws {
        let folder = try TemporaryFolder()
        for descr in ["|u1", "<u1", ">u1", "|i1", "|b1"] {
            let path = try folder.write(npyBytes(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (2,), }\n",
                                                 payload: [1, 0]), to: "one-byte.npy")
            #expect(try NPYReader(path: path).readAllIntegers().elements == [1, 0])
        }
    }

    @Test func acceptsFortranFlagWhenTheLayoutsCoincide() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write(npyBytes(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 3, 1), }\n",
                                             payload: littleEndianBytes([1, 2, 3] as [Float])), to: "f.npy")
        #expect(try NPYReader(path: path).readAllFloats().elements == [1, 2, 3])
    }

    @Test func parsesHeaderVariants() throws {
        let folder = try TemporaryFolder()
        // Double quotes, other key order, Python 2 long suffix, no trailing comma, no padding.
        let path = try folder.write(npyBytes(header: "{\"shape\": (2L, 1), \"fortran_order\": False, \"descr\": \"<i4\"}",
                                             payload: littleEndianBytes([Int32(-5), 6])), to: "v.npy")
        let reader = try NPYReader(path: path)
        #expect(reader.header.shape == [2, 1])
        #expect(try reader.readAllIntegers().elements == [-5, 6])
    }

    @Test func rejectsBadMagic() throws {
        let folder = try TemporaryFolder()
        for (name, bytes) in [("text.npy", Array("hello, world".utf8)), ("empty.npy", []), ("short.npy", [0x93, 0x4E])] {
            let path = try folder.write(bytes, to: name)
            expectDatasetError(.notNPY(file: path), naming: path) { _ = try NPYReader(path: path) }
        }
    }

    @Test(arguments: [(4, 0), (1, 1), (0, 0)])
    func rejectsUnsupportedVersion(major: Int, minor: Int) throws {
        let folder = try TemporaryFolder()
        let path = try folder.write(npyBytes(major: UInt8(major), minor: UInt8(minor),
                                             header: "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }\n"),
                                    to: "v.npy")
        expectDatasetError(.unsupportedNPYVersion(file: path, major: major, minor: minor), naming: path) {
            _ = try NPYReader(path: path)
        }
    }

    @Test(arguments: [
        "hello\n",
        "{'descr': '<f4', 'fortran_order': False}\n",                            // no shape
        "{'descr': '<f4', 'fortran_order': False, 'shape': 3, }\n",              // shape not a tuple
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 'a'), }\n",       // not an integer
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }\n",               // order not a bool
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}\n",     // unexpected key
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } trailing\n",  // text after
        "{'descr': '<f4, 'fortran_order': False, 'shape': (3,), }\n",            // bad quoting
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,\n",              // unclosed
        "{'descr': '<f4' 'fortran_order': False, 'shape': (3,), }\n",            // missing comma
        "{1: '<f4'}\n",                                                          // key not a string
        "",
    ])
    func rejectsMalformedHeader(header: String) throws {
        let folder = try TemporaryFolder()
        let path = try folder.write(npyBytes(header: header, payload: [UInt8](repeating: 0, count: 12)), to: "m.npy")
        let error = expectDatasetError(naming: path) { _ = try NPYReader(path: path) }
        guard case .malformedNPYHeader(path, _) = error else {
            Issue.record("expected malformedNPYHeader, got \(String(describing: error))")
            return
        }
    }

    @Test func rejectsStructuredAndOddDTypes() throws {
        let folder = try TemporaryFolder()
        for (descr, reported) in [("[('a', '<f4')]", "a structured (record) dtype"), ("'<f2'", "<f2"),
                                  ("'|f4'", "|f4"), ("'<U4'", "<U4"), ("'f4'", "f4"), ("'<M8[ns]'", "<M8[ns]")] {
            let path = try folder.write(npyBytes(header: "{'descr': \(descr), 'fortran_order': False, 'shape': (1,), }\n",
                                                 payload: [0, 0, 0, 0, 0, 0, 0, 0]), to: "d.npy")
            expectDatasetError(.unsupportedDType(file: path, descr: reported), naming: path) { _ = try NPYReader(path: path) }
        }
    }

    @Test func rejectsBigEndianIntegers() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write(npyBytes(header: "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }\n",
                                             payload: [UInt8](repeating: 0, count: 8)), to: "b.npy")
        expectDatasetError(.bigEndian(file: path, descr: ">i8"), naming: path) { _ = try NPYReader(path: path) }
    }

    @Test func rejectsTruncatedFiles() throws {
        let folder = try TemporaryFolder()
        let complete = try fixtureBytes("f32_3x2x2.npy")
        // Data cut short.
        let data = try folder.write(Array(complete.dropLast(4)), to: "data.npy")
        expectDatasetError(.truncated(file: data, expectedBytes: 176, actualBytes: 172), naming: data) {
            _ = try NPYReader(path: data)
        }
        // Header cut short.
        let header = try folder.write(Array(complete.prefix(40)), to: "header.npy")
        expectDatasetError(.truncated(file: header, expectedBytes: 128, actualBytes: 40), naming: header) {
            _ = try NPYReader(path: header)
        }
        // Nothing but the magic string.
        let magic = try folder.write(Array(complete.prefix(6)), to: "magic.npy")
        expectDatasetError(naming: magic) { _ = try NPYReader(path: magic) }
        // Header length cut short.
        let length = try folder.write(Array(complete.prefix(9)), to: "length.npy")
        expectDatasetError(.truncated(file: length, expectedBytes: 10, actualBytes: 9), naming: length) {
            _ = try NPYReader(path: length)
        }
    }

    @Test(arguments: [
        ("(-1, 2)", "(-1, 2)"),
        ("(99999999999999999999999,)", "(99999999999999999999999,)"),
        ("(1099511627776, 1099511627776)", "(1099511627776, 1099511627776)"),  // element count overflows
        ("(2305843009213693952,)", "(2305843009213693952,)"),                   // 2^61 × 8 bytes overflows
    ])
    func rejectsInvalidShapesWithoutTrapping(shape: String, reported: String) throws {
        let folder = try TemporaryFolder()
        let path = try folder.write(npyBytes(header: "{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }\n"),
                                    to: "s.npy")
        expectDatasetError(.invalidShape(file: path, shape: reported), naming: path) { _ = try NPYReader(path: path) }
    }

    @Test func rejectsUInt64BeyondInt() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write(npyBytes(header: "{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }\n",
                                             payload: littleEndianBytes([UInt64(1), UInt64.max])), to: "u.npy")
        let reader = try NPYReader(path: path)
        #expect(try reader.readIntegers(rows: 0..<1) == [1])
        expectDatasetError(.integerOverflow(file: path, location: .row(1)), naming: path) { _ = try reader.readAllIntegers() }
    }

    @Test func rejectsMissingFilesAndFolders() throws {
        let folder = try TemporaryFolder()
        let missing = folder.path("nothing.npy")
        expectDatasetError(.notFound(path: missing), naming: missing) { _ = try NPYReader(path: missing) }
        let error = expectDatasetError(naming: folder.path) { _ = try NPYReader(path: folder.path) }
        guard case .unreadable = error else { Issue.record("got \(String(describing: error))"); return }
    }
}

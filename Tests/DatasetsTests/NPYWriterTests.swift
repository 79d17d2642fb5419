import Foundation
import Testing
@testable import Datasets

/// The writer: byte-identical to numpy.save, read back by our reader (and by numpy when present).
@Suite struct NPYWriterTests {
    @Test func float32BytesEqualNumpy() throws {
        #expect([UInt8](try NPYWriter.data(float32: referenceFloats, shape: [3, 2, 2])) == (try fixtureBytes("f32_3x2x2.npy")))
        #expect([UInt8](try NPYWriter.data(float32: [], shape: [0, 4])) == (try fixtureBytes("f32_empty_0x4.npy")))
        #expect([UInt8](try NPYWriter.data(float32: [2.5], shape: [])) == (try fixtureBytes("f32_scalar.npy")))
    }

    @Test func int64BytesEqualNumpy() throws {
        #expect([UInt8](try NPYWriter.data(int64: [0, 2, 1], shape: [3])) == (try fixtureBytes("labels_i8.npy")))
    }

    @Test func headersAreAlignedTo64Bytes() throws {
        for rank in 0...12 {
            for first in [0, 1, 9, 10, 123_456_789] {
                let shape = rank == 0 ? [] : [first] + [Int](repeating: 1, count: rank - 1)
                let header = NPYWriter.header(dtype: .float32, shape: shape)
                #expect(header.count % 64 == 0)
                #expect(header.last == 0x0A)
                let length = Int(header[8]) | Int(header[9]) << 8
                #expect(length + 10 == header.count)
            }
        }
    }

    @Test func roundTrips() throws {
        let folder = try TemporaryFolder()
        let floats: [Float] = [0, -0, 1, -1.5, .pi, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .infinity, 1e-30]
        let floatPath = folder.path("f.npy")
        try NPYWriter.write(float32: floats, shape: [3, 3], to: floatPath)
        let readFloats = try NPYReader(path: floatPath).readAllFloats()
        #expect(readFloats.shape == [3, 3])
        #expect(readFloats.elements.map(\.bitPattern) == floats.map(\.bitPattern))

        let integers: [Int64] = [0, -1, .max, .min, 42]
        let integerPath = folder.path("i.npy")
        try NPYWriter.write(int64: integers, shape: [5], to: integerPath)
        #expect(try NPYReader(path: integerPath).readAllIntegers() == NPYArray(shape: [5], elements: integers.map(Int.init)))
    }

    @Test func rejectsShapesThatDoNotMatchTheElements() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("out.npy")
        expectDatasetError(.writerShapeMismatch(file: path, shape: [2, 2], elementCount: 3), naming: path) {
            try NPYWriter.write(float32: [1, 2, 3], shape: [2, 2], to: path)
        }
        expectDatasetError(.writerShapeMismatch(file: path, shape: [-1, -3], elementCount: 3), naming: path) {
            try NPYWriter.write(float32: [1, 2, 3], shape: [-1, -3], to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func reportsUnwritablePaths() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("no/such/folder/out.npy")
        let error = expectDatasetError(naming: path) { try NPYWriter.write(int64: [1], shape: [1], to: path) }
        guard case .unwritable = error else { Issue.record("got \(String(describing: error))"); return }
    }

    /// numpy itself reads what we write (skipped silently when python3 with numpy is not on the
    /// PATH; the byte comparisons above already pin the format).
    @Test func numpyReadsOurFiles() throws {
        let folder = try TemporaryFolder()
        let floatPath = folder.path("f.npy")
        let integerPath = folder.path("i.npy")
        try NPYWriter.write(float32: (0..<24).map { Float($0) / 4 }, shape: [2, 3, 4], to: floatPath)
        try NPYWriter.write(int64: [5, -7, 9], shape: [3], to: integerPath)
        let script = """
        import sys
        try:
            import numpy as np
        except ImportError:
            sys.exit(77)
        f = np.load(sys.argv[1]); i = np.load(sys.argv[2])
        ok = (f.dtype == np.float32 and f.shape == (2, 3, 4) and (f.ravel() == np.arange(24) / 4).all()
              and i.dtype == np.int64 and i.tolist() == [5, -7, 9])
        sys.exit(0 if ok else 1)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, floatPath, integerPath]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus == 77 || process.terminationStatus == 127 { return }  // no numpy, no python3
        #expect(process.terminationStatus == 0)
    }
}

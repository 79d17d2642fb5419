import Foundation
import Testing
@testable import Datasets

/// The repository root (`Tests/DatasetsTests/<file>` → three levels up), symlinks resolved so that
/// a sandbox package linking to this folder still finds the fixtures.
let repositoryRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Path of a numpy-written fixture (see Scripts/make_npy_fixtures.py).
func fixture(_ name: String) -> String {
    repositoryRoot.appendingPathComponent("Tests/Fixtures/npy").appendingPathComponent(name).path
}

func fixtureBytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture(name))))
}

/// A fresh temporary folder, removed when the value is released.
final class TemporaryFolder {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("DatasetsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// `folder/name` as a path string.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `bytes` to `name` (creating intermediate folders) and returns its path.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
        return file.path
    }

    @discardableResult
    func write(_ text: String, to name: String) throws -> String {
        try write(Array(text.utf8), to: name)
    }

    /// Creates `name/` holding `inputs.npy` (float32) and `labels.npy` (int64); returns its path.
    @discardableResult
    func npyFolder(_ name: String, inputs: [Float], shape: [Int], labels: [Int64]) throws -> String {
        try FileManager.default.createDirectory(at: url.appendingPathComponent(name), withIntermediateDirectories: true)
        try NPYWriter.write(float32: inputs, shape: shape, to: path("\(name)/inputs.npy"))
        try NPYWriter.write(int64: labels, shape: [labels.count], to: path("\(name)/labels.npy"))
        return path(name)
    }
}

/// Hand-built `.npy` bytes: magic, version, header length (2 bytes for major 1, else 4), `header`
/// verbatim (no padding unless given) and `payload`.
func npyBytes(major: UInt8 = 1, minor: UInt8 = 0, header: String, payload: [UInt8] = []) -> [UInt8] {
    let headerBytes = Array(header.utf8)
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, minor]
    let length = headerBytes.count
    bytes += major == 1 ? [UInt8(length & 0xFF), UInt8(length >> 8)]
                        : [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
    return bytes + headerBytes + payload
}

/// Little-endian bytes of fixed-width values.
func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

func littleEndianBytes(_ values: [Float]) -> [UInt8] { littleEndianBytes(values.map(\.bitPattern)) }

/// Runs `body`, expects it to throw a `DatasetError` whose message names `file`, and returns it.
@discardableResult
func expectDatasetError(naming file: String, sourceLocation: SourceLocation = #_sourceLocation,
                        _ body: () throws -> Void) -> DatasetError? {
    do {
        try body()
        Issue.record("expected a DatasetError naming \(file), but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DatasetError {
        #expect(error.description.contains(file), "message does not name \(file): \(error)", sourceLocation: sourceLocation)
        #expect(error.localizedDescription == error.description, sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a DatasetError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// Expects `body` to throw exactly `expected`, whose message names `file`.
func expectDatasetError(_ expected: DatasetError, naming file: String,
                        sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    let error = expectDatasetError(naming: file, sourceLocation: sourceLocation, body)
    #expect(error == expected, sourceLocation: sourceLocation)
}

/// The reference contents of f32_3x2x2.npy: (i * 0.5) - 1 for i in 0..<12.
let referenceFloats: [Float] = (0..<12).map { Float($0) * 0.5 - 1 }

import ArgumentParser
import Foundation
import IR
import ONNX
import RingArithmetic

/// Fixed-point parameters shared by the commands that compute in the ring.
struct FixedPointOptions: ParsableArguments {
    @Option(name: .customLong("ring-bits"), help: "Ring width ℓ: values live in Z_2^ℓ (2…64).")
    var ringBits: Int = FixedPointFormat.standard.ringBits

    @Option(help: "Fixed-point scale s: number of fractional bits (2s < ℓ).")
    var scale: Int = FixedPointFormat.standard.scale

    func validate() throws {
        _ = try format()
    }

    func format() throws -> FixedPointFormat {
        do {
            return try FixedPointFormat(ringBits: ringBits, scale: scale)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Writes `value` as pretty JSON to `path` (the report file is ours to replace).
func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = try encoder.encode(value)
    do {
        try data.write(to: URL(fileURLWithPath: path))
    } catch {
        throw CLIError("cannot write the JSON report to \(path): \(error.localizedDescription)")
    }
}

/// A user-facing error of a command.
struct CLIError: Error, CustomStringConvertible, LocalizedError {
    let description: String
    init(_ description: String) { self.description = description }
    var errorDescription: String? { description }
}

/// Progress lines on stderr, at most a few per second, overwriting themselves on a terminal.
final class ProgressReporter: @unchecked Sendable {
    private let label: String
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let isTerminal = isatty(STDERR_FILENO) != 0

    init(_ label: String) { self.label = label }

    func update(done: Int, total: Int) {
        let now = Date()
        guard done == total || now.timeIntervalSince(lastPrint) >= 0.5 else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let line = String(format: "%@: %d/%d (%.0f%%), %.1f s elapsed, ETA %.1f s", label, done, total,
                          100 * Double(done) / Double(max(total, 1)), elapsed, eta)
        if isTerminal {
            FileHandle.standardError.write(Data(("\r" + line + (done == total ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}

/// Prints to stderr.
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Loads and imports a model.
func loadModel(_ path: String) throws -> Graph {
    try ONNXImporter.loadGraph(path: path)
}

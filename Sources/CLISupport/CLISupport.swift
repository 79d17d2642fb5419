import Foundation

/// A user-facing error of a command: its description is what the user reads.
public struct CLIError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// Writes `value` as pretty JSON (sorted keys) to `path`; the report file is the command's own
/// output, so an existing one is replaced.
public func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
        try encoder.encode(value).write(to: URL(fileURLWithPath: path))
    } catch {
        throw CLIError("cannot write the JSON report to \(path): \(error.localizedDescription)")
    }
}

/// Prints a line to stderr (progress and notes; results go to stdout).
public func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Progress with an ETA on stderr, at most two lines a second (one line rewritten in place on a
/// terminal).
public final class ProgressReporter: @unchecked Sendable {
    private let label: String
    private let unit: String
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let isTerminal = isatty(STDERR_FILENO) != 0

    public init(_ label: String, unit: String = "") {
        self.label = label
        self.unit = unit.isEmpty ? "" : " " + unit
    }

    public func update(done: Int, total: Int) {
        let now = Date()
        guard done == total || now.timeIntervalSince(lastPrint) >= 0.5 else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let line = String(format: "%@: %d/%d%@ (%.0f%%), %.1f s elapsed, ETA %.1f s", label, done, total, unit,
                          100 * Double(done) / Double(max(total, 1)), elapsed, eta)
        if isTerminal {
            FileHandle.standardError.write(Data(("\r" + line + (done == total ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}

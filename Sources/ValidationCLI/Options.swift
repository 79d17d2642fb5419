import ArgumentParser
import Foundation
import Transport

/// The TLS identity options both commands share.
struct TLSOptions: ParsableArguments {
    @Option(help: "This party's certificate (PEM).")
    var cert: String

    @Option(help: "This party's private key (PEM).")
    var key: String

    @Option(help: "The CA certificate (PEM) that signed both parties' certificates; the peer must present one it signed.")
    var ca: String

    @Option(help: "Seconds to wait for the peer at any step before giving up.")
    var timeout: Double = 600

    func identity() throws -> TLSIdentity {
        try TLSIdentity(certificate: cert, key: key, ca: ca)
    }
}

/// Splits HOST:PORT.
func parseEndpoint(_ text: String, option: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
        throw ArgumentParser.ValidationError("\(option) must be HOST:PORT (e.g. 127.0.0.1:7443), got '\(text)'")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host.isEmpty ? "0.0.0.0" : host, port)
}

/// Writes pretty JSON to a file (our report: replaced if present).
func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
        try encoder.encode(value).write(to: URL(fileURLWithPath: path))
    } catch {
        throw CommandFailure("cannot write the JSON report to \(path): \(error.localizedDescription)")
    }
}

/// Prints to stderr.
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A user-facing failure.
struct CommandFailure: Error, CustomStringConvertible, LocalizedError {
    let description: String
    init(_ description: String) { self.description = description }
    var errorDescription: String? { description }
}

/// Progress with ETA on stderr, a few lines per second at most.
final class Progress: @unchecked Sendable {
    private let label: String
    private let start = Date()
    private var last = Date.distantPast

    init(_ label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        let now = Date()
        guard done == total || now.timeIntervalSince(last) >= 1 else { return }
        last = now
        let elapsed = now.timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        note(String(format: "%@: %d/%d images (%.0f%%), %.1f s elapsed, ETA %.1f s", label, done, total,
                    100 * Double(done) / Double(max(total, 1)), elapsed, eta))
    }
}

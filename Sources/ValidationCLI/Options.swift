import ArgumentParser
import Compiler
@_exported import CLISupport
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

    @Option(help: "Seconds to wait for the peer at any step before giving up. While the hospital checks its whole test set (minutes for a large image folder), it tells the vendor every 10 s how far it has got, so neither side's wait runs out.")
    var timeout: Double = 600

    func identity() throws -> TLSIdentity {
        try TLSIdentity(certificate: cert, key: key, ca: ca)
    }
}

/// `--ot silent|iknp`, parsed.
func parseOTEngine(_ text: String) throws -> OTEngine {
    guard let engine = OTEngine(rawValue: text.lowercased()) else {
        throw ArgumentParser.ValidationError("--ot must be silent or iknp, not '\(text)'")
    }
    return engine
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

/// Splits I/K (1-based I, 1 ≤ I ≤ K) into a 0-based index and K.
func parseFraction(_ text: String, option: String) throws -> (index: Int, count: Int) {
    let pieces = text.split(separator: "/", omittingEmptySubsequences: false)
    guard pieces.count == 2, let i = Int(pieces[0]), let k = Int(pieces[1]), k >= 1, (1...k).contains(i) else {
        throw ArgumentParser.ValidationError("\(option) must be I/K with 1 ≤ I ≤ K (e.g. 2/4), got '\(text)'")
    }
    return (i - 1, k)
}

import ArgumentParser
import Compiler
import Datasets
import Foundation
import IR
import ONNX
import RingArithmetic
import Transport
import Validation

/// `validate-serve`: the vendor's command.
public struct ServeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate-serve",
        abstract: "Serve secure validations of your ONNX model: hospitals learn its accuracy on their data, never its weights.",
        discussion: """
            Loads and checks the model, compiles its secure program, then waits for hospitals on \
            --listen. Each session runs over mutually authenticated TLS 1.3: the hospital receives the \
            model's architecture (weights stripped), both sides run the two-party computation, and only \
            the agreed metric is revealed to both (accuracy, or only whether accuracy ≥ a threshold). \
            You learn the metric and the number of images, nothing else about the test set. One session \
            at a time; a failed session is reported and the server keeps serving (unless --once).
            """)

    @Option(help: "The ONNX model to validate.")
    var model: String

    @Option(help: "Address to listen on, HOST:PORT (e.g. 0.0.0.0:7443).")
    var listen: String

    @OptionGroup var tls: TLSOptions

    @Option(name: .customLong("min-images"), help: "Refuse test sets with fewer images.")
    var minImages: Int = 100

    @Option(help: "Metrics hospitals may ask for, comma-separated: accuracy, threshold.")
    var allow: String = "accuracy,threshold"

    @Option(help: "Your own calibration data (never a hospital's) to choose the fixed-point format from; without it the default ℓ = 41, s = 15 is used.")
    var calibration: String?

    @Option(name: .customLong("ring-bits"), help: "Override ℓ (with --scale).")
    var ringBits: Int?

    @Option(help: "Override s (with --ring-bits).")
    var scale: Int?

    @Flag(help: "Exit after one session (exit status 0 only if it completed).")
    var once = false

    @Option(help: "Write each session's result as JSON to this file.")
    var json: String?

    public init() {}

    public func validate() throws {
        _ = try parseEndpoint(listen, option: "--listen")
        guard minImages >= 1 else { throw ArgumentParser.ValidationError("--min-images must be at least 1") }
        let metrics = allow.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for m in metrics where !["accuracy", "threshold"].contains(m) {
            throw ArgumentParser.ValidationError("--allow: unknown metric '\(m)' (known: accuracy, threshold)")
        }
        if (ringBits == nil) != (scale == nil) { throw ArgumentParser.ValidationError("give --ring-bits and --scale together") }
        if ringBits != nil && calibration != nil { throw ArgumentParser.ValidationError("--calibration chooses ℓ and s; do not also give --ring-bits/--scale") }
    }

    public func run() throws {
        let graph = try ONNXImporter.loadGraph(path: model)
        let format: FixedPointFormat, reason: String
        if let ringBits, let scale {
            format = try FixedPointFormat(ringBits: ringBits, scale: scale)
            reason = "given on the command line"
        } else if let calibration {
            let choice = try FormatSelection.choose(graph: graph, calibration: try openDataset(path: calibration))
            (format, reason) = (choice.format, choice.reason)
        } else {
            (format, reason) = (.standard, "the default")
        }
        let metrics = Set(allow.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let server = try ValidationServer(modelName: (model as NSString).lastPathComponent, graph: graph, format: format,
                                          formatReason: reason, policy: .init(minimumImages: minImages, allowedMetrics: metrics))
        let (host, port) = try parseEndpoint(listen, option: "--listen")
        let listener = try TLSListener(host: host, port: port, identity: tls.identity())
        note("validate-serve: \(server.modelName) (input \(Shape.describe(graph.inputShape)), \(graph.classCount) classes, \(format); \(reason))")
        note("validate-serve: program \(server.program.digestHex.prefix(16))…, listening on \(host):\(listener.port); allowed metrics \(metrics.sorted().joined(separator: ", ")), at least \(minImages) images")
        while true {
            do {
                let channel = try listener.accept(timeout: once ? tls.timeout : 365 * 86_400)
                channel.timeout = tls.timeout
                note("validate-serve: session with \(channel.peerCommonName ?? "?") (certificate \(channel.peerCertificateFingerprint.prefix(16))…)")
                let progress = Progress("validate-serve")
                let result = try server.serve(channel: channel, progress: progress.update)
                channel.close()
                print(result.summary())
                if let json { try writeJSON(result, to: json) }
                if once { return }
            } catch {
                note("validate-serve: session failed: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
                if once { throw ExitCode(1) }
            }
        }
    }
}

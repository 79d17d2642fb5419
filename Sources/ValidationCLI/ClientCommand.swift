import ArgumentParser
import Compiler
import Datasets
import Foundation
import IR
import Ledger
import Transport
import Validation

/// `validate-client`: the hospital's command (a validation by default; `history` lists the ledger).
public struct ClientCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate-client",
        abstract: "Learn a vendor's model accuracy on your labelled test set, or list past sessions (history).",
        subcommands: [ClientRunCommand.self, HistoryCommand<HospitalSide>.self],
        defaultSubcommand: ClientRunCommand.self)

    public init() {}
}

/// `validate-client [run] --connect …`: runs one validation.
public struct ClientRunCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Learn a vendor's model accuracy on your labelled test set without revealing the set (or seeing the weights).",
        discussion: """
            Connects to a vendor's validate-serve over mutually authenticated TLS 1.3, receives the \
            model's architecture (never its weights), checks your dataset against it before any secure \
            computation, and runs the two-party computation. Your images and labels never leave this \
            machine except as secret shares and encryptions; only the agreed metric is revealed, to \
            both parties. DATASET is a folder with inputs.npy and labels.npy, or a CSV file (label first).
            """)

    @Option(help: "The vendor's validate-serve, HOST:PORT.")
    var connect: String

    @Option(help: "Your labelled test set: a folder with inputs.npy and labels.npy, or a .csv file (label first).")
    var dataset: String

    @OptionGroup var tls: TLSOptions

    @Option(help: "What to reveal: 'accuracy', or 'threshold:τ' to reveal only whether accuracy ≥ τ (τ in [0, 1]).")
    var reveal: String = "accuracy"

    @Option(help: "What counts as correct: 'accuracy' (the top prediction is the label) or 'top5' (the label is among the 5 highest scores; 'topK' for another k).")
    var metric: String = "accuracy"

    @Option(name: .customLong("expect-model"), help: "Refuse to run unless the vendor's model commitment is this SHA-256 (hex), e.g. from validate-inspect hash or an earlier session's JSON.")
    var expectModel: String?

    @Option(help: "The SQLite ledger recording every session (default: ~/.local/share/securevalidation/hospital-ledger.sqlite, or under $XDG_DATA_HOME).")
    var ledger: String?

    @Option(help: "Images per batch (more amortises round trips, uses more memory).")
    var batch: Int = 32

    @Option(help: "Also write the result as JSON to this file (keys metric, correct, total, accuracy or threshold/passed, seconds, bytes_sent, bytes_received, rounds, ring_bits, scale, …).")
    var json: String?

    public init() {}

    func parsedReveal() throws -> (metric: String, threshold: Double?) {
        if reveal == "accuracy" { return ("accuracy", nil) }
        if reveal.hasPrefix("threshold:"), let tau = Double(reveal.dropFirst("threshold:".count)), (0...1).contains(tau) {
            return ("threshold", tau)
        }
        throw ArgumentParser.ValidationError("--reveal must be 'accuracy' or 'threshold:τ' with τ between 0 and 1, got '\(reveal)'")
    }

    func parsedTopK() throws -> Int {
        if metric == "accuracy" { return 1 }
        if metric.hasPrefix("top"), let k = Int(metric.dropFirst(3)), k >= 1 { return k }
        throw ArgumentParser.ValidationError("--metric must be 'accuracy' or 'topK' such as 'top5', got '\(metric)'")
    }

    public func validate() throws {
        _ = try parseEndpoint(connect, option: "--connect")
        _ = try parsedTopK()
        _ = try parsedReveal()
        guard batch >= 1 else { throw ArgumentParser.ValidationError("--batch must be at least 1") }
        if let expectModel, expectModel.count != 64 || !expectModel.allSatisfy(\.isHexDigit) {
            throw ArgumentParser.ValidationError("--expect-model must be a SHA-256 in hex (64 characters)")
        }
    }

    public func run() throws {
        let data = try openDataset(path: dataset)
        let (reveal, threshold) = try parsedReveal()
        let client = try Validation.ValidationClient(dataset: data, metric: reveal, threshold: threshold, batch: batch,
                                                     topK: try parsedTopK(), expectedModel: expectModel)
        let ledgerPath = try ledger ?? Ledger.defaultPath(party: .hospital)
        let book = try Ledger(path: ledgerPath)
        let (host, port) = try parseEndpoint(connect, option: "--connect")
        let recorder = SessionRecorder(ledger: book, party: .hospital, peerFingerprint: nil, peerName: nil)
        var channel: TLSChannel?
        do {
            let connected = try TLSChannel.connect(host: host, port: port, identity: tls.identity(), timeout: tls.timeout)
            channel = connected
            recorder.record.peerFingerprint = connected.peerCertificateFingerprint.lowercased()
            recorder.record.peerName = connected.peerCommonName
            note("validate-client: connected to \(connected.peerCommonName ?? "?") (certificate \(connected.peerCertificateFingerprint.prefix(16))…, \(connected.cipherName)); ledger \(ledgerPath)")
            let progress = ProgressReporter("validate-client", unit: "images")
            let result = try client.run(channel: connected, announced: { model, program in
                note("validate-client: model \(model.modelName) (commitment \(model.modelCommitment.prefix(16))…): input \(Shape.describe(model.graph.inputShape)), \(model.graph.classCount) classes, \(model.graph.nodes.count) ops; fixed point ℓ = \(program.ringBits), s = \(program.scale); \(data.count) images")
            }, onStart: recorder.started, progress: progress.update)
            try recorder.completed(result)
            connected.close()
            print(result.summary())
            if let json { try writeJSON(result, to: json) }
        } catch {
            recorder.failed(error, statistics: channel?.statistics)
            channel?.close()
            throw error
        }
    }
}

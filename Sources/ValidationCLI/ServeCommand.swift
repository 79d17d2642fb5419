import ArgumentParser
import Commitments
import Calibration
import Compiler
import Datasets
import Foundation
import IR
import Ledger
import ONNX
import RingArithmetic
import Transport
import Validation

/// `validate-serve`: the vendor's command (serving by default; `history` lists the ledger).
public struct ServeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate-serve",
        abstract: "Serve secure validations of your ONNX model, or list past sessions (history).",
        subcommands: [ServeRunCommand.self, HistoryCommand<VendorSide>.self],
        defaultSubcommand: ServeRunCommand.self)

    public init() {}
}

/// `validate-serve [run] --model …`: serves sessions.
public struct ServeRunCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Serve secure validations of your ONNX model: hospitals learn its accuracy on their data, never its weights.",
        discussion: """
            Loads and checks the model, compiles its secure program, then waits for hospitals on \
            --listen. Each session runs over mutually authenticated TLS 1.3: the hospital receives the \
            model's architecture (weights stripped), both sides run the two-party computation, and only \
            the agreed metric is revealed to both (accuracy, or only whether accuracy ≥ a threshold). \
            You learn the metric and the number of images, nothing else about the test set. One session \
            at a time unless --max-sessions; a failed session is reported and the server keeps serving \
            (unless --once). Parts of a pooled validation (validate-client --pool) open nothing: you keep \
            your share of each part's count in your ledger until the pool's aggregator opens the \
            pooled metric with you, once, after you completed every part.
            """)

    @Option(help: "The ONNX model to validate.")
    var model: String

    @Option(help: "Address to listen on, HOST:PORT (e.g. 0.0.0.0:7443).")
    var listen: String

    @OptionGroup var tls: TLSOptions

    @Option(name: .customLong("min-images"), help: "Refuse test sets with fewer images.")
    var minImages: Int = 100

    @Option(help: "Metrics hospitals may ask for, comma-separated: accuracy (open the count), threshold (open only count ≥ τ·N), top5 (count top-5 hits; topK for another k), and the clinical metrics auroc (per-finding AUROC and its macro mean), sens-spec (per-finding sensitivity and specificity at your declared thresholds or the hospital's), confusion (the C×C matrix of a single-label model: every count, so also the accuracy and the class sizes), predictions (every image's scores to the hospital only: you learn nothing but the number of images; think twice — scores on inputs a hospital chooses help it copy your model).")
    var allow: MetricPermissions = MetricPermissions(argument: "accuracy,threshold")!

    @Option(help: "Your own calibration data (never a hospital's) to choose the fixed-point format from; without it the default ℓ = 41, s = 15 is used.")
    var calibration: String?

    @Option(name: .customLong("ring-bits"), help: "Override ℓ (with --scale).")
    var ringBits: Int?

    @Option(help: "Override s (with --ring-bits).")
    var scale: Int?

    @Option(name: .customLong("allow-peer"), help: "A file of allowed hospital certificate fingerprints (SHA-256 hex, one per line, # comments); others are refused before the model is shown.")
    var allowPeer: String?

    @Option(name: .customLong("max-sessions-per-day"), help: "Refuse a hospital (by certificate) after this many sessions since midnight UTC.")
    var maxSessionsPerDay: Int?

    @Option(help: "The SQLite ledger recording every session (default: ~/.local/share/securevalidation/vendor-ledger.sqlite, or under $XDG_DATA_HOME).")
    var ledger: String?

    @Option(name: .customLong("max-lanes"), help: "The most batches one session may run at once, each on its own connection and thread (the hospital asks with --lanes; 1 turns pipelining off).")
    var maxLanes: Int = 2

    @Option(name: .customLong("max-sessions"), help: "Sessions served at once, each on its own threads with its own batches in memory (the prepared model is shared): e.g. the parts of a pool run by several machines or Slurm array tasks. Hospitals that connect while this many run wait in line.")
    var maxSessions: Int = 1

    @Flag(help: "Exit after one session (exit status 0 only if it completed).")
    var once = false

    @Option(help: ArgumentHelp("The oblivious-transfer engine of the comparisons: silent (Ferret silent OT, under one bit per correlation: the default) or iknp (IKNP OT extension, 128 bits per OT). Both sides must give the same; it is part of the program digest.", valueName: "engine"))
    var ot: String = "silent"

    @Option(help: "Write each session's result as JSON to this file.")
    var json: String?

    @Option(help: ArgumentHelp("Write the report of every session whose hospital asked for one (validate-client --report) into DIR/<session id>/: report.json (the statement both parties signed with their TLS keys: session, program digest, both commitments, metric asked and values opened, N, parameters, date, both certificate fingerprints; both signatures and certificates) and report.html (a printable rendering). An existing report is never overwritten. With or without this option, this server signs such a statement only when it is byte for byte its own view of the session, dated within 10 minutes of its clock.", valueName: "DIR"))
    var report: String?

    public init() {}

    public func validate() throws {
        _ = try parseOTEngine(ot)
        _ = try parseEndpoint(listen, option: "--listen")
        guard minImages >= 1 else { throw ArgumentParser.ValidationError("--min-images must be at least 1") }
        if (ringBits == nil) != (scale == nil) { throw ArgumentParser.ValidationError("give --ring-bits and --scale together") }
        if ringBits != nil && calibration != nil { throw ArgumentParser.ValidationError("--calibration chooses ℓ and s; do not also give --ring-bits/--scale") }
        if let maxSessionsPerDay, maxSessionsPerDay < 1 { throw ArgumentParser.ValidationError("--max-sessions-per-day must be at least 1") }
        guard (1...8).contains(maxLanes) else { throw ArgumentParser.ValidationError("--max-lanes must be between 1 and 8") }
        guard (1...64).contains(maxSessions) else { throw ArgumentParser.ValidationError("--max-sessions must be between 1 and 64") }
    }

    /// The allowed fingerprints, lower-case hex without colons.
    func allowedPeers() throws -> Set<String>? {
        try allowPeer.map { try readFingerprints($0) }
    }

    public func run() throws {
        let graph = try ONNXImporter.loadGraph(path: model)
        let choice = try FormatSelection.resolve(graph: graph, ringBits: ringBits, scale: scale,
                                                 calibration: try calibration.map { try openDataset(path: $0) })
        let (format, reason) = (choice.format, choice.reason)
        let metrics = allow.permissions
        let allowed = try allowedPeers()
        let ledgerPath = try ledger ?? Ledger.defaultPath(party: .vendor)
        let book = try Ledger(path: ledgerPath)
        // One salt per model (its program and weights), kept in this ledger: the same commitment in
        // every session.
        var modelSalt = CommitmentSalt.random()
        let server = try ValidationServer(
            modelName: (model as NSString).lastPathComponent, graph: graph, format: format, formatReason: reason,
            policy: .init(minimumImages: minImages, allowedMetrics: metrics, maximumLanes: maxLanes),
            saltForModel: { digest in
                let saltHex = try book.modelSalt(digest: digest, fresh: modelSalt.hex)
                guard let salt = CommitmentSalt(hex: saltHex) else {
                    throw CLIError("\(ledgerPath): the model's commitment salt is damaged (\(saltHex.count) characters)")
                }
                modelSalt = salt
                return salt
            },
            otEngine: try parseOTEngine(ot))
        let commitmentSalt = modelSalt.hex
        let (host, port) = try parseEndpoint(listen, option: "--listen")
        let identity = try tls.identity()
        if let report { try SignedReport.makeDirectory(report) }
        let listener = try TLSListener(host: host, port: port, identity: identity)
        note("validate-serve: \(server.modelName) (input \(Shape.describe(graph.inputShape)), \(graph.classCount) classes, \(format); \(choice.details))")
        note("validate-serve: model commitment \(server.modelCommitment), program \(server.program.digestHex.prefix(16))…")
        note("validate-serve: certificate \(identity.commonName ?? "?") SHA-256 \(identity.certificateFingerprint ?? "?") (hospitals can pin it: validate-client --expect-vendor)")
        note("validate-serve: listening on \(host):\(listener.port); allowed metrics \(metrics.map(\.description).sorted().joined(separator: ", ")), at least \(minImages) images; ledger \(ledgerPath)")
        // One thread accepts and routes connections (new sessions, and each session's extra lanes
        // by their lane context); up to --max-sessions sessions run at once, each on its own
        // thread, the others wait in line.
        let router = SessionRouter(listener: listener, timeout: tls.timeout) { note("validate-serve: \($0)") }
        router.start()
        defer { router.stop() }
        let slots = DispatchSemaphore(value: maxSessions)
        let output = NSLock()
        if maxSessions > 1 { note("validate-serve: serving up to \(maxSessions) sessions at once") }
        /// Writes a completed session's signed report into --report DIR/<session id>/, or says why
        /// there is none; false when the hospital asked for a report and none was made or written.
        func writeReport(of result: ValidationResult) -> Bool {
            if let failure = result.reportFailure {
                note("validate-serve: session \(result.sessionID.prefix(16))… completed (its result stands), but no signed report: \(failure)")
                return false
            }
            guard let signed = result.report else {
                if report != nil { note("validate-serve: the hospital did not ask for a signed report of session \(result.sessionID.prefix(16))…; none written") }
                return true
            }
            guard let report else {
                note("validate-serve: signed the hospital's statement of session \(result.sessionID.prefix(16))… (not kept here: no --report)")
                return true
            }
            do {
                let paths = try signed.write(to: (report as NSString).appendingPathComponent(result.sessionID))
                print("report: signed by both parties (\(String(format: "%.0f", (result.reportSeconds ?? 0) * 1000)) ms to sign and exchange): \(paths.json), \(paths.html)")
                return true
            } catch {
                note("validate-serve: the signed report of session \(result.sessionID.prefix(16))… was not written: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
                return false
            }
        }
        func serveOne(_ arrival: SessionRouter.Arrival) -> Bool {
            var recorder: SessionRecorder?
            let accepted: TLSChannel
            switch arrival {
            case .session(let channel): accepted = channel
            case .failed(let error, let channel):
                // A failed TLS handshake (unknown CA, expired certificate, garbage) is recorded too,
                // with the peer unknown unless TLS succeeded.
                SessionRecorder(ledger: book, party: .vendor, peerFingerprint: channel?.peerCertificateFingerprint.lowercased(),
                                peerName: channel?.peerCommonName).failed(error, statistics: channel?.statistics)
                note("validate-serve: session failed: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
                return false
            }
            do {
                let fingerprint = accepted.peerCertificateFingerprint.lowercased()
                recorder = SessionRecorder(ledger: book, party: .vendor, peerFingerprint: fingerprint, peerName: accepted.peerCommonName)
                recorder?.record.commitmentSalt = commitmentSalt
                note("validate-serve: session with \(accepted.peerCommonName ?? "?") (certificate \(fingerprint.prefix(16))…)")
                var refusal: String?
                if let allowed, !allowed.contains(fingerprint) {
                    refusal = "this hospital's certificate (\(fingerprint.prefix(16))…) is not on the vendor's allowed list"
                } else if let maxSessionsPerDay, try book.sessionsToday(peerFingerprint: fingerprint) >= maxSessionsPerDay {
                    refusal = "this hospital already ran \(maxSessionsPerDay) session(s) today (UTC); the vendor's limit is \(maxSessionsPerDay) per day"
                }
                let progress = ProgressReporter("validate-serve", unit: "images")
                // A session's extra lanes: further connections from the same certificate naming its lane context.
                let acceptLane = { [tls] (context: SessionContext) throws -> any Channel in
                    try router.nextLane(context: context, of: accepted, timeout: tls.timeout)
                }
                // Progress lines of concurrent sessions would interleave: only when one runs at a time.
                let reportProgress: ((Int, Int) -> Void)? = maxSessions > 1 ? nil : { progress.update(done: $0, total: $1) }
                // Signs the end-of-session statement if the hospital asks (checked with the certificate TLS authenticated).
                let signer = try ReportSigner(identity: identity, peerCertificatePEM: accepted.peerCertificatePEM)
                // A hospital checking a large image folder says so every few seconds, while this
                // vendor waits for its request (each message within --timeout).
                let peerName = accepted.peerCommonName ?? "the hospital"
                let checking = { (checked: Int, images: Int) in
                    note("validate-serve: \(peerName) is checking its test set: \(checked)/\(images) images")
                }
                let result = try server.serve(channel: accepted, peer: fingerprint, refuseAdmission: refusal, journal: recorder,
                                              acceptLane: acceptLane, report: signer, progress: reportProgress, checking: checking)
                try recorder!.completed(result)
                accepted.close()
                output.lock()
                defer { output.unlock() }
                print(result.summary())
                if let json { try writeJSON(result, to: json) }
                return writeReport(of: result)
            } catch {
                (recorder ?? SessionRecorder(ledger: book, party: .vendor, peerFingerprint: nil, peerName: nil))
                    .failed(error, statistics: accepted.statistics)
                accepted.close()
                note("validate-serve: session failed: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
                if let validation = recorder?.resumableValidation {
                    note("validate-serve: the hospital can continue this validation from its last checkpoint with validate-client --resume \(validation)")
                }
                return false
            }
        }
        if once {
            let accepted: SessionRouter.Arrival
            do { accepted = try router.nextSession(timeout: tls.timeout) } catch {
                SessionRecorder(ledger: book, party: .vendor, peerFingerprint: nil, peerName: nil).failed(error, statistics: nil)
                note("validate-serve: session failed: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
                throw ExitCode(1)
            }
            if !serveOne(accepted) { throw ExitCode(1) }
            return
        }
        nonisolated(unsafe) let serve = serveOne
        while true {
            slots.wait()
            nonisolated(unsafe) let accepted = try router.nextSession(timeout: nil)
            let thread = Thread {
                _ = serve(accepted)
                slots.signal()
            }
            thread.stackSize = 64 << 20
            thread.start()
        }
    }
}

import ArgumentParser
import Commitments
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
        abstract: "Learn a vendor's model accuracy on your labelled test set; pool several sites' or shards' parts (pool-send, pool-collect, pool-open); list past sessions (history).",
        subcommands: [ClientRunCommand.self, HistoryCommand<HospitalSide>.self,
                      PoolSendCommand.self, PoolCollectCommand.self, PoolOpenCommand.self],
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

            Each party checkpoints its own share of the running count after every batch (a share alone \
            reveals nothing). If the connection is lost, run the same command with --resume SESSION (the \
            session id printed when it started, or its first digits from validate-client history) to \
            continue from the last batch both parties completed; the result is the same as an \
            uninterrupted run's.
            """)

    @Option(help: "The vendor's validate-serve, HOST:PORT.")
    var connect: String

    @Option(help: "Your labelled test set: a folder with inputs.npy and labels.npy; a folder of PNG, JPEG or DICOM images with labels.csv (file,label or file,<finding>,…), preprocessed as the model declares; or a .csv file (label first).")
    var dataset: String

    @Option(name: .customLong("label-columns"), help: "A .csv --dataset for a multi-label model: its first C columns are the labels, one per finding (1, 0, or -1 for not labelled).")
    var labelColumns: Int = 1

    @OptionGroup var tls: TLSOptions

    @Option(help: ArgumentHelp("What to reveal: 'accuracy' (the default: the number of correct images), 'threshold:τ' to reveal only whether accuracy ≥ τ (τ in [0, 1]), 'threshold:auroc>=τ' (with --metric auroc or alone) to reveal only whether each finding's AUROC is ≥ τ (one bit per finding; 'threshold:auroc-all>=τ': one bit, every finding), or 'predictions': every image's scores (the model's outputs before a final Softmax/Sigmoid, decoded from fixed point), opened to you only and written to --output; the vendor learns the number of images and nothing else, and must allow it.", valueName: "accuracy|threshold:τ|threshold:auroc>=τ|predictions"))
    var reveal: RevealSelection?

    @Option(help: ArgumentHelp("With --reveal predictions: the .npy file to write them to (float32, images × outputs). An existing file is not overwritten without --force.", valueName: "file.npy"))
    var output: String?

    @Flag(help: "With --output: overwrite an existing file.")
    var force = false

    @Option(help: ArgumentHelp("""
        What to measure: 'accuracy' (the default: the top prediction is the label), 'top5' (the label is among the 5 highest scores; 'topK' for another k), \
        or a clinical metric of every image's scores: 'auroc' (per finding, or per class one-vs-rest, the exact AUROC, ties 1/2, and the macro mean; reveals the AUROC values, to 2^-20, and whether a finding has both positives and negatives), \
        'sens-spec' (per finding, sensitivity and specificity at the model's declared thresholds or --thresholds; reveals those two ratios, to 2^-20), \
        'confusion' (single-label models: the C×C confusion matrix; reveals every count, so also the accuracy and the number of images per class). \
        Labels of a multi-label model: labels.npy of shape N × findings, 1, 0 or -1 (not labelled: left out of that finding's metric).
        """, valueName: "accuracy|topK|auroc|sens-spec|confusion"))
    var metric: MetricSelection?

    @Option(help: ArgumentHelp("With --metric sens-spec: your operating thresholds, one per output, comma-separated, on the model's output scale (probabilities after a final Sigmoid), instead of the ones the model declares. They are part of the program both parties hash and of the metric the ledger records (a resume reuses them).", valueName: "t1,t2,…"))
    var thresholds: String?

    @Option(help: ArgumentHelp("Run this validation as one part of the pool NAME (with --part): it ends without opening anything; each party keeps its share of the part's count in its ledger until the pool's aggregator opens the pooled metric once (validate-client pool-send, pool-collect, pool-open). Pooling covers accuracy, topK and threshold. NAME: letters, digits, '.', '_', '-'; unique at the vendor (e.g. a study and a date).", valueName: "NAME"))
    var pool: String?

    @Option(help: ArgumentHelp("With --pool: which part this is, I/K (1-based; e.g. 2/7 for the second of seven sites). Every part of a pool gives the same K, model and metric.", valueName: "I/K"))
    var part: String?

    @Option(help: ArgumentHelp("Validate only shard I of K of --dataset (1-based; contiguous, near-equal slices covering the set once), e.g. to run a set as K parallel parts of a pool: --shard 3/4 --pool P --part 3/4.", valueName: "I/K"))
    var shard: String?

    @Option(name: .customLong("dp-epsilon"), help: ArgumentHelp("Open the count with ε-differential privacy (accuracy and topK; also a pool's parts): each party adds its own discrete Laplace noise of scale 1/ε (Canonne–Kamath–Steinke 2020) to its share before the opening, so the opened count is ε-DP even towards the vendor, which knows its own noise. The result is the noisy count (standard deviation about 2/ε images at small ε). With --metric sens-spec: noisy counts TP, TN, P, N per finding (scale 2C/ε, C findings) instead of the exact ratios. ε in (0, 10], at most six decimals; it is part of the program both parties hash.", valueName: "ε"))
    var dpEpsilon: Double?

    @Option(name: .customLong("dp-budget"), help: ArgumentHelp("The total ε this test set may spend over all its differentially private validations (pure-ε composition: the ε add up), kept per dataset in your ledger; a validation that would exceed it is refused before any computation. Default 1.0 (e.g. two validations at ε = 0.5).", valueName: "ε"))
    var dpBudget: Double = 1.0

    @Option(help: "Continue an interrupted validation: its session id (or the first digits history shows). Give the same --dataset; the metric and batch size are those of the interrupted run.")
    var resume: String?

    @Option(name: .customLong("expect-model"), help: "Refuse to run unless the vendor's model commitment is this SHA-256 (hex), e.g. from validate-inspect hash or an earlier session's JSON.")
    var expectModel: String?

    @Option(name: .customLong("expect-vendor"), help: "Refuse to send anything unless the vendor's TLS certificate is exactly this one: its SHA-256 fingerprint (hex, as validate-serve prints it). Without it, any certificate from --ca that names the --connect host is accepted.")
    var expectVendor: String?

    @Option(help: "The SQLite ledger recording every session (default: ~/.local/share/securevalidation/hospital-ledger.sqlite, or under $XDG_DATA_HOME).")
    var ledger: String?

    @Option(help: "Images per batch (more amortises round trips, uses more memory; default 32).")
    var batch: Int?

    @Option(help: "Batches to run at once, each on its own connection (the vendor may allow fewer); 2 keeps both cores of each side busy, 1 turns pipelining off.")
    var lanes: Int = 2

    @Option(help: ArgumentHelp("The oblivious-transfer engine of the comparisons: silent (Ferret silent OT, under one bit per correlation: the default) or iknp (IKNP OT extension, 128 bits per OT). Both sides must give the same; it is part of the program digest.", valueName: "engine"))
    var ot: String?

    @Option(help: "Also write the result as JSON to this file (keys metric, correct, total, accuracy or threshold/passed, seconds, bytes_sent, bytes_received, rounds, ring_bits, scale, …).")
    var json: String?

    @Option(help: ArgumentHelp("After the opening, sign with the vendor one statement of this validation (session id, program digest, both commitments, metric asked and values opened, N, parameters, date, both certificate fingerprints), each party with its TLS key, and write DIR/report.json (the signed statement, both signatures and certificates) and DIR/report.html (a printable rendering). Anyone with the CA checks it: validate-inspect verify-report DIR --ca ca.crt. DIR is created if missing; an existing report in it is refused before connecting. If the parties' statements differ or a signature fails, the result stands but no report is written (exit status 1). Not for pool parts (they open nothing; the pool's aggregator signs the pooled result with validate-client pool-open --report DIR).", valueName: "DIR"))
    var report: String?

    public init() {}

    public func validate() throws {
        if let ot { _ = try parseOTEngine(ot) }
        _ = try parseEndpoint(connect, option: "--connect")
        if let batch, batch < 1 { throw ArgumentParser.ValidationError("--batch must be at least 1") }
        guard (1...8).contains(lanes) else { throw ArgumentParser.ValidationError("--lanes must be between 1 and 8") }
        if let expectModel, expectModel.count != 64 || !expectModel.allSatisfy(\.isHexDigit) {
            throw ArgumentParser.ValidationError("--expect-model must be a SHA-256 in hex (64 characters)")
        }
        if let expectVendor, expectVendor.count != 64 || !expectVendor.allSatisfy(\.isHexDigit) {
            throw ArgumentParser.ValidationError("--expect-vendor must be a SHA-256 certificate fingerprint in hex (64 characters), got '\(expectVendor)'")
        }
        if let dpEpsilon, Metric.dpMicroEpsilon(dpEpsilon) == nil {
            throw ArgumentParser.ValidationError("--dp-epsilon must be in (0, \(Metric.maximumDPEpsilon)] with at most six decimals, got \(dpEpsilon)")
        }
        guard Metric.dpMicroEpsilon(dpBudget) != nil else {
            throw ArgumentParser.ValidationError("--dp-budget must be in (0, \(Metric.maximumDPEpsilon)] with at most six decimals, got \(dpBudget)")
        }
        if let shard { _ = try parseFraction(shard, option: "--shard") }
        if let part {
            guard pool != nil else { throw ArgumentParser.ValidationError("--part goes with --pool NAME") }
            _ = try parseFraction(part, option: "--part")
        }
        if let pool {
            if let reason = PoolPart.invalidPoolName(pool) { throw ArgumentParser.ValidationError("--pool: \(reason)") }
            if part == nil && resume == nil { throw ArgumentParser.ValidationError("--pool needs --part I/K (which part of the pool this run is)") }
        }
        if report != nil && pool != nil {
            throw ArgumentParser.ValidationError("--report: a pool part opens nothing, so there is no statement to sign; leave out --report (or --pool)")
        }
        if let resume, resume.count < 8 || !resume.allSatisfy(\.isHexDigit) {
            throw ArgumentParser.ValidationError("--resume needs a session id in hex (at least its first 8 digits), got '\(resume)'")
        }
    }

    /// What the run asks for: the options given, else (when resuming) the interrupted run's, else
    /// the defaults.
    struct Request {
        var metric: Metric, batch: Int
        /// The dataset commitment and its salt: fresh for a new validation, the first run's when resuming.
        var datasetCommitment: String, salt: CommitmentSalt
        /// --ot, else (when resuming) the interrupted run's engine, else silent.
        var otEngine: OTEngine = .silent
        /// The validation to continue and its first run's row.
        var resume: (validation: String, first: SessionRecord)?
        /// --pool/--part, else (when resuming) the interrupted run's.
        var part: PoolPart?
    }

    /// --pool and --part as a `PoolPart` (nil without --pool).
    func givenPart() throws -> PoolPart? {
        guard let pool, let part else { return nil }
        let (index, parts) = try parseFraction(part, option: "--part")
        return try PoolPart(pool: pool, index: index, parts: parts)
    }

    /// The part a ledger's `pool` column names ("NAME part I/K"), or nil.
    static func recordedPart(_ label: String?) -> PoolPart? {
        guard let label, let range = label.range(of: " part ", options: .backwards),
              let (index, parts) = try? parseFraction(String(label[range.upperBound...]), option: "pool") else { return nil }
        return try? PoolPart(pool: String(label[..<range.lowerBound]), index: index, parts: parts)
    }

    /// Whether `--reveal` asks for what `recorded` opens (resuming).
    static func reveal(_ reveal: RevealSelection, matches recorded: Metric) -> Bool {
        switch reveal {
        case .predictions: recorded.scores == .predictions
        case .aurocAtLeast(let tau, let all): recorded == .aurocAtLeast(tau, allFindings: all)
        case .opening(let opening): recorded.scores == nil && opening == recorded.opening
        }
    }

    /// `--thresholds` as numbers (nil when not given).
    func parsedThresholds() throws -> [Double]? {
        guard let thresholds else { return nil }
        guard case .scores(.sensSpec)? = metric else { throw CLIError("--thresholds applies only to --metric sens-spec") }
        return try thresholds.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let t = Double($0.trimmingCharacters(in: .whitespaces)), t.isFinite else {
                throw CLIError("--thresholds: '\($0)' is not a number")
            }
            return t
        }
    }

    func request(ledger: Ledger, data: any Dataset) throws -> Request {
        guard let resume else {
            let salt = CommitmentSalt.random()
            var chosen: Metric
            if reveal == .predictions {
                guard metric == nil else { throw CLIError("--reveal predictions opens every image's scores; leave out --metric") }
                chosen = Metric(scores: .predictions)
            } else if case .aurocAtLeast(let tau, let all)? = reveal {
                guard metric == nil || metric == .scores(.auroc) else { throw CLIError("--reveal threshold:auroc>=τ goes with --metric auroc (or no --metric)") }
                chosen = .aurocAtLeast(tau, allFindings: all)
            } else if let selected = (metric ?? .correct(.top1)).metric(reveal: reveal?.opening) {
                chosen = selected.scores == .sensSpec ? .sensSpec(thresholds: try parsedThresholds()) : selected
            } else {
                throw CLIError("--reveal applies to accuracy and top-k; a clinical metric (--metric \(metric!)) opens its own values")
            }
            if let dpEpsilon {
                guard let privateMetric = chosen.withDP(epsilon: dpEpsilon) else {
                    throw CLIError("--dp-epsilon applies to an opened count (accuracy, topK) and to sens-spec (noisy counts); not to '\(chosen)' (a threshold bit, AUROC, confusion or predictions: see the README)")
                }
                chosen = privateMetric
            }
            let part = try givenPart()
            if part != nil && !PoolStatistic.canPool(chosen) {
                throw CLIError("--pool: \(PoolStatistic.coverage); '\(chosen)' cannot be pooled yet")
            }
            return Request(metric: chosen, batch: batch ?? 32,
                           datasetCommitment: try Commitment.dataset(data, salt: salt), salt: salt,
                           otEngine: try ot.map(parseOTEngine) ?? .silent, part: part)
        }
        let matches = try ledger.sessionIDs(prefix: resume)
        guard matches.count == 1, let id = matches.first else {
            throw CLIError(matches.isEmpty
                ? "--resume \(resume): no session with this id in the ledger \(ledger.path) (see validate-client history)"
                : "--resume \(resume): \(matches.count) sessions start with these digits; give more of the id")
        }
        // The id may name a resumed run: its rows belong to the validation it resumes.
        var rows = try ledger.sessions(validation: id).filter { $0.party == .hospital }
        let validation = rows.first(where: { $0.sessionID == id })?.resumes ?? id
        if validation != id { rows = try ledger.sessions(validation: validation).filter { $0.party == .hospital } }
        guard let first = rows.first(where: { $0.sessionID == validation }), let asked = first.metricAsked, let recordedBatch = first.batch else {
            throw CLIError("--resume \(resume): the ledger \(ledger.path) does not hold the start of validation \(validation.prefix(16))…")
        }
        if let done = rows.first(where: { $0.outcome == .completed }) {
            throw CLIError("--resume \(resume): validation \(validation.prefix(16))… already completed on \(Timestamp.format(done.endedAt)) (\(done.metricRevealed ?? "")); nothing to resume")
        }
        guard let salt = first.commitmentSalt.flatMap(CommitmentSalt.init(hex:)) else {
            throw CLIError("--resume \(resume): validation \(validation.prefix(16))… was recorded without a commitment salt (by an older version); start a new validation")
        }
        let datasetCommitment = try Commitment.dataset(data, salt: salt)
        if first.datasetCommitment != datasetCommitment {
            throw CLIError("--resume \(resume): --dataset \(dataset) (commitment \(datasetCommitment.prefix(16))…) is not the test set of validation \(validation.prefix(16))… (commitment \((first.datasetCommitment ?? "none").prefix(16))…); give the same dataset")
        }
        // The metric's text form (`Metric`), as the ledger records it.
        guard let recorded = Metric(asked) else {
            throw CLIError("--resume \(resume): the ledger records the metric '\(asked)', which this version does not know")
        }
        if let reveal, !Self.reveal(reveal, matches: recorded) {
            throw CLIError("--resume \(resume): the interrupted run asked for '\(asked)'; leave out --reveal or give the same")
        }
        if let metric, !metric.matches(recorded) {
            throw CLIError("--resume \(resume): the interrupted run asked for '\(asked)'; leave out --metric or give the same")
        }
        if let dpEpsilon, Metric.dpMicroEpsilon(dpEpsilon) != recorded.dpMicroEpsilon {
            throw CLIError("--resume \(resume): the interrupted run asked for '\(asked)'; leave out --dp-epsilon or give the same")
        }
        if thresholds != nil, try parsedThresholds() != recorded.thresholds {
            throw CLIError("--resume \(resume): the interrupted run asked for '\(asked)'; leave out --thresholds or give the same")
        }
        if let batch, batch != recordedBatch {
            throw CLIError("--resume \(resume): the interrupted run used batches of \(recordedBatch); leave out --batch or give the same")
        }
        // The engine column reads "cheetah-he+ENGINE-ot".
        let recordedEngine = OTEngine.allCases.first { first.engine == "cheetah-he+\($0)-ot" } ?? .silent
        if let ot, try parseOTEngine(ot) != recordedEngine {
            throw CLIError("--resume \(resume): the interrupted run used the '\(recordedEngine)' OT engine; leave out --ot or give the same")
        }
        let recordedPart = Self.recordedPart(first.pool)
        if pool != nil, try givenPart() != recordedPart {
            throw CLIError("--resume \(resume): the interrupted run was \(recordedPart.map { "\($0)" } ?? "not part of a pool"); leave out --pool/--part or give the same")
        }
        return Request(metric: recorded, batch: recordedBatch,
                       datasetCommitment: datasetCommitment, salt: salt, otEngine: recordedEngine, resume: (validation, first),
                       part: recordedPart)
    }

    public func run() throws {
        // Checked before anything else, so that a finished validation never waits on a report that cannot be written.
        if let report { try SignedReport.prepare(directory: report) }
        if reveal == .predictions {
            guard let output else { throw CLIError("--reveal predictions needs --output FILE.npy to write them to") }
            if FileManager.default.fileExists(atPath: output) && !force {
                throw CLIError("--output \(output) exists; give --force to overwrite it, or another file")
            }
        } else if output != nil {
            throw CLIError("--output applies to --reveal predictions")
        }
        _ = try parsedThresholds()  // --thresholds only with --metric sens-spec, and numbers
        var data = try openDataset(path: dataset, labelColumns: labelColumns)
        if let shard {
            let (index, shards) = try parseFraction(shard, option: "--shard")
            data = try Datasets.shard(data, index: index, of: shards)
        }
        let ledgerPath = try ledger ?? Ledger.defaultPath(party: .hospital)
        let book = try Ledger(path: ledgerPath)
        let asked = try request(ledger: book, data: data)
        if let resume = asked.resume, let expectModel, expectModel.lowercased() != resume.first.modelCommitment {
            throw CLIError("--expect-model \(expectModel.prefix(16))… differs from the model of validation \(resume.validation.prefix(16))… (\((resume.first.modelCommitment ?? "none").prefix(16))…)")
        }
        let client = try Validation.ValidationClient(dataset: data, metric: asked.metric, batch: asked.batch,
                                                     expectedModel: expectModel ?? asked.resume?.first.modelCommitment,
                                                     datasetCommitment: asked.datasetCommitment, lanes: lanes,
                                                     otEngine: asked.otEngine, part: asked.part)
        if let resume = asked.resume {
            note("validate-client: resuming validation \(resume.validation) (\(resume.first.metricAsked ?? ""), \(resume.first.images) images in batches of \(asked.batch))")
        }
        let (host, port) = try parseEndpoint(connect, option: "--connect")
        let recorder = SessionRecorder(ledger: book, party: .hospital, peerFingerprint: nil, peerName: nil)
        recorder.record.commitmentSalt = asked.salt.hex
        recorder.ownFingerprint = try tls.identity().certificateFingerprint?.lowercased()
        // The privacy budget, per dataset (its unsalted digest, kept in this ledger only): checked
        // here, before any connection, and spent when the computation starts.
        if let micro = asked.metric.dpMicroEpsilon, let budget = Metric.dpMicroEpsilon(dpBudget) {
            let digest = try Commitment.dataset(data, salt: CommitmentSalt(hex: String(repeating: "0", count: 64))!)
            recorder.privacy = (digest, micro, budget)
            let spent = try book.privacySpent(datasetDigest: digest)
            if asked.resume == nil && spent + micro > budget {
                let error = LedgerError.privacyBudgetExceeded(path: book.path, dataset: digest, spentMicro: spent, askedMicro: micro, budgetMicro: budget)
                recorder.record.metricAsked = asked.metric.description
                recorder.record.datasetCommitment = asked.datasetCommitment
                recorder.record.images = data.count
                recorder.failed(ValidationError.privacyBudget(error.errorDescription ?? "\(error)"), statistics: nil)
                throw error
            }
            note("validate-client: ε = \(Double(micro) / 1e6) of this test set's privacy budget \(Double(budget) / 1e6) (ε spent so far: \(Double(spent) / 1e6))")
        }
        var channel: TLSChannel?
        var finished: ValidationResult?
        do {
            let connected = try TLSChannel.connect(host: host, port: port, identity: tls.identity(), timeout: tls.timeout,
                                                   expectedFingerprint: expectVendor)
            channel = connected
            recorder.record.peerFingerprint = connected.peerCertificateFingerprint.lowercased()
            recorder.record.peerName = connected.peerCommonName
            note("validate-client: connected to \(connected.peerCommonName ?? "?") (certificate \(connected.peerCertificateFingerprint.prefix(16))…, \(connected.cipherName)); ledger \(ledgerPath)")
            let progress = ProgressReporter("validate-client", unit: "images")
            // An image folder is decoded and preprocessed as the vendor's model declares, every image
            // checked before anything is computed: that can take minutes for full-size radiographs.
            let checking = ProgressReporter("validate-client: checking the images", unit: "images")
            let checkingProgress: ((Int, Int) -> Void)? = data is ImageFolderDataset ? { checking.update(done: $0, total: $1) } : nil
            let vendorFingerprint = connected.peerCertificateFingerprint
            let connectLane = { [tls] () throws -> any Channel in
                let lane = try TLSChannel.connect(host: host, port: port, identity: tls.identity(), timeout: tls.timeout,
                                                  expectedFingerprint: vendorFingerprint)
                return lane
            }
            let announced = { (model: SessionMessage.ModelAnnouncement, program: MPCProgram) in
                let outputs = program.task == .multiLabel ? "\(model.graph.classCount) findings (multi-label)" : "\(model.graph.classCount) classes"
                note("validate-client: model \(model.modelName) (commitment \(model.modelCommitment.prefix(16))…): input \(Shape.describe(model.graph.inputShape)), \(outputs), \(model.graph.nodes.count) ops; fixed point ℓ = \(program.ringBits), s = \(program.scale); \(data.count) images")
                if data is ImageFolderDataset, let preprocessing = program.preprocessing {
                    note("validate-client: the images were preprocessed as the model declares: \(preprocessing.steps.joined(separator: "; "))")
                }
            }
            // The statement is signed with this party's TLS key and checked with the certificate the vendor presented.
            let signer = try report.map { _ in try ReportSigner(identity: tls.identity(), peerCertificatePEM: connected.peerCertificatePEM) }
            var result = try client.run(channel: connected, journal: recorder, resume: asked.resume?.validation, connectLane: connectLane,
                                        report: signer, announced: announced, progress: progress.update,
                                        checking: checkingProgress)
            if let predictions = result.predictions, let output {
                let scale = Double(sign: .plus, exponent: -result.scale, significand: 1)
                try NPYWriter.write(float32: predictions.map { Float(Double($0) * scale) },
                                    shape: [result.total, predictions.count / max(result.total, 1)], to: output)
                result.predictionsFile = output
            }
            try recorder.completed(result)
            connected.close()
            print(result.summary())
            if let json { try writeJSON(result, to: json) }
            finished = result
        } catch {
            recorder.failed(error, statistics: channel?.statistics)
            channel?.close()
            if let validation = recorder.resumableValidation {
                note("validate-client: to continue from the last batch both parties completed, run the same command with --resume \(validation)")
            }
            throw error
        }
        if let report, let finished { try writeSignedReport(of: finished, to: report, ca: tls.ca) }
    }
}

/// The hospital's end of `--report DIR`: writes the signed report of a completed validation (or a
/// pool's opening), or explains why there is none (the result was printed already and stands).
func writeSignedReport(of result: ValidationResult, to directory: String, ca: String) throws {
    guard let signed = result.report else {
        throw CLIError("the validation completed and its result stands, but no signed report was written to \(directory): \(result.reportFailure ?? "the vendor did not take part in the report")")
    }
    let paths = try signed.write(to: directory)
    print("report: signed by both parties (\(signed.vendor.algorithm), \(String(format: "%.0f", (result.reportSeconds ?? 0) * 1000)) ms to sign and exchange): \(paths.json), \(paths.html)")
    note("validate-client: check the report with validate-inspect verify-report \(directory) --ca \(ca)")
}

import Commitments
import Compiler
import Engine
import HEBackend
import Foundation
import IR
import LinearHE
import OT
import Protocols
import RingArithmetic
import Transport

/// The vendor's side of a validation: holds the model, publishes its weight-stripped IR, checks the
/// hospital's request against its policy, and runs the secure program.
///
/// Immutable after `init` (safe to share between threads; each `serve` call uses its own channel).
///
/// Contract: the vendor learns the agreed metric (the correct count, or only the threshold bit) and
/// the number of images; never an input, a label, a prediction or a per-image result.
public final class ValidationServer: @unchecked Sendable {
    /// What the vendor allows.
    public struct Policy: Sendable {
        public var minimumImages: Int
        public var allowedMetrics: Set<MetricPermission>
        /// The most batches run at once for one session (each lane: one more connection, one more
        /// thread, one batch's memory).
        public var maximumLanes: Int

        /// `allowedMetrics`: `.accuracy` (open the top-1 count), `.threshold` (open only count ≥ τ·N),
        /// `.topK(5)` (count top-5 hits, either opening).
        public init(minimumImages: Int = 100, allowedMetrics: Set<MetricPermission> = [.accuracy, .threshold], maximumLanes: Int = 2) {
            self.minimumImages = minimumImages
            self.allowedMetrics = allowedMetrics
            self.maximumLanes = max(1, maximumLanes)
        }

        /// Whether `metric` is allowed: top-1 needs its opening itself (`.accuracy` or `.threshold`);
        /// top-k (k > 1) needs `.topK(k)`, which covers opening its count and, revealing less, only
        /// its threshold bit.
        public func allows(_ metric: Metric) -> Bool { allowedMetrics.contains(metric.permission) }

        /// The allowed metrics in their text form, sorted.
        public var allowedNames: [String] { allowedMetrics.map(\.description).sorted() }
    }

    public let modelName: String
    public let graph: Graph
    /// The compiled program (default metric stage); a session runs it with the metric asked for.
    public var program: MPCProgram { prepared.program }
    /// The program, its weights and their HE kernels, prepared once for every session of this server.
    public let prepared: PreparedModel
    public let policy: Policy
    /// The model commitment (IR and fixed-point weights).
    public let modelCommitment: String
    let weightBits: [String: Int]

    /// Compiles the model's secure program with `format` (chosen beforehand, e.g. from the vendor's
    /// calibration data). `modelSalt` salts the model commitment: the CLI keeps one per model in the
    /// vendor's ledger (so the commitment is the same in every session); by default a fresh one.
    /// `otEngine` is the OT engine the nonlinear protocols run on (the hospital must choose the same).
    /// `kernelBudgetBytes` bounds the HE kernels kept prepared between uses (`PreparedModel`).
    public convenience init(modelName: String, graph: Graph, format: FixedPointFormat, formatReason: String, policy: Policy,
                            modelSalt: CommitmentSalt = .random(), otEngine: OTEngine = .silent,
                            kernelBudgetBytes: Int = 2 << 30) throws {
        try self.init(modelName: modelName, graph: graph, format: format, formatReason: formatReason, policy: policy,
                      saltForModel: { _ in modelSalt }, otEngine: otEngine, kernelBudgetBytes: kernelBudgetBytes)
    }

    /// As above, with the model's salt looked up by its unsalted digest (`Commitment.modelDigest`):
    /// the CLI keeps one salt per model in its ledger under that key.
    public init(modelName: String, graph: Graph, format: FixedPointFormat, formatReason: String, policy: Policy,
                saltForModel: (_ modelDigest: String) throws -> CommitmentSalt, otEngine: OTEngine = .silent,
                kernelBudgetBytes: Int = 2 << 30) throws {
        self.modelName = modelName
        self.graph = graph
        self.policy = policy
        weightBits = ProgramCompiler.weightBits(of: graph, format: format)
        let program = try ProgramCompiler.compile(graph, format: format, formatReason: formatReason, weightBits: weightBits,
                                                  otEngine: otEngine)
        prepared = PreparedModel(program: program, weights: try WeightStore(program: program, graph: graph),
                                 kernelBudgetBytes: kernelBudgetBytes)
        let salt = try saltForModel(Commitment.modelDigest(program: prepared.program, weights: prepared.weights))
        modelCommitment = Commitment.model(program: prepared.program, weights: prepared.weights, salt: salt)
    }

    /// Runs one session on a connected channel. Throws `ValidationError.refused` after telling the
    /// hospital why, when the request breaks the policy, or when `refuseAdmission` (the caller's
    /// peer policy: certificate allow-list, daily cap) gives a reason — then before the model is shown.
    /// `journal` records the session's start (before any secure computation) and keeps this party's
    /// checkpoint after every batch; without one, a request to resume is refused. `acceptLane`
    /// returns the next connection from the same hospital whose handshake names the given lane
    /// context (the CLI's `SessionRouter` routes by it and checks the certificate); with it,
    /// up to `policy.maximumLanes` batches run at once, each on its own connection, whose first
    /// message must name this session.
    ///
    /// `peer` is the hospital's certificate fingerprint (the CLI passes the TLS peer's): a pool part
    /// records it as the part's site, and a pool may be opened only by one of its sites.
    ///
    /// `report` signs the end-of-session statement when the hospital asks for a signed report
    /// (`ReportExchange`; without it such a request is answered with a refusal to sign): the result
    /// then carries the signed report, or why none was made (the metric stands either way).
    ///
    /// `checking(checked, images)` follows the hospital's check of its test set, from the
    /// `checking` messages it sends while the vendor waits for its request (each must arrive within
    /// the channel's timeout, like any message); `progress(done, count)` follows the images computed.
    public func serve(channel: any Channel, peer: String? = nil, refuseAdmission: String? = nil, journal: (any SessionJournal)? = nil,
                      acceptLane: ((_ laneContext: SessionContext) throws -> any Channel)? = nil, report: ReportSigner? = nil,
                      progress: ((Int, Int) -> Void)? = nil,
                      checking: ((_ checked: Int, _ images: Int) -> Void)? = nil) throws -> ValidationResult {
        let start = Date()
        let handshake = try Handshake.run(on: channel, role: .vendor)
        try SessionMessage.send(.admission(.init(admitted: refuseAdmission == nil, reason: refuseAdmission ?? "admitted")), on: channel)
        if let refuseAdmission { throw ValidationError.refused(refuseAdmission) }
        try SessionMessage.send(.announcement(.init(
            modelName: modelName, graph: graph.strippingWeights(), weightBits: weightBits,
            ringBits: program.ringBits, scale: program.scale, formatReason: program.formatReason,
            allowedMetrics: policy.allowedNames, minimumImages: policy.minimumImages,
            modelCommitment: modelCommitment, otEngine: program.otEngine.rawValue)), on: channel)
        let request: SessionMessage.ValidationRequest
        switch try SessionMessage.receiveRequest(on: channel, checking: checking) {
        case .request(let r): request = r
        case .abort(let abort): throw ValidationError.aborted("the hospital ended the session: \(abort.reason)")
        default: throw TransportError.protocolViolation("the peer's validation request is not valid")
        }
        if let opening = request.poolOpening {
            return try servePoolOpening(opening, request: request, channel: channel, handshake: handshake, peer: peer,
                                        journal: journal, report: report, start: start)
        }
        // The program with the metric stage the hospital asks for: what both parties must have compiled.
        var refusal: String?
        var program = self.program.with(metric: request.metric)
        do {
            program = try self.program.with(metric: request.metric, declaredThresholds: request.metric.thresholds ?? graph.declarations?.thresholds)
        } catch let error as CompilerError {
            if case .unsupportedMetric(let reason) = error { refusal = reason } else { throw error }
        }
        if refusal != nil {
        } else if request.programDigest != program.digestHex {
            refusal = "the hospital compiled a different secure program (digest \(request.programDigest.prefix(16))…, ours \(program.digestHex.prefix(16))…)"
        } else if !policy.allows(request.metric) {
            refusal = "metric '\(request.metric)' is not allowed by this vendor (allowed: \(policy.allowedNames.joined(separator: ", ")))"
        } else if request.metric.correct.k > program.classes {
            refusal = "\(request.metric.correct) needs at least \(request.metric.correct.k) classes (the model has \(program.classes))"
        } else if request.part != nil && request.report == true {
            refusal = "a pool part opens nothing, so there is no statement to sign: ask for the report without a pool part"
        } else if let part = request.part, let reason = try partRefusal(part, program: program, request: request, journal: journal) {
            refusal = reason
        } else if request.part == nil && request.images < policy.minimumImages {
            refusal = "the test set has \(request.images) images; this vendor requires at least \(policy.minimumImages)"
        } else if FloodingSecurity.statisticalBits(images: request.images, coefficientsPerImage: program.linearOutputsPerImage) == nil {
            refusal = "a session of \(request.images) images would return more than 2^60 HE coefficients, beyond what the noise flooding covers at 40-bit statistical security; split the test set"
        } else if request.batch < 1 || request.images < 1 {
            refusal = "invalid request: \(request.images) images in batches of \(request.batch)"
        }
        let sessionID = Commitment.boundSessionID(handshake: handshake.sessionIDHex, model: modelCommitment,
                                                  dataset: request.datasetCommitment, program: program.digestHex)
        var session = SessionStart(sessionID: sessionID, modelCommitment: modelCommitment, datasetCommitment: request.datasetCommitment,
                                   programDigest: program.digestHex, metricAsked: request.metric.description, images: request.images,
                                   batch: request.batch, ringBits: program.ringBits, scale: program.scale,
                                   resumes: request.resume?.validation)
        session.otEngine = program.otEngine
        session.part = request.part
        // A resume continues from the last batch both parties hold a checkpoint after.
        var resumeAfter: Int?
        var restored: ArithmeticShare?
        if refusal == nil, let resume = request.resume {
            if let journal {
                refusal = try journal.refusalToResume(resume.validation, as: session)
                if refusal == nil {
                    let ours = try journal.checkpoints(of: resume.validation)
                    resumeAfter = commonCheckpoint(ours.keys, resume.checkpoints)
                    if let k = resumeAfter {
                        restored = CheckpointShare.decode(ours[k]!, bits: program.ringBits, count: SecureRun.checkpointValues(
                            program: program, afterBatch: k, batch: request.batch, images: request.images))
                        if restored == nil { refusal = "this vendor's checkpoint after batch \(k + 1) of session \(resume.validation.prefix(16))… is damaged" }
                    }
                }
            } else {
                refusal = "this vendor keeps no ledger, so it cannot resume a validation"
            }
        }
        let remainingBatches = (request.images + request.batch - 1) / max(request.batch, 1) - (resumeAfter.map { $0 + 1 } ?? 0)
        let lanes = acceptLane == nil ? 1 : max(1, min(request.lanes ?? 1, policy.maximumLanes, remainingBatches))
        // Recorded before it is accepted: no computation without its ledger row.
        var recordFailure: Error?
        if refusal == nil {
            do { try journal?.started(session) } catch {
                recordFailure = error
                refusal = "the vendor could not record the session in its ledger"
            }
        }
        try SessionMessage.send(.decision(.init(accepted: refusal == nil, reason: refusal ?? "accepted",
                                                resumeAfterBatch: resumeAfter, lanes: lanes)), on: channel)
        if let recordFailure { throw recordFailure }
        if let refusal { throw ValidationError.refused(refusal) }
        var channels: [any Channel] = [channel]
        defer { for extra in channels.dropFirst() { extra.close() } }
        let laneContext = program.laneContext(sessionID: sessionID)
        for lane in 1..<lanes {
            let joined = try acceptLane!(laneContext)
            channels.append(joined)
            // Each lane runs its own handshake, with the agreed program's digest as its context.
            _ = try Handshake.run(on: joined, role: .vendor, context: laneContext)
            let join = try SessionMessage.receiveLaneJoin(on: joined)
            guard join.sessionID == sessionID, join.lane == lane else {
                throw TransportError.protocolViolation("a connection joined as lane \(join.lane) of session \(join.sessionID.prefix(16))…, expected lane \(lane) of \(sessionID.prefix(16))…")
            }
        }
        let run = try SecureRun(party: .vendor, program: program, model: prepared, channels: channels,
                                images: request.images, batch: request.batch)
        let validation = session.validation
        let count = try run.accumulate(after: resumeAfter, restored: restored, batchInputs: { _ in (nil, nil) },
                                         checkpoint: journal.map { journal in { try journal.saveCheckpoint(of: validation, batchIndex: $0, share: $1) } },
                                         progress: progress)
        if let part = request.part, let journal {
            let statistic = try run.partStatistic(count, labels: nil)
            let (result, share) = try run.completePart(statistic, part: part, request: request, start: start, model: modelName,
                                                       session: session, resumedAfterBatch: resumeAfter)
            try journal.partCompleted(PoolPartRecord(
                part: part, validation: validation, programDigest: program.digestHex, modelCommitment: modelCommitment,
                datasetCommitment: request.datasetCommitment, metric: request.metric.description, images: request.images,
                share: CheckpointShare.encode(share), site: peer))
            try journal.finished(validation)
            return result
        }
        var result = try run.reveal(count, request: request, start: start, model: modelName, session: session,
                                    resumedAfterBatch: resumeAfter)
        try journal?.finished(validation)
        if request.report == true {
            let opened = result
            ReportExchange.attach(to: &result) {
                try ReportExchange.vendor(on: channel, signer: report, session: session, result: opened, modelName: modelName)
            }
        }
        return result
    }

    /// Why this vendor will not run `part` (before any computation), or nil: pooling covers the
    /// count metrics; the vendor must keep a ledger; a pool already opened takes no more parts; a
    /// part index completes once; every part of a pool runs the same program on the same model.
    func partRefusal(_ part: PoolPart, program: MPCProgram, request: SessionMessage.ValidationRequest,
                     journal: (any SessionJournal)?) throws -> String? {
        if !PoolStatistic.canPool(program.metric) {
            return "\(PoolStatistic.coverage); '\(request.metric)' cannot be pooled yet"
        }
        guard let journal else { return "this vendor keeps no ledger, so it cannot keep a pool part" }
        if let opened = try journal.poolOpened(part.pool) {
            return "pool \(part.pool) was already opened (session \(opened.prefix(16))…); choose another pool name"
        }
        let held = try journal.poolParts(part.pool)
        if let done = held.first(where: { $0.part.index == part.index }) {
            return "part \(part.index + 1) of pool \(part.pool) was already completed (session \(done.validation.prefix(16))…); choose another pool name or part"
        }
        if let other = held.first {
            if other.part.parts != part.parts { return "pool \(part.pool) has \(other.part.parts) parts, not \(part.parts)" }
            if other.programDigest != program.digestHex || other.modelCommitment != modelCommitment {
                return "pool \(part.pool)'s other parts ran another program or model (\(other.metric)); every part of a pool runs the same"
            }
        }
        return nil
    }
}

/// What both parties know once a computation is agreed, before it starts (recorded in the ledger).
public struct SessionStart: Sendable, Equatable {
    public var sessionID: String
    public var modelCommitment: String
    public var datasetCommitment: String
    public var programDigest: String
    /// "accuracy" or "threshold:τ".
    public var metricAsked: String
    public var images: Int
    public var batch: Int
    public var ringBits: Int
    public var scale: Int
    /// For a resumed run: the validation it continues (the session id of its first run).
    public var resumes: String?
    /// The OT engine of the program.
    public var otEngine: OTEngine = .silent
    /// Set when the session is one part of a pool (it opens nothing).
    public var part: PoolPart?
    /// Set when the session opens a pool's metric over its parts: the pool's name.
    public var openedPool: String?

    /// The validation this session belongs to: its own id, or the one it resumes.
    public var validation: String { resumes ?? sessionID }

    public init(sessionID: String, modelCommitment: String, datasetCommitment: String, programDigest: String, metricAsked: String,
                images: Int, batch: Int, ringBits: Int, scale: Int, resumes: String? = nil) {
        self.sessionID = sessionID
        self.modelCommitment = modelCommitment
        self.datasetCommitment = datasetCommitment
        self.programDigest = programDigest
        self.metricAsked = metricAsked
        self.images = images
        self.batch = batch
        self.ringBits = ringBits
        self.scale = scale
        self.resumes = resumes
    }
}

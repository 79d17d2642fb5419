import Commitments
import Compiler
import Datasets
import Foundation
import IR
import Protocols
import Reference
import RingArithmetic
import Transport

/// The hospital's side of a validation: fetches the vendor's public model, checks its dataset
/// against it before any secure computation, compiles the same program and runs it.
///
/// Immutable after `init`.
///
/// Contract: the hospital learns the agreed metric and the model's architecture (not its weights);
/// its inputs and labels never leave it except as shares and encryptions.
public final class ValidationClient: @unchecked Sendable {
    public let dataset: any Dataset
    /// What counts as correct and what is opened.
    public let metric: Metric
    public let batch: Int
    /// The most batches to run at once, each on its own connection (when the caller can open them).
    public let lanes: Int
    /// When set, the model commitment the vendor must announce (else the session is ended before
    /// any secure computation).
    public let expectedModel: String?
    /// The dataset commitment, computed once.
    public let datasetCommitment: String
    /// The OT engine this hospital runs; the vendor must announce the same.
    public let otEngine: OTEngine
    /// Set when this validation is one part of a pool: it opens nothing, and the journal keeps this
    /// hospital's share of the part's count (`PoolPartRecord`) for the pool's opening.
    public let part: PoolPart?
    /// Seconds between the `checking` messages sent while the whole test set is checked, before the
    /// request (`CheckingBeacon`); nil sends none.
    public let checkingInterval: Double?

    /// `metric` is what counts as correct and what is opened (the vendor must allow it).
    /// `datasetCommitment`, when the caller computed it already, must be
    /// `Commitment.dataset(dataset, salt:)` with a salt the caller keeps (the CLI: a fresh one per
    /// validation, in the hospital's ledger); by default a fresh salt nobody keeps.
    public init(dataset: any Dataset, metric: Metric = .accuracy, batch: Int, expectedModel: String? = nil,
                datasetCommitment: String? = nil, lanes: Int = 2, otEngine: OTEngine = .silent, part: PoolPart? = nil,
                checkingInterval: Double? = SessionMessage.CheckingProgress.interval) throws {
        self.dataset = dataset
        self.metric = metric
        self.batch = batch
        self.lanes = max(1, lanes)
        self.expectedModel = expectedModel
        self.datasetCommitment = try datasetCommitment ?? Commitment.dataset(dataset, salt: .random())
        self.otEngine = otEngine
        self.part = part
        self.checkingInterval = checkingInterval
    }

    /// Runs one validation on a connected channel. `announced` is called with the public model once
    /// it arrives (for the user's information). `journal` records the session's start and keeps this
    /// party's checkpoint after every batch. `resume` names an interrupted validation (the session id
    /// of its first run) to continue from the last batch both parties completed; it needs a journal.
    /// `connectLane` opens one more connection to the same vendor; with it, up to `lanes` batches
    /// run at once (as many as the vendor allows), each on its own connection. With `report` the
    /// hospital asks for a statement both parties sign after the opening (`ReportExchange`): the
    /// result then carries the signed report, or why none was made (the metric stands either way).
    /// `checking(done, count)` follows the check of the whole test set against the announced model,
    /// before anything is computed (an image folder is decoded and preprocessed there);
    /// `progress(done, count)` follows the images computed.
    public func run(channel: any Channel, journal: (any SessionJournal)? = nil, resume: String? = nil,
                    connectLane: (() throws -> any Channel)? = nil, report: ReportSigner? = nil,
                    announced: ((SessionMessage.ModelAnnouncement, MPCProgram) -> Void)? = nil,
                    progress: ((Int, Int) -> Void)? = nil, checking: ((Int, Int) -> Void)? = nil) throws -> ValidationResult {
        let start = Date()
        let (handshake, model) = try Self.meetVendor(on: channel)
        // Checks before any secure computation starts; a failure ends the session with the reason.
        // The vendor is told only the kind of problem: the details (file names, rows, values of the
        // test set, paths of the hospital's ledger) stay with the hospital.
        func abort(_ error: ValidationError) throws -> Never {
            let reason: String
            switch error {
            case .datasetMismatch: reason = "the hospital's test set does not fit the model (details stay with the hospital)"
            case .resumeRefused: reason = "the hospital cannot resume this validation (details stay with the hospital)"
            default: reason = error.description
            }
            try? SessionMessage.send(.abort(.init(reason: reason)), on: channel)
            throw error
        }
        if model.otEngine != otEngine.rawValue {
            try abort(.aborted("the vendor runs the '\(model.otEngine)' OT engine and this hospital '\(otEngine)': both sides must give the same --ot"))
        }
        if let expectedModel, expectedModel.lowercased() != model.modelCommitment {
            try abort(.unexpectedModel(expected: expectedModel, announced: model.modelCommitment))
        }
        let format = try FixedPointFormat(ringBits: model.ringBits, scale: model.scale)
        let dataset: any Dataset
        do {
            // An image folder becomes the model's inputs by the vendor's declared preprocessing
            // (public, part of the program); any other set is taken as preprocessed already.
            dataset = try self.dataset.preparing(for: model.graph)
        } catch {
            try abort(.datasetMismatch((error as? LocalizedError)?.errorDescription ?? "\(error)"))
        }
        // The vendor waits for the request at most its timeout per message: a long check (an image
        // folder of thousands of radiographs) tells it, every `checkingInterval`, that it is moving.
        let beacon = CheckingBeacon(channel: channel, interval: checkingInterval)
        do {
            // Every value is checked against the announced (ℓ, s) here, for the whole set: an input
            // the encoder cannot hold would otherwise stop the session at the batch holding it and
            // tell the vendor where it is.
            try dataset.validate(inputShape: model.graph.inputShape, classCount: model.graph.classCount,
                                 labels: model.graph.task == .multiLabel ? .findings : .classIndex, range: format.featureRange,
                                 progress: { done, count in
                                     checking?(done, count)
                                     try beacon.update(checked: done, of: count)
                                 })
        } catch let error as TransportError {
            throw error
        } catch {
            try abort(.datasetMismatch("\((error as? LocalizedError)?.errorDescription ?? "\(error)") (model \(model.modelName): input \(Shape.describe(model.graph.inputShape)), \(model.graph.classCount) \(model.graph.task == .multiLabel ? "findings" : "classes"))"))
        }
        if part != nil && !PoolStatistic.canPool(metric) {
            try abort(.unsupportedMetric("'\(metric)' in a pool (\(PoolStatistic.coverage))"))
        }
        if part != nil && report != nil {
            try abort(.aborted("a pool part opens nothing, so there is no statement to sign: ask for the report without --pool"))
        }
        if metric.correct.k > model.graph.classCount {
            try abort(.unsupportedMetric("\(metric.correct) (the model has only \(model.graph.classCount) classes)"))
        }
        let program: MPCProgram
        do {
            program = try ProgramCompiler.compile(model.graph, format: format, formatReason: model.formatReason, weightBits: model.weightBits,
                                                  otEngine: otEngine, metric: metric)
        } catch let error as CompilerError {
            if case .unsupportedMetric(let reason) = error { try abort(.unsupportedMetric(reason)) }
            throw error
        }
        announced?(model, program)
        var request = SessionMessage.ValidationRequest(programDigest: program.digestHex, metric: metric,
                                                       images: dataset.count, batch: min(batch, dataset.count),
                                                       datasetCommitment: datasetCommitment)
        request.lanes = connectLane == nil ? 1 : lanes
        request.part = part
        request.report = report == nil ? nil : true
        let sessionID = Commitment.boundSessionID(handshake: handshake.sessionIDHex, model: model.modelCommitment,
                                                  dataset: datasetCommitment, program: program.digestHex)
        var session = SessionStart(sessionID: sessionID, modelCommitment: model.modelCommitment, datasetCommitment: datasetCommitment,
                                   programDigest: program.digestHex, metricAsked: metric.description, images: request.images,
                                   batch: request.batch, ringBits: program.ringBits, scale: program.scale, resumes: resume)
        session.otEngine = program.otEngine
        session.part = part
        var ours: [Int: [UInt8]] = [:]
        if let resume {
            guard let journal else { try abort(.resumeRefused("this hospital keeps no ledger to resume from")) }
            if let reason = try journal.refusalToResume(resume, as: session) { try abort(.resumeRefused(reason)) }
            ours = try journal.checkpoints(of: resume)
            request.resume = SessionMessage.ResumeOffer(validation: resume, checkpoints: ours.keys.sorted())
        }
        try SessionMessage.send(.request(request), on: channel)
        let decision = try SessionMessage.receiveDecision(on: channel)
        guard decision.accepted else { throw ValidationError.refused(decision.reason) }
        var restored: ArithmeticShare?
        if let k = decision.resumeAfterBatch {
            guard resume != nil, let bytes = ours[k] else {
                throw TransportError.protocolViolation("the vendor resumes after batch \(k + 1), for which this hospital offered no checkpoint")
            }
            let values = SecureRun.checkpointValues(program: program, afterBatch: k, batch: request.batch, images: request.images)
            guard let share = CheckpointShare.decode(bytes, bits: program.ringBits, count: values) else {
                throw ValidationError.resumeRefused("this hospital's checkpoint after batch \(k + 1) of session \(session.validation.prefix(16))… is damaged")
            }
            restored = share
        }
        try journal?.started(session)

        var channels: [any Channel] = [channel]
        defer { for extra in channels.dropFirst() { extra.close() } }
        let lanes = decision.lanes ?? 1
        guard lanes == 1 || (connectLane != nil && lanes <= self.lanes) else {
            throw TransportError.protocolViolation("the vendor wants \(lanes) lanes; this hospital offered \(request.lanes ?? 1)")
        }
        for lane in 1..<lanes {
            let joined = try connectLane!()
            channels.append(joined)
            // Each lane runs its own handshake, with the agreed program's digest as its context.
            _ = try Handshake.run(on: joined, role: .hospital, context: program.laneContext(sessionID: sessionID))
            try SessionMessage.send(.laneJoin(.init(sessionID: sessionID, lane: lane)), on: joined)
        }
        let run = try SecureRun(party: .hospital, program: program, model: nil, channels: channels,
                                images: dataset.count, batch: batch)
        let validation = session.validation
        let statistic = try run.accumulate(after: decision.resumeAfterBatch, restored: restored, batchInputs: { range in
            let data = try dataset.batch(range)
            return (data.features, data.labels)
        }, checkpoint: journal.map { journal in { try journal.saveCheckpoint(of: validation, batchIndex: $0, share: $1) } },
           progress: progress)
        if let part {
            let counts = try run.partStatistic(statistic, labels: { try self.metricLabels(program, dataset: dataset) })
            let (result, share) = try run.completePart(counts, part: part, request: request, start: start, model: model.modelName,
                                                       session: session, resumedAfterBatch: decision.resumeAfterBatch)
            guard let journal else { throw ValidationError.invalidPool("a pool part needs a ledger to keep its share in") }
            try journal.partCompleted(PoolPartRecord(
                part: part, validation: validation, programDigest: program.digestHex, modelCommitment: model.modelCommitment,
                datasetCommitment: datasetCommitment, metric: metric.description, images: request.images,
                share: CheckpointShare.encode(share)))
            try journal.finished(validation)
            return result
        }
        var result = try run.reveal(statistic, labels: { try self.metricLabels(program, dataset: dataset) }, request: request, start: start,
                                    model: model.modelName, session: session, resumedAfterBatch: decision.resumeAfterBatch)
        try journal?.finished(validation)
        if let report {
            let opened = result
            ReportExchange.attach(to: &result) {
                try ReportExchange.hospital(on: channel, signer: report, session: session, result: opened, modelName: model.modelName)
            }
        }
        return result
    }

    /// The start of every session on the hospital's side: the application handshake, the vendor's
    /// admission, and its public model (refused if it carries weights).
    static func meetVendor(on channel: any Channel) throws -> (HandshakeResult, SessionMessage.ModelAnnouncement) {
        let handshake = try Handshake.run(on: channel, role: .hospital)
        let admission = try SessionMessage.receiveAdmission(on: channel)
        guard admission.admitted else { throw ValidationError.refused(admission.reason) }
        let model = try SessionMessage.receiveAnnouncement(on: channel)
        guard model.graph.isStripped else {
            throw TransportError.protocolViolation("the vendor's public model carries weight values")
        }
        return (handshake, model)
    }
}

extension ValidationClient {
    /// The labels a clinical metric stage needs, read from the dataset: one class per image for
    /// `confusion`; otherwise per finding, row-major (a single-label set one-hot, one-vs-rest).
    func metricLabels(_ program: MPCProgram, dataset: any Dataset) throws -> [Int] {
        if program.metric.scores == .predictions { return [] }
        var labels: [Int] = []
        labels.reserveCapacity(dataset.count * program.classes)
        var start = 0
        while start < dataset.count {
            let range = start..<min(start + 4096, dataset.count)
            let rows = try dataset.labels(range)  // the labels only: the features are not read again
            if program.metric.scores == .confusion || program.task == .multiLabel {
                labels += rows
            } else {
                labels += ClinicalMetrics.findingLabels(rows, task: .classIndex, findings: program.classes)
            }
            start = range.upperBound
        }
        return labels
    }
}

extension FixedPointFormat {
    /// The inputs this format encodes: round(x·2^s) within the signed ℓ-bit range.
    public var featureRange: FeatureRange {
        let format = self
        let limit = Double(sign: .plus, exponent: ringBits - 1 - scale, significand: 1)
        return FeatureRange(description: "the fixed-point range the vendor announced (ℓ = \(ringBits), s = \(scale): |x| < \(limit))") {
            format.encode(Double($0)) != nil
        }
    }
}

import Commitments
import Compiler
import Engine
import Foundation
import OT
import Protocols
import RingArithmetic
import Transport

// The final session of a pooled validation: the pool's aggregator (a hospital holding every part's
// hospital share: its own, and those the sites sent it) and the vendor (holding every part's vendor
// share) each add their shares locally, then open the agreed metric of the sum, and only it. No
// model runs; the session is an OT set-up and one opening (a comparison for a threshold).
//
// Trust: a part's hospital share alone is uniformly random (`SecureRun.finishPart`), so the
// aggregator learns nothing from the shares it receives, and the vendor nothing from its own; the
// vendor and the aggregator must not collude (together they would hold both shares of every part).

extension ValidationClient {
    /// Opens the pool whose completed parts are `records` (this hospital's shares: every part
    /// present, one pool, one program), with the vendor on `channel`. The vendor must announce the
    /// model the parts ran and hold the same completed parts; the result is the pooled metric over
    /// all parts' images. `journal` records the session and marks the pool opened. With `report`
    /// the aggregator asks the vendor to sign, after the opening, one statement of it that names
    /// the pool and its parts (`ReportExchange`, `ValidationStatement.pool`): the result then
    /// carries the signed report, or why none was made (the pooled metric stands either way).
    public static func openPool(records: [PoolPartRecord], channel: any Channel, journal: (any SessionJournal)? = nil,
                                report: ReportSigner? = nil,
                                announced: ((SessionMessage.ModelAnnouncement, MPCProgram) -> Void)? = nil) throws -> ValidationResult {
        let start = Date()
        guard let first = records.first else { throw ValidationError.invalidPool("no parts to open") }
        if let reason = PoolPartRecord.inconsistency(records) { throw ValidationError.invalidPool(reason) }
        let missing = PoolPartRecord.missingParts(records)
        guard missing.isEmpty else {
            throw ValidationError.invalidPool("pool \(first.part.pool) is missing part(s) \(PoolPartRecord.describe(indices: missing)) of \(first.part.parts)")
        }
        guard let metric = Metric(first.metric), PoolStatistic.canPool(metric) else {
            throw ValidationError.invalidPool("pool \(first.part.pool) asked for '\(first.metric)', which this version cannot pool")
        }
        let (handshake, model) = try meetVendor(on: channel)
        func abort(_ error: ValidationError) throws -> Never {
            try? SessionMessage.send(.abort(.init(reason: error.description)), on: channel)
            throw error
        }
        if model.modelCommitment != first.modelCommitment {
            try abort(.unexpectedModel(expected: first.modelCommitment, announced: model.modelCommitment))
        }
        let format = try FixedPointFormat(ringBits: model.ringBits, scale: model.scale)
        let program = try ProgramCompiler.compile(model.graph, format: format, formatReason: model.formatReason, weightBits: model.weightBits,
                                                  otEngine: OTEngine(rawValue: model.otEngine) ?? .silent, metric: metric)
        guard program.digestHex == first.programDigest else {
            try abort(.aborted("the vendor now serves another secure program (\(program.digestHex.prefix(16))…) than the pool's parts ran (\(first.programDigest.prefix(16))…)"))
        }
        announced?(model, program)
        let images = records.reduce(0) { $0 + $1.images }
        let datasetCommitment = PoolOpening.datasetCommitment(records)
        var request = SessionMessage.ValidationRequest(programDigest: program.digestHex, metric: metric, images: images, batch: 1,
                                                       datasetCommitment: datasetCommitment)
        request.poolOpening = PoolOpening(records: records)
        request.report = report == nil ? nil : true
        try SessionMessage.send(.request(request), on: channel)
        let decision = try SessionMessage.receiveDecision(on: channel)
        guard decision.accepted else { throw ValidationError.refused(decision.reason) }
        let session = PoolOpeningRun.sessionStart(handshake: handshake, model: model.modelCommitment, request: request, program: program)
        try journal?.started(session)
        var result = try PoolOpeningRun.open(party: .hospital, records: records, program: program, channel: channel, request: request,
                                             session: session, model: model.modelName, start: start)
        try journal?.markPoolOpened(first.part.pool, by: session.sessionID)
        if let report {
            let opened = result
            ReportExchange.attach(to: &result) {
                try ReportExchange.hospital(on: channel, signer: report, session: session, result: opened, modelName: model.modelName,
                                            pool: PoolOpening(records: records))
            }
        }
        return result
    }
}

extension ValidationServer {
    /// The vendor's side of a pool's opening, after the request: checks the opening against the
    /// parts this vendor completed, then opens the pooled metric.
    /// With a request for a report, signs the statement of the opening with `report` (or refuses
    /// to sign, without one), naming the pool and the parts this vendor completed.
    func servePoolOpening(_ opening: PoolOpening, request: SessionMessage.ValidationRequest, channel: any Channel,
                          handshake: HandshakeResult, peer: String?, journal: (any SessionJournal)?, report: ReportSigner?,
                          start: Date) throws -> ValidationResult {
        var refusal: String?
        var held: [PoolPartRecord] = []
        var program = self.program.with(metric: request.metric)
        if !PoolStatistic.canPool(request.metric) {
            refusal = "\(PoolStatistic.coverage); '\(request.metric)' cannot be pooled yet"
        } else if let compiled = try? self.program.with(metric: request.metric,
                                                        declaredThresholds: request.metric.thresholds ?? graph.declarations?.thresholds) {
            program = compiled
        }
        if refusal != nil {
        } else if request.programDigest != program.digestHex {
            refusal = "the aggregator compiled a different secure program (digest \(request.programDigest.prefix(16))…, ours \(program.digestHex.prefix(16))…)"
        } else if !policy.allows(request.metric) {
            refusal = "metric '\(request.metric)' is not allowed by this vendor (allowed: \(policy.allowedNames.joined(separator: ", ")))"
        } else if let journal {
            if let opened = try journal.poolOpened(opening.pool) {
                refusal = "pool \(opening.pool) was already opened (session \(opened.prefix(16))…)"
            } else {
                held = try journal.poolParts(opening.pool)
                refusal = openingRefusal(opening, held: held, program: program, request: request, peer: peer)
            }
        } else {
            refusal = "this vendor keeps no ledger, so it holds no pool parts"
        }
        let session = PoolOpeningRun.sessionStart(handshake: handshake, model: modelCommitment, request: request, program: program)
        var recordFailure: Error?
        if refusal == nil {
            do { try journal?.started(session) } catch {
                recordFailure = error
                refusal = "the vendor could not record the session in its ledger"
            }
        }
        try SessionMessage.send(.decision(.init(accepted: refusal == nil, reason: refusal ?? "accepted")), on: channel)
        if let recordFailure { throw recordFailure }
        if let refusal { throw ValidationError.refused(refusal) }
        var result = try PoolOpeningRun.open(party: .vendor, records: held, program: program, channel: channel, request: request,
                                             session: session, model: modelName, start: start)
        try journal?.markPoolOpened(opening.pool, by: session.sessionID)
        if request.report == true {
            // The vendor's own view of the pool: the parts it completed (checked above to be the
            // aggregator's, part by part).
            let opened = result
            ReportExchange.attach(to: &result) {
                try ReportExchange.vendor(on: channel, signer: report, session: session, result: opened, modelName: modelName,
                                          pool: PoolOpening(records: held))
            }
        }
        return result
    }

    /// Why the vendor will not open `opening` with the parts it `held`, or nil: it completed every
    /// part, the aggregator names the same sessions and sizes, the same program and model ran, the
    /// pooled set is large enough, the dataset commitment is the parts', and the aggregator is one of
    /// the pool's sites.
    func openingRefusal(_ opening: PoolOpening, held: [PoolPartRecord], program: MPCProgram,
                        request: SessionMessage.ValidationRequest, peer: String?) -> String? {
        let pool = opening.pool
        guard let first = held.first else { return "this vendor completed no part of pool \(pool)" }
        if let reason = PoolPartRecord.inconsistency(held) { return reason }
        if first.part.parts != opening.parts {
            return "pool \(pool) has \(first.part.parts) parts at this vendor; the aggregator says \(opening.parts)"
        }
        let missing = PoolPartRecord.missingParts(held)
        if !missing.isEmpty {
            return "this vendor did not complete part(s) \(PoolPartRecord.describe(indices: missing)) of pool \(pool) (\(held.count) of \(first.part.parts) done)"
        }
        guard opening.members.count == first.part.parts else {
            return "the aggregator names \(opening.members.count) parts of pool \(pool), which has \(first.part.parts)"
        }
        for member in opening.members {
            guard let ours = held.first(where: { $0.part.index == member.index }) else {
                return "the aggregator names a part \(member.index + 1) that pool \(pool) does not have"
            }
            if ours.validation != member.validation || ours.images != member.images {
                return "the aggregator's part \(member.index + 1) of pool \(pool) is session \(member.validation.prefix(16))… (\(member.images) images); this vendor completed \(ours.validation.prefix(16))… (\(ours.images) images)"
            }
        }
        if first.programDigest != program.digestHex || first.modelCommitment != modelCommitment {
            return "pool \(pool)'s parts ran another program or model than this vendor serves now"
        }
        let images = held.reduce(0) { $0 + $1.images }
        if images != request.images { return "the aggregator counts \(request.images) images in pool \(pool); its parts hold \(images)" }
        if images < policy.minimumImages {
            return "pool \(pool) has \(images) images together; this vendor requires at least \(policy.minimumImages)"
        }
        if request.datasetCommitment != PoolOpening.datasetCommitment(held) {
            return "the aggregator's commitment to the pool's datasets is not the one of the parts this vendor ran"
        }
        if let peer, !held.contains(where: { $0.site?.lowercased() == peer.lowercased() }) {
            return "only a site that ran a part of pool \(pool) may open it; this certificate (\(peer.prefix(16))…) ran none"
        }
        return nil
    }
}

/// The opening itself, the same for both sides.
enum PoolOpeningRun {
    static func sessionStart(handshake: HandshakeResult, model: String, request: SessionMessage.ValidationRequest,
                             program: MPCProgram) -> SessionStart {
        let sessionID = Commitment.boundSessionID(handshake: handshake.sessionIDHex, model: model,
                                                  dataset: request.datasetCommitment, program: program.digestHex)
        var session = SessionStart(sessionID: sessionID, modelCommitment: model, datasetCommitment: request.datasetCommitment,
                                   programDigest: program.digestHex, metricAsked: request.metric.description, images: request.images,
                                   batch: 1, ringBits: program.ringBits, scale: program.scale)
        session.otEngine = program.otEngine
        session.openedPool = request.poolOpening?.pool
        return session
    }

    /// This party's shares of the parts, in part order, decoded for `program`'s statistic.
    static func shares(of records: [PoolPartRecord], party: Party, program: MPCProgram) throws -> [ArithmeticShare] {
        try records.sorted { $0.part.index < $1.part.index }.map {
            let shape = PoolStatistic.shape(metric: program.metric, ringBits: program.ringBits, classes: program.classes, images: $0.images)
            guard let share = $0.decodedShare(bits: shape.bits, count: shape.count) else {
                throw ValidationError.invalidPool("this \(party)'s share of part \($0.part.index + 1) of pool \($0.part.pool) is damaged")
            }
            return share
        }
    }

    /// Sets up OT on `channel`, adds this party's shares of `records` (one statistic per part) and opens the
    /// program's metric of the sum over `request.images` images: the count (with its opening and
    /// DP noise), or for `sens-spec` the ratios of the summed counts.
    static func open(party: Party, records: [PoolPartRecord], program: MPCProgram, channel: any Channel,
                     request: SessionMessage.ValidationRequest, session: SessionStart, model: String, start: Date) throws -> ValidationResult {
        let mark = threadCPUSeconds()
        let shares = try Self.shares(of: records, party: party, program: program)
        let ot: any ObliviousTransfer = switch program.otEngine {
        case .silent: try SilentObliviousTransfer(channel: channel, party: party)
        case .iknp: try IKNPObliviousTransfer(channel: channel, party: party)
        }
        let twoParty = try TwoPartySession.establish(party: party, channel: channel, ot: ot)
        let images = request.images
        var result = ValidationResult(metric: program.metric.resultName, correct: nil, total: images, accuracy: nil, threshold: nil,
                                      passed: nil, seconds: 0, bytesSent: 0, bytesReceived: 0, rounds: 0,
                                      ringBits: program.ringBits, scale: program.scale, batch: 1,
                                      programDigest: program.digestHex, sessionID: session.sessionID, model: model,
                                      modelCommitment: session.modelCommitment, datasetCommitment: request.datasetCommitment,
                                      profile: nil, ot: program.otEngine.rawValue)
        if program.metric.scores == .auroc {
            // The parts' images, sorted together: their scores, then positive bits, then negative bits.
            let thirds = (0..<3).map { t in ArithmeticShare.concatenating(shares.map { share in
                let n = share.count / 3
                return ArithmeticShare(bits: share.bits, values: Array(share.values[(t * n)..<((t + 1) * n)]))
            }) }
            let k = OpenedRatio.fractionBits
            let quotients = try twoParty.aurocQuotients(scores: thirds[0], positive: thirds[1], negative: thirds[2], images: images,
                                                        findings: program.classes, fractionBits: k)
            if case .atLeast(let tau) = program.metric.opening {
                let bits = try twoParty.quotientsAtLeast(quotients, threshold: Int64((tau * Double(1 << k)).rounded(.up)),
                                                         fractionBits: k, all: program.metric.allFindings)
                result.setClinical(try twoParty.open(bits, to: nil)!.map { Int64($0) }, program: program)
            } else {
                result.setClinical(try twoParty.open(quotients, to: nil)!, program: program)
            }
            return finish(result, request: request, channel: channel, start: start, mark: mark, program: program)
        }
        // Counts of disjoint sets of images: the parts' shares add up.
        let shape = PoolStatistic.shape(metric: program.metric, ringBits: program.ringBits, classes: program.classes, images: images)
        var sum = ArithmeticShare.zeros(count: shape.count, bits: shape.bits)
        for share in shares { sum = try sum.adding(share) }
        if program.metric.scores == .sensSpec, program.metric.dpMicroEpsilon != nil {
            var noise = SecureUniformSource()
            result.setClinical(try SecureEngine.openNoisyCounts(sum, metric: program.metric, classes: program.classes,
                                                                session: twoParty, noise: &noise), program: program)
            return finish(result, request: request, channel: channel, start: start, mark: mark, program: program)
        }
        if program.metric.scores == .sensSpec {
            let quotients = try twoParty.operatingPointRatios(sum, findings: program.classes, fractionBits: OpenedRatio.fractionBits)
            result.setClinical(try twoParty.open(quotients, to: nil)!, program: program)
            return finish(result, request: request, channel: channel, start: start, mark: mark, program: program)
        }
        var noise = SecureUniformSource()
        switch try SecureEngine.openCount(sum, metric: program.metric, images: images, session: twoParty, noise: &noise) {
        case .count(let correct):
            result.correct = Int(correct)
            result.accuracy = Double(correct) / Double(images)
        case .atLeast(let passed):
            if case .atLeast(let tau) = program.metric.opening { result.threshold = tau }
            result.passed = passed
        case .values:
            throw ValidationError.invalidPool("a pool opens a count, not a clinical metric")
        }
        return finish(result, request: request, channel: channel, start: start, mark: mark, program: program)
    }

    /// The opening's costs and pool fields.
    private static func finish(_ opened: ValidationResult, request: SessionMessage.ValidationRequest, channel: any Channel,
                               start: Date, mark: Double, program: MPCProgram) -> ValidationResult {
        var result = opened
        try? channel.flush()
        result.dpEpsilon = program.metric.dpEpsilon
        result.pool = request.poolOpening?.pool
        result.parts = request.poolOpening?.parts
        result.seconds = Date().timeIntervalSince(start)
        result.bytesSent = channel.statistics.bytesSent
        result.bytesReceived = channel.statistics.bytesReceived
        result.rounds = channel.statistics.rounds
        result.lanes = 1
        result.cpuSeconds = threadCPUSeconds() - mark
        return result
    }
}

import Foundation
import Ledger
import Transport
import Validation

/// Writes one session's ledger row: a complete "interrupted" row as soon as the computation is
/// agreed, then its outcome; refusals and early failures as one complete row. A ledger write that
/// fails stops the session (no computation without its record). Also the session's journal: this
/// party's checkpoint after every batch, and the checks before an interrupted validation resumes.
final class SessionRecorder: SessionJournal {
    let ledger: Ledger
    let party: SessionRecord.Party
    var record: SessionRecord
    var rowID: Int64?
    /// This party's own certificate fingerprint (the hospital records it as the site of its pool parts).
    var ownFingerprint: String?
    /// A differentially private validation: the dataset's unsalted digest, ε and the budget (both in
    /// millionths); spent in the ledger when the computation starts.
    var privacy: (dataset: String, microEpsilon: Int, budgetMicro: Int)?

    init(ledger: Ledger, party: Transport.Party, peerFingerprint: String?, peerName: String?) {
        self.ledger = ledger
        self.party = party == .vendor ? .vendor : .hospital
        record = SessionRecord(party: self.party, peerFingerprint: peerFingerprint, peerName: peerName,
                               engine: "cheetah-he+cryptflow2-ot", startedAt: Date())
    }

    /// The validation a failed session belongs to, once its computation had started (so it has a
    /// ledger row and checkpoints to resume from); nil before.
    var resumableValidation: String? {
        rowID == nil ? nil : record.resumes ?? record.sessionID
    }

    /// Called by the session when the computation is agreed.
    func started(_ start: SessionStart) throws {
        record.sessionID = start.sessionID
        record.modelCommitment = start.modelCommitment
        record.datasetCommitment = start.datasetCommitment
        record.planHash = start.programDigest
        record.metricAsked = start.metricAsked
        record.images = start.images
        record.batch = start.batch
        record.ringBits = start.ringBits
        record.scale = start.scale
        record.resumes = start.resumes
        record.engine = "cheetah-he+\(start.otEngine)-ot"
        record.pool = Self.poolLabel(start)
        if let privacy {
            // Checked again in the same transaction as it is spent (another process may have spent since).
            try ledger.spendPrivacy(datasetDigest: privacy.dataset, validation: start.validation,
                                    microEpsilon: privacy.microEpsilon, budgetMicro: privacy.budgetMicro)
        }
        rowID = try ledger.begin(record)
        note("validate-\(party == .vendor ? "serve" : "client"): session \(start.sessionID)\(start.resumes.map { " (resumes validation \($0.prefix(16))…)" } ?? "") started; checkpoints as batches complete, in \(ledger.path)")
    }

    /// Compares the proposed run with the validation's first run in this party's ledger: the same
    /// peer, model, dataset, program, metric, size and batch, and not completed yet.
    func refusalToResume(_ validation: String, as start: SessionStart) throws -> String? {
        let rows = try ledger.sessions(validation: validation).filter { $0.party == party }
        let name = "session \(validation.prefix(16))…"
        guard let first = rows.first(where: { $0.sessionID == validation }) ?? rows.first else {
            return "the \(party.rawValue)'s ledger \(ledger.path) has no record of \(name)"
        }
        if let done = rows.first(where: { $0.outcome == .completed }) {
            return "\(name) already completed on \(Timestamp.format(done.endedAt)) (\(done.metricRevealed ?? "metric revealed")); start a new validation instead"
        }
        func differs(_ what: String, _ then: String?, _ now: String?) -> String? {
            then == now ? nil : "\(what) differs from \(name)'s (\(then.map { String($0.prefix(16)) } ?? "none") then, \(now.map { String($0.prefix(16)) } ?? "none") now)"
        }
        return differs("the peer's certificate", first.peerFingerprint, record.peerFingerprint)
            ?? differs("the model commitment", first.modelCommitment, start.modelCommitment)
            ?? differs("the dataset commitment", first.datasetCommitment, start.datasetCommitment)
            ?? differs("the secure program", first.planHash, start.programDigest)
            ?? differs("the metric asked", first.metricAsked, start.metricAsked)
            ?? differs("the number of images", String(first.images), String(start.images))
            ?? differs("the batch size", first.batch.map(String.init), String(start.batch))
            ?? differs("the pool part", first.pool, Self.poolLabel(start))
    }

    /// The ledger's `pool` column for a session: "NAME part I/K", "NAME opening", or nil.
    static func poolLabel(_ start: SessionStart) -> String? {
        if let part = start.part { return "\(part.pool) part \(part.index + 1)/\(part.parts)" }
        return start.openedPool.map { "\($0) opening" }
    }

    func checkpoints(of validation: String) throws -> [Int: [UInt8]] {
        var byIndex: [Int: [UInt8]] = [:]
        for checkpoint in try ledger.checkpoints(sessionID: validation) { byIndex[checkpoint.batchIndex] = checkpoint.share }
        return byIndex
    }

    func saveCheckpoint(of validation: String, batchIndex: Int, share: [UInt8]) throws {
        try ledger.saveCheckpoint(sessionID: validation, batchIndex: batchIndex, share: share)
    }

    func finished(_ validation: String) throws {
        try ledger.deleteCheckpoint(sessionID: validation)
    }

    func completed(_ result: ValidationResult) throws {
        var revealed: String
        func values(_ name: String, _ v: [Double?]) -> String {
            "\(name)=[" + v.map { $0.map { String(format: "%.6f", $0) } ?? "undefined" }.joined(separator: ",") + "]"
        }
        if let pool = result.pool, let part = result.part {
            _ = (pool, part)
            revealed = "nothing (a pool part)"
        } else if let passedPerFinding = result.aurocPassed {
            revealed = "auroc >= \(result.threshold ?? 0): [" + passedPerFinding.map { $0 ? "yes" : "no" }.joined(separator: ",") + "]"
        } else if result.metric == "auroc-threshold-all" {
            revealed = "auroc >= \(result.threshold ?? 0) for every finding: \(result.passed == true ? "yes" : "no")"
        } else if let auroc = result.auroc {
            revealed = values("auroc", auroc) + (result.macroAUROC.map { String(format: " macro=%.6f", $0) } ?? "")
        } else if let sensitivity = result.sensitivity, let specificity = result.specificity {
            revealed = values("sensitivity", sensitivity) + " " + values("specificity", specificity)
        } else if result.metric == "predictions" {
            revealed = "predictions to the hospital (\(result.total) images)"
        } else if let confusion = result.confusion {
            revealed = "confusion=" + confusion.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: ",")
        } else if let correct = result.correct, let accuracy = result.accuracy, let epsilon = result.dpEpsilon {
            revealed = String(format: "noisy accuracy=%.4f (%d/%d, ε = %g DP)", accuracy, correct, result.total, epsilon)
        } else if let correct = result.correct, let accuracy = result.accuracy {
            revealed = String(format: "accuracy=%.4f (%d/%d)", accuracy, correct, result.total)
        } else {
            revealed = "threshold \(result.threshold ?? 0): \(result.passed == true ? "passed" : "not passed")"
        }
        guard let rowID else { return }
        try ledger.finish(id: rowID, outcome: .completed, revealed: revealed, bytesSent: result.bytesSent,
                          bytesReceived: result.bytesReceived, rounds: result.rounds, endedAt: Date(),
                          images: result.total, datasetCommitment: result.datasetCommitment,
                          reportSHA256: result.report?.statementSHA256)
    }

    /// Records how a session that did not complete ended; never throws (the original error is what
    /// the user needs to see), but reports a ledger failure on stderr.
    func failed(_ error: Error, statistics: ChannelStatistics?) {
        let reason = (error as? LocalizedError)?.errorDescription ?? "\(error)"
        let outcome: SessionRecord.Outcome
        if case ValidationError.refused(let why)? = error as? ValidationError {
            outcome = .refused(reason: why)
        } else if case ValidationError.resumeRefused? = error as? ValidationError {
            outcome = .refused(reason: reason)
        } else if case ValidationError.privacyBudget? = error as? ValidationError {
            outcome = .refused(reason: reason)
        } else if case LedgerError.privacyBudgetExceeded? = error as? LedgerError {
            outcome = .refused(reason: reason)
        } else if case ValidationError.invalidPool? = error as? ValidationError {
            outcome = .refused(reason: reason)
        } else if case TransportError.wrongPeer? = error as? TransportError {
            // This side refused the peer's identity before sending anything.
            outcome = .refused(reason: reason)
        } else {
            outcome = .aborted(reason: reason)
        }
        do {
            if let rowID {
                try ledger.finish(id: rowID, outcome: outcome, revealed: nil, bytesSent: statistics?.bytesSent ?? 0,
                                  bytesReceived: statistics?.bytesReceived ?? 0, rounds: statistics?.rounds ?? 0,
                                  endedAt: Date(), images: record.images, datasetCommitment: record.datasetCommitment)
            } else {
                var row = record
                row.outcome = outcome
                row.endedAt = Date()
                row.bytesSent = statistics?.bytesSent ?? 0
                row.bytesReceived = statistics?.bytesReceived ?? 0
                row.rounds = statistics?.rounds ?? 0
                _ = try ledger.record(row)
            }
        } catch {
            note("could not record the session's outcome in the ledger \(ledger.path): \(error.errorDescription ?? "\(error)")")
        }
    }
}

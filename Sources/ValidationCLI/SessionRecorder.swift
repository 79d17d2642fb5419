import Foundation
import Ledger
import Transport
import Validation

/// Writes one session's ledger row: a complete "interrupted" row as soon as the computation is
/// agreed, then its outcome; refusals and early failures as one complete row. A ledger write that
/// fails stops the session (no computation without its record).
final class SessionRecorder {
    let ledger: Ledger
    let party: SessionRecord.Party
    var record: SessionRecord
    var rowID: Int64?

    init(ledger: Ledger, party: Transport.Party, peerFingerprint: String?, peerName: String?) {
        self.ledger = ledger
        self.party = party == .vendor ? .vendor : .hospital
        record = SessionRecord(party: self.party, peerFingerprint: peerFingerprint, peerName: peerName,
                               engine: "cheetah-he+cryptflow2-ot", startedAt: Date())
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
        rowID = try ledger.begin(record)
    }

    func completed(_ result: ValidationResult) throws {
        let revealed: String
        if let correct = result.correct, let accuracy = result.accuracy {
            revealed = String(format: "accuracy=%.4f (%d/%d)", accuracy, correct, result.total)
        } else {
            revealed = "threshold \(result.threshold ?? 0): \(result.passed == true ? "passed" : "not passed")"
        }
        guard let rowID else { return }
        try ledger.finish(id: rowID, outcome: .completed, revealed: revealed, bytesSent: result.bytesSent,
                          bytesReceived: result.bytesReceived, rounds: result.rounds, endedAt: Date(),
                          images: result.total, datasetCommitment: result.datasetCommitment)
    }

    /// Records how a session that did not complete ended; never throws (the original error is what
    /// the user needs to see), but reports a ledger failure on stderr.
    func failed(_ error: Error, statistics: ChannelStatistics?) {
        let reason = (error as? LocalizedError)?.errorDescription ?? "\(error)"
        let outcome: SessionRecord.Outcome
        if case ValidationError.refused(let why)? = error as? ValidationError {
            outcome = .refused(reason: why)
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

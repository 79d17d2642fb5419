import Foundation
import Ledger
import Testing
import Transport
import Validation
@testable import ValidationCLI

/// The ledger-backed journal: what it records when a session starts, the checkpoints it keeps, and
/// the checks it makes before an interrupted validation may continue.
@Suite struct SessionRecorderTests {
    func start(_ id: String, dataset: String = String(repeating: "22", count: 32), resumes: String? = nil) -> SessionStart {
        SessionStart(sessionID: id, modelCommitment: String(repeating: "11", count: 32), datasetCommitment: dataset,
                     programDigest: String(repeating: "33", count: 32), metricAsked: "accuracy", images: 360, batch: 16,
                     ringBits: 41, scale: 15, resumes: resumes)
    }

    func withLedger(_ body: (Ledger) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sv-recorder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try body(try Ledger(path: folder.appendingPathComponent("l.sqlite").path))
    }

    @Test func resumeChecksCompareWithTheFirstRun() throws {
        try withLedger { ledger in
            let peer = String(repeating: "ab", count: 32)
            let first = SessionRecorder(ledger: ledger, party: .vendor, peerFingerprint: peer, peerName: "hospital")
            try first.started(start("v1"))
            try first.saveCheckpoint(of: "v1", batchIndex: 0, share: [41, 1, 0, 0, 0, 0, 0, 0, 0])
            first.failed(TransportError.peerClosed(expected: 8, received: 0), statistics: nil)
            #expect(try ledger.sessions().first?.outcome.description.hasPrefix("aborted: the peer closed") == true)
            #expect(first.resumableValidation == "v1")

            let again = SessionRecorder(ledger: ledger, party: .vendor, peerFingerprint: peer, peerName: "hospital")
            #expect(try again.refusalToResume("v1", as: start("v2", resumes: "v1")) == nil)
            #expect(try again.checkpoints(of: "v1").keys.sorted() == [0])
            #expect(try again.refusalToResume("v1", as: start("v2", dataset: String(repeating: "99", count: 32), resumes: "v1"))?
                .contains("the dataset commitment differs") == true)
            #expect(try again.refusalToResume("nope", as: start("v2", resumes: "nope"))?.contains("has no record") == true)
            let stranger = SessionRecorder(ledger: ledger, party: .vendor, peerFingerprint: String(repeating: "cd", count: 32), peerName: "other")
            #expect(try stranger.refusalToResume("v1", as: start("v2", resumes: "v1"))?.contains("the peer's certificate differs") == true)

            // The resumed run completes: its row names the validation, the checkpoints go, and the
            // validation cannot be resumed again.
            try again.started(start("v2", resumes: "v1"))
            #expect(again.resumableValidation == "v1")
            try again.finished("v1")
            try ledger.finish(id: try #require(again.rowID), outcome: .completed, revealed: "accuracy=1.0000 (360/360)",
                              bytesSent: 1, bytesReceived: 1, rounds: 1)
            #expect(try ledger.sessions(validation: "v1").map(\.sessionID) == ["v1", "v2"])
            #expect(try ledger.checkpoints(sessionID: "v1").isEmpty)
            let third = SessionRecorder(ledger: ledger, party: .vendor, peerFingerprint: peer, peerName: "hospital")
            #expect(try third.refusalToResume("v1", as: start("v3", resumes: "v1"))?.contains("already completed") == true)
        }
    }

    @Test func aRefusedResumeIsRecordedAsARefusal() throws {
        try withLedger { ledger in
            let recorder = SessionRecorder(ledger: ledger, party: .hospital, peerFingerprint: nil, peerName: nil)
            recorder.failed(ValidationError.resumeRefused("the dataset commitment differs"), statistics: nil)
            let outcome = try ledger.sessions().first?.outcome
            #expect(outcome == .refused(reason: "cannot resume: the dataset commitment differs"))
            #expect(recorder.resumableValidation == nil)
        }
    }
}

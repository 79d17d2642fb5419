import Foundation
import Testing
@testable import Ledger

@Suite struct HistoryRenderingTests {
    @Test func tableHasAHeaderAndOneLinePerSession() throws {
        try withTemporaryFolder { folder in
            let ledger = try Ledger(path: folder.file("l.sqlite"))
            let id = try ledger.begin(sampleSession())
            try ledger.finish(id: id, outcome: .completed, revealed: "accuracy=0.9972 (359/360)", bytesSent: 1, bytesReceived: 2, rounds: 3)
            try ledger.record(SessionRecord(party: .vendor, peerFingerprint: "0123456789abcdef0123", startedAt: morning.addingTimeInterval(3600),
                                            outcome: .refused(reason: "certificate fingerprint not in --allow-peer\nsee the log")))
            try ledger.begin(sampleSession(sessionID: "feedface00112233", peer: "hospital-b", startedAt: morning.addingTimeInterval(7200)))
            let text = renderHistory(try ledger.sessions())
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
            #expect(lines.count == 4)
            #expect(lines[0].hasPrefix("STARTED (UTC)"))
            for column in ["PEER", "METRIC ASKED", "REVEALED", "N", "SESSION", "OUTCOME"] { #expect(lines[0].contains(column)) }
            // Newest first.
            #expect(lines[1].hasPrefix("2026-11-22 11:30"))
            #expect(lines[1].contains("hospital-b") && lines[1].contains("feedface0011 ") && lines[1].hasSuffix("aborted: interrupted"))
            #expect(lines[2].hasPrefix("2026-11-22 10:30"))
            #expect(lines[2].contains("0123456789abcdef ") && lines[2].hasSuffix("refused: certificate fingerprint not in --allow-peer see the log"))
            #expect(lines[3].hasPrefix("2026-11-22 09:30"))
            #expect(lines[3].contains("hospital-a") && lines[3].contains("accuracy=0.9972 (359/360)") && lines[3].contains(" 360 ")
                && lines[3].contains("3f9a1c2e4b7d ") && lines[3].hasSuffix("completed"))
            // Columns line up: every row's outcome starts where the header's does.
            let column = try #require(lines[0].range(of: "OUTCOME")).lowerBound.utf16Offset(in: lines[0])
            for line in lines[1...] {
                let outcome = try #require(line.range(of: line.contains("completed") ? "completed" : line.contains("refused") ? "refused" : "aborted"))
                #expect(outcome.lowerBound.utf16Offset(in: line) == column)
            }
        }
    }

    @Test func aResumedRunNamesTheValidationItContinues() throws {
        var resumed = sampleSession(sessionID: "b2b2b2b2b2b2b2b2")
        resumed.resumes = "16960597332ba14bc7ace023"
        resumed.outcome = .completed
        let line = renderHistory([resumed]).split(separator: "\n")[1]
        #expect(line.hasSuffix("completed; resumes 16960597332b"))
    }

    @Test func aSignedSessionShowsItsReportDigest() {
        var signed = sampleSession(sessionID: "c3c3c3c3c3c3c3c3")
        signed.outcome = .completed
        signed.reportSHA256 = "826bcbde3dc640bbd2e0e38c219398b118e269f06267c0da1605610717881e55"
        #expect(renderHistory([signed]).split(separator: "\n")[1].hasSuffix("completed; signed report 826bcbde3dc6"))
    }

    @Test func emptyHistorySaysSo() {
        #expect(renderHistory([]) == "No sessions recorded.\n")
    }
}

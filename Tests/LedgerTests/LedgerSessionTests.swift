import Foundation
import Testing
@testable import Ledger

/// Session rows: begin/finish, one-shot refusals, interruption, daily counts, JSON.
@Suite struct LedgerSessionTests {
    @Test func beginThenFinishRoundTrips() throws {
        try withTemporaryFolder { folder in
            let ledger = try Ledger(path: folder.file("l.sqlite"))
            var asked = sampleSession()
            asked.outcome = .completed          // ignored by begin
            asked.metricRevealed = "leaked?"    // ignored by begin
            let id = try ledger.begin(asked)

            let running = try #require(try ledger.session(id: id))
            #expect(running.outcome == .aborted(reason: "interrupted"))
            #expect(running.endedAt == running.startedAt)
            #expect(running.metricRevealed == nil)

            let end = morning.addingTimeInterval(42.123)
            try ledger.finish(id: id, outcome: .completed, revealed: "accuracy=0.9972 (359/360)",
                              bytesSent: 123_456_789_012, bytesReceived: 98_765, rounds: 321, endedAt: end)
            var expected = sampleSession()
            expected.id = id
            expected.metricRevealed = "accuracy=0.9972 (359/360)"
            expected.bytesSent = 123_456_789_012
            expected.bytesReceived = 98_765
            expected.rounds = 321
            expected.endedAt = end
            expected.outcome = .completed
            #expect(try ledger.session(id: id) == expected)
            #expect(try ledger.sessions() == [expected])
            #expect(Timestamp.format(try #require(try ledger.session(id: id)).endedAt) == "2026-11-22T09:30:42.373Z")
        }
    }

    @Test func finishCanFillTheDatasetCommitmentAndN() throws {
        try withTemporaryFolder { folder in
            let ledger = try Ledger(path: folder.file("l.sqlite"))
            var record = sampleSession()
            record.datasetCommitment = nil
            record.images = 0
            let id = try ledger.begin(record)
            try ledger.finish(id: id, outcome: .aborted(reason: "peer closed the connection in round 17"), revealed: nil,
                              bytesSent: 10, bytesReceived: 20, rounds: 17, endedAt: morning.addingTimeInterval(5),
                              images: 360, datasetCommitment: String(repeating: "22", count: 32))
            let row = try #require(try ledger.session(id: id))
            #expect(row.datasetCommitment == String(repeating: "22", count: 32))
            #expect(row.images == 360)
            #expect(row.outcome == .aborted(reason: "peer closed the connection in round 17"))
            #expect(row.metricRevealed == nil)
        }
    }

    /// A session that ended with a signed report keeps the SHA-256 of its statement; one without
    /// keeps none, and the JSON says so under the column's name.
    @Test func finishRecordsTheSignedReport() throws {
        try withTemporaryFolder { folder in
            let ledger = try Ledger(path: folder.file("l.sqlite"))
            let signed = try ledger.begin(sampleSession())
            let digest = String(repeating: "c3", count: 32)
            try ledger.finish(id: signed, outcome: .completed, revealed: "accuracy=0.9972 (359/360)",
                              bytesSent: 1, bytesReceived: 2, rounds: 3, reportSHA256: digest)
            let plain = try ledger.begin(sampleSession(sessionID: String(repeating: "0e", count: 32)))
            try ledger.finish(id: plain, outcome: .completed, revealed: "accuracy=0.9972 (359/360)", bytesSent: 1, bytesReceived: 2, rounds: 3)
            #expect(try ledger.session(id: signed)?.reportSHA256 == digest)
            #expect(try ledger.session(id: plain)?.reportSHA256 == nil)
            let json = String(decoding: try JSONEncoder().encode(try #require(try ledger.session(id: signed))), as: UTF8.self)
            #expect(json.contains("\"report_sha256\":\"\(digest)\""))
            let none = String(decoding: try JSONEncoder().encode(try #require(try ledger.session(id: plain))), as: UTF8.self)
            #expect(none.contains("\"report_sha256\":null"))
        }
    }

    @Test func finishingAnUnknownRowThrows() throws {
        try withTemporaryFolder { folder in
            let path = folder.file("l.sqlite")
            let ledger = try Ledger(path: path)
            #expect(ledgerError { try ledger.finish(id: 99, outcome: .completed, revealed: nil, bytesSent: 0, bytesReceived: 0, rounds: 0) }
                == .noSuchSession(path: path, id: 99))
            #expect(try count(ledger) == 0)
        }
    }

    @Test func refusalsAreRecordedInOneGo() throws {
        try withTemporaryFolder { folder in
            let ledger = try Ledger(path: folder.file("l.sqlite"))
            // Refused at TLS time: only the peer is known.
            let early = SessionRecord(party: .vendor, peerFingerprint: "cd", peerName: "unknown-clinic", startedAt: morning,
                                      outcome: .refused(reason: "certificate fingerprint not in --allow-peer"))
            // Refused after the hello: the request is known.
            var late = sampleSession(startedAt: morning.addingTimeInterval(60))
            late.images = 40
            late.outcome = .refused(reason: "test set of 40 images is below the minimum of 100")
            let earlyID = try ledger.record(early)
            let lateID = try ledger.record(late)
            let rows = try ledger.sessions()
            #expect(rows.map(\.id) == [lateID, earlyID])   // most recent first
            var expectedEarly = early
            expectedEarly.id = earlyID
            #expect(rows[1] == expectedEarly)
            #expect(rows[1].sessionID == nil && rows[1].planHash == nil)
            #expect(rows[0].outcome.description == "refused: test set of 40 images is below the minimum of 100")
            #expect(try ledger.sessions(limit: 1).map(\.id) == [lateID])
        }
    }

    @Test func aSessionThatNeverFinishesReadsAsInterrupted() throws {
        try withTemporaryFolder { folder in
            let path = folder.file("l.sqlite")
            do {
                // The process "dies": begin, then the ledger is dropped without finish.
                let ledger = try Ledger(path: path)
                try ledger.begin(sampleSession())
            }
            let rows = try Ledger(path: path).sessions()
            #expect(rows.count == 1)
            let row = try #require(rows.first)
            #expect(row.outcome == .aborted(reason: "interrupted"))
            #expect(row.outcome.description == "aborted: interrupted")
            #expect(row.endedAt == row.startedAt)
            // Every column a complete session has is present.
            #expect(row.sessionID != nil && row.peerFingerprint != nil && row.modelCommitment != nil && row.planHash != nil)
            #expect(row.engine == "cheetah-he+cryptflow2-ot" && row.ringBits == 37 && row.scale == 12 && row.batch == 100)
        }
    }

    @Test func sessionsTodayCountsThisPeersSessionsSinceMidnightUTC() throws {
        try withTemporaryFolder { folder in
            let ledger = try Ledger(path: folder.file("l.sqlite"))
            let peer = String(repeating: "ab", count: 32), other = String(repeating: "cd", count: 32)
            let yesterday = morning.addingTimeInterval(-86_400)
            let midnight = try #require(Timestamp.parse("2026-11-22T00:00:00.000Z"))
            try ledger.begin(sampleSession(fingerprint: peer, startedAt: midnight))                 // counts (exactly midnight)
            try ledger.begin(sampleSession(fingerprint: peer, startedAt: morning))                  // counts (interrupted)
            let done = try ledger.begin(sampleSession(fingerprint: peer, startedAt: morning.addingTimeInterval(600)))
            try ledger.finish(id: done, outcome: .completed, revealed: "accuracy=1.0000 (360/360)", bytesSent: 1, bytesReceived: 1, rounds: 1)
            try ledger.begin(sampleSession(fingerprint: peer, startedAt: yesterday))                 // yesterday
            try ledger.begin(sampleSession(fingerprint: peer, startedAt: midnight.addingTimeInterval(-0.001)))  // 23:59:59.999 yesterday
            try ledger.begin(sampleSession(fingerprint: other, startedAt: morning))                 // other peer
            var refused = sampleSession(fingerprint: peer, startedAt: morning)
            refused.outcome = .refused(reason: "daily cap of 3 sessions reached")
            try ledger.record(refused)                                                              // refusals do not count

            let now = morning.addingTimeInterval(3600)
            #expect(try ledger.sessionsToday(peerFingerprint: peer, now: now) == 3)
            #expect(try ledger.sessionsToday(peerFingerprint: other, now: now) == 1)
            #expect(try ledger.sessionsToday(peerFingerprint: "ef", now: now) == 0)
            #expect(try ledger.sessionsToday(peerFingerprint: peer, now: yesterday) == 3 + 2)  // "today" was yesterday, later rows included
        }
    }

    @Test func jsonUsesSnakeCaseKeysAndRoundTrips() throws {
        var record = sampleSession()
        record.id = 7
        record.metricRevealed = "threshold 0.9: passed"
        record.outcome = .completed
        record.endedAt = morning.addingTimeInterval(1.5)
        let json = try renderHistoryJSON([record])
        for key in ["\"session_id\"", "\"peer_fingerprint\"", "\"model_commitment\"", "\"dataset_commitment\"", "\"plan_hash\"",
                    "\"ring_bits\"", "\"metric_asked\"", "\"metric_revealed\"", "\"bytes_sent\"", "\"bytes_received\"",
                    "\"started_at\" : \"2026-11-22T09:30:00.250Z\"", "\"ended_at\" : \"2026-11-22T09:30:01.750Z\"",
                    "\"outcome\" : \"completed\""] {
            #expect(json.contains(key), "missing \(key)")
        }
        let decoded = try JSONDecoder().decode([SessionRecord].self, from: Data(json.utf8))
        #expect(decoded == [record])

        let refusal = SessionRecord(party: .hospital, startedAt: morning, outcome: .refused(reason: "model commitment differs from --expect-model"))
        let refusalJSON = try renderHistoryJSON([refusal])
        #expect(refusalJSON.contains("\"session_id\" : null"))
        #expect(try JSONDecoder().decode([SessionRecord].self, from: Data(refusalJSON.utf8)) == [refusal])
    }

    @Test func outcomesAndTimestampsParseStrictly() throws {
        #expect(SessionRecord.Outcome(text: "completed") == .completed)
        #expect(SessionRecord.Outcome(text: "refused: too small") == .refused(reason: "too small"))
        #expect(SessionRecord.Outcome(text: "aborted: interrupted") == .interrupted)
        #expect(SessionRecord.Outcome(text: "running") == nil)
        #expect(Timestamp.parse("2026-11-22T09:30:00Z") == morning.addingTimeInterval(-0.25))
        #expect(Timestamp.parse("2026-11-22 09:30:00Z") == nil)
        #expect(Timestamp.parse("2026-13-22T09:30:00Z") == nil)
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59.000Z")
        for milliseconds in stride(from: Int64(-5_000_000_000_000), to: 5_000_000_000_000, by: 97_654_321_987) {
            let date = Timestamp.date(milliseconds: milliseconds)
            #expect(Timestamp.parse(Timestamp.format(date)) == date)
        }
    }
}

import CSQLite
import Foundation
import Testing
@testable import Ledger

/// Checkpoints, and failures: a full disk, a lock held by another process, a failing statement.
@Suite struct LedgerFaultTests {
    @Test func checkpointsSaveLoadOverwriteDelete() throws {
        try withTemporaryFolder { folder in
            let path = folder.file("l.sqlite")
            let ledger = try Ledger(path: path)
            #expect(try ledger.loadCheckpoint(sessionID: "s1") == nil)
            let share = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            try ledger.saveCheckpoint(sessionID: "s1", batchIndex: 0, share: share)
            try ledger.saveCheckpoint(sessionID: "s2", batchIndex: 5, share: [])
            var loaded = try #require(try ledger.loadCheckpoint(sessionID: "s1"))
            #expect(loaded.batchIndex == 0 && loaded.share == share)
            let empty = try #require(try ledger.loadCheckpoint(sessionID: "s2"))
            #expect(empty.batchIndex == 5 && empty.share == [])

            try ledger.saveCheckpoint(sessionID: "s1", batchIndex: 3, share: [9, 8, 7])
            loaded = try #require(try ledger.loadCheckpoint(sessionID: "s1"))
            #expect(loaded.batchIndex == 3 && loaded.share == [9, 8, 7])
            #expect(try count(ledger, "checkpoints") == 3)  // s1 keeps its two latest (0 and 3), s2 one
            ledger.close()

            let reopened = try Ledger(path: path)
            #expect(try reopened.loadCheckpoint(sessionID: "s1")?.share == [9, 8, 7])
            try reopened.deleteCheckpoint(sessionID: "s1")
            try reopened.deleteCheckpoint(sessionID: "never-saved")
            #expect(try reopened.loadCheckpoint(sessionID: "s1") == nil)
            #expect(try reopened.loadCheckpoint(sessionID: "s2") != nil)
        }
    }

    @Test func keepsTheTwoLatestCheckpointsAndDropsStaleOnes() throws {
        try withTemporaryFolder { folder in
            let ledger = try Ledger(path: folder.file("l.sqlite"))
            for index in 0..<5 { try ledger.saveCheckpoint(sessionID: "v", batchIndex: index, share: [UInt8(index)]) }
            #expect(try ledger.checkpoints(sessionID: "v").map(\.batchIndex) == [3, 4])
            #expect(try ledger.loadCheckpoint(sessionID: "v")?.share == [4])
            // A resumed run that continues after batch 3 rewrites batch 4 and later: nothing stale stays.
            try ledger.saveCheckpoint(sessionID: "v", batchIndex: 4, share: [40])
            #expect(try ledger.checkpoints(sessionID: "v").map(\.share) == [[3], [40]])
            try ledger.saveCheckpoint(sessionID: "v", batchIndex: 2, share: [20])  // a run resumed further back
            #expect(try ledger.checkpoints(sessionID: "v").map(\.batchIndex) == [2])
            // Checkpoints every other batch (two lanes): the previous one is kept, whatever its index.
            for index in [5, 7, 9] { try ledger.saveCheckpoint(sessionID: "w", batchIndex: index, share: [UInt8(index)]) }
            #expect(try ledger.checkpoints(sessionID: "w").map(\.batchIndex) == [7, 9])
            #expect(try ledger.checkpoints(sessionID: "other").isEmpty)
        }
    }

    @Test func aValidationsRowsAndSessionPrefixes() throws {
        try withTemporaryFolder { folder in
            let ledger = try Ledger(path: folder.file("l.sqlite"))
            let first = String(repeating: "a1", count: 32), second = String(repeating: "b2", count: 32)
            try ledger.begin(sampleSession(sessionID: first))
            var resumed = sampleSession(sessionID: second, startedAt: morning.addingTimeInterval(60))
            resumed.resumes = first
            let resumedID = try ledger.begin(resumed)
            try ledger.begin(sampleSession(sessionID: String(repeating: "a9", count: 32)))
            #expect(try ledger.sessions(validation: first).map(\.sessionID) == [first, second])
            #expect(try ledger.session(id: resumedID)?.resumes == first)
            #expect(try ledger.sessionIDs(prefix: "a1a1a1a1") == [first])
            #expect(try ledger.sessionIDs(prefix: "A1").count == 1)
            #expect(try ledger.sessionIDs(prefix: "a").count == 2)
            #expect(try ledger.sessionIDs(prefix: "a%").isEmpty)  // not hex: never a LIKE pattern
        }
    }

    @Test func aFullDiskIsATypedErrorAndLeavesNoHalfRow() throws {
        try withTemporaryFolder { folder in
            let path = folder.file("l.sqlite")
            let ledger = try Ledger(path: path)
            let begun = try ledger.begin(sampleSession())
            // Cap the file a little above its current size (4 KiB pages): a few 64 KiB rows fit,
            // then the next page SQLite needs is "disk full".
            try ledger.withConnection { c throws(LedgerError) in
                let pages = try c.integer("PRAGMA page_count")
                try c.query("PRAGMA max_page_count = \(pages + 40)")
            }
            var big = sampleSession()
            big.peerName = String(repeating: "x", count: 64 * 1024)
            var fullError: LedgerError?
            var written = 0
            for _ in 0..<100 {
                do throws(LedgerError) { try ledger.begin(big); written += 1 } catch { fullError = error; break }
            }
            let error = try #require(fullError)
            #expect(written >= 1)
            guard case .diskFull(let errorPath, let message) = error else {
                Issue.record("expected diskFull, got \(error)"); return
            }
            #expect(errorPath == path)
            #expect(message.contains("full"))
            #expect(error.localizedDescription.contains("disk is full"))

            // finish needs more room too: it fails whole, and the begun row still says interrupted.
            #expect(ledgerError {
                try ledger.finish(id: begun, outcome: .aborted(reason: String(repeating: "r", count: 64 * 1024)), revealed: nil,
                                  bytesSent: 1, bytesReceived: 1, rounds: 1)
            }.map { if case .diskFull = $0 { true } else { false } } == true)
            #expect(ledgerError {
                try ledger.saveCheckpoint(sessionID: "s", batchIndex: 1, share: [UInt8](repeating: 1, count: 64 * 1024))
            }.map { if case .diskFull = $0 { true } else { false } } == true)

            // Still readable, through this connection and a new one; only complete rows.
            for reader in [ledger, try Ledger(path: path)] {
                let rows = try reader.sessions()
                #expect(rows.count == 1 + written)
                #expect(rows.allSatisfy { $0.outcome == .interrupted && $0.sessionID != nil && $0.planHash != nil })
                #expect(try reader.session(id: begun)?.outcome == .interrupted)
                #expect(try reader.loadCheckpoint(sessionID: "s") == nil)
            }
            // A small write that fits still works on the same connection.
            try ledger.finish(id: begun, outcome: .completed, revealed: "accuracy=1.0000 (1/1)", bytesSent: 1, bytesReceived: 1, rounds: 1)
            #expect(try ledger.session(id: begun)?.outcome == .completed)
        }
    }

    @Test func aFailingStatementRollsBackTheWholeTransaction() throws {
        try withTemporaryFolder { folder in
            let path = folder.file("l.sqlite")
            let ledger = try Ledger(path: path)
            let id = try ledger.begin(sampleSession())
            let error = ledgerError {
                try ledger.withConnection { c throws(LedgerError) in
                    try c.transaction { () throws(LedgerError) in
                        try c.query("UPDATE sessions SET outcome = 'completed', rounds = 5 WHERE id = ?", [.integer(id)])
                        try c.query("INSERT INTO checkpoints (session_id, batch_index, share) VALUES ('s', 1, x'00')")
                        // Violates CHECK (images >= 0): the statement and everything before it go.
                        try c.query("UPDATE sessions SET images = -1 WHERE id = ?", [.integer(id)])
                    }
                }
            }
            guard case .constraintViolated(let errorPath, let message) = error else {
                Issue.record("expected constraintViolated, got \(String(describing: error))"); return
            }
            #expect(errorPath == path)
            #expect(message.contains("CHECK"))
            #expect(try ledger.withConnection { c throws(LedgerError) in c.inTransaction } == false)
            let row = try #require(try ledger.session(id: id))
            #expect(row.outcome == .interrupted && row.rounds == 0 && row.images == 360)
            #expect(try count(ledger, "checkpoints") == 0)
        }
    }

    @Test func aRecordTheSchemaRejectsWritesNothing() throws {
        try withTemporaryFolder { folder in
            let path = folder.file("l.sqlite")
            let ledger = try Ledger(path: path)
            var bad = sampleSession()
            bad.ringBits = 0
            guard case .constraintViolated(let errorPath, _) = ledgerError({ try ledger.record(bad) }) else {
                Issue.record("expected constraintViolated"); return
            }
            #expect(errorPath == path)
            bad = sampleSession()
            bad.bytesSent = -1
            #expect(ledgerError { try ledger.begin(bad) } != nil)
            #expect(try count(ledger) == 0)
        }
    }

    @Test func aLockHeldByAnotherProcessIsBusyNotAHang() throws {
        try withTemporaryFolder { folder in
            let path = folder.file("l.sqlite")
            let ledger = try Ledger(path: path, busyTimeoutMilliseconds: 100)
            try ledger.begin(sampleSession())

            var other: OpaquePointer?
            #expect(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK)
            defer { sqlite3_close_v2(other) }
            #expect(sqlite3_exec(other, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK)

            let start = Date()
            let error = ledgerError { try ledger.begin(sampleSession()) }
            #expect(Date().timeIntervalSince(start) < 5)
            guard case .busy(let errorPath, let message) = error else {
                Issue.record("expected busy, got \(String(describing: error))"); return
            }
            #expect(errorPath == path)
            #expect(message.contains("locked"))
            // Readers are not blocked by the writer (WAL).
            #expect(try ledger.sessions().count == 1)

            #expect(sqlite3_exec(other, "ROLLBACK", nil, nil, nil) == SQLITE_OK)
            try ledger.begin(sampleSession())
            #expect(try ledger.sessions().count == 2)
        }
    }

    @Test func concurrentWritersThroughOneLedgerAllLand() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let ledger = try Ledger(path: folder.file("l.sqlite"))
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<10 {
                        let id = try? ledger.begin(sampleSession(sessionID: "\(task)-\(index)"))
                        if let id { try? ledger.finish(id: id, outcome: .completed, revealed: "ok", bytesSent: index, bytesReceived: task, rounds: 1) }
                    }
                }
            }
        }
        let rows = try ledger.sessions()
        #expect(rows.count == 80)
        #expect(rows.allSatisfy { $0.outcome == .completed })
    }
}

import Foundation
import Testing
@testable import Ledger

/// The ledger's pool parts (schema 4): kept per (pool, part), idempotent for the same session,
/// refused for another; pools opened once; a version-3 ledger migrates with its rows intact.
@Suite struct LedgerPoolTests {
    func part(_ pool: String, _ index: Int, of parts: Int = 3, validation: String? = nil, from: String? = nil) -> PoolPartRow {
        PoolPartRow(pool: pool, partIndex: index, parts: parts, validation: validation ?? "v\(index)", programDigest: "p",
                    modelCommitment: "m", datasetCommitment: "d\(index)", metric: "accuracy", images: 40 + index,
                    share: [37, UInt8(index), 0, 0, 0, 0, 0, 0, 0], siteFingerprint: "site\(index)", vendorFingerprint: "vendor",
                    receivedFrom: from, completedAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test func partsAreKeptOncePerPoolAndIndex() throws {
        try withTemporaryFolder { folder in
            let ledger = try Ledger(path: folder.file("l.sqlite"))
            try ledger.savePoolPart(part("a", 1))
            try ledger.savePoolPart(part("a", 0, from: "site0"))
            try ledger.savePoolPart(part("b", 0, of: 2))
            // The same part of the same session again: nothing changes.
            try ledger.savePoolPart(part("a", 1))
            #expect(try ledger.poolParts(pool: "a") == [part("a", 0, from: "site0"), part("a", 1)])
            // Another session for a part already held is refused, naming both.
            #expect(throws: LedgerError.conflictingPoolPart(path: ledger.path, pool: "a", part: 1, held: "v1", offered: "other")) {
                try ledger.savePoolPart(part("a", 1, validation: "other"))
            }
            #expect(try ledger.poolParts(pool: "a").count == 2)
            // A part index outside the pool violates the schema.
            #expect(throws: (any Error).self) { try ledger.savePoolPart(part("c", 3, of: 3)) }
            #expect(try ledger.poolOpening(pool: "a") == nil)
            try ledger.markPoolOpened(pool: "a", sessionID: "open1")
            #expect(try ledger.poolOpening(pool: "a") == "open1")
            #expect(throws: (any Error).self) { try ledger.markPoolOpened(pool: "a", sessionID: "open2") }
            let pools = try ledger.pools()
            #expect(pools.map(\.pool) == ["a", "b"] && pools.map(\.held) == [2, 1] && pools.map(\.parts) == [3, 2])
            #expect(pools.map(\.openedBy) == ["open1", nil])
        }
    }

    @Test func aVersion3LedgerGainsPoolTables() throws {
        try withTemporaryFolder { folder in
            let path = folder.file("l.sqlite")
            let old = try Ledger(path: path, readOnly: false, busyTimeoutMilliseconds: 1000, migrations: Array(Schema.all.prefix(3)))
            try old.withConnection { c throws(LedgerError) in
                try c.query("""
                    INSERT INTO sessions (session_id, party, images, bytes_sent, bytes_received, rounds, started_at, ended_at, outcome, commitment_salt)
                    VALUES ('s3', 'vendor', 143, 1, 2, 3, '2026-11-23T09:30:00.000Z', '2026-11-23T09:31:00.000Z', 'completed', NULL)
                    """)
            }
            old.close()
            let ledger = try Ledger(path: path)
            #expect(try ledger.withConnection { c throws(LedgerError) in try c.integer("PRAGMA user_version") } == Int64(Schema.currentVersion))
            let row = try #require(try ledger.sessions().first)
            #expect(row.pool == nil && row.sessionID == "s3" && row.reportSHA256 == nil)
            var pooled = sampleSession()
            pooled.pool = "study part 2/3"
            let pooledID = try ledger.record(pooled)
            #expect(try ledger.session(id: pooledID)?.pool == "study part 2/3")
            try ledger.savePoolPart(part("study", 1))
            #expect(try ledger.poolParts(pool: "study").first?.share == part("study", 1).share)
        }
    }
}

/// Several processes opening one new ledger at once (a Slurm job array's shards share one): every
/// open waits for the others instead of failing with "database is locked".
@Suite struct LedgerConcurrentOpenTests {
    @Test func eightConnectionsOpenAFreshLedgerAtOnce() throws {
        for round in 0..<30 {
            try withTemporaryFolder { folder in
                let path = folder.file("shared-\(round).sqlite")
                let failures = Failures()
                DispatchQueue.concurrentPerform(iterations: 8) { i in
                    do {
                        let ledger = try Ledger(path: path)
                        try ledger.savePoolPart(PoolPartRow(pool: "p", partIndex: i, parts: 8, validation: "v\(i)", programDigest: "d",
                                                            modelCommitment: "m", datasetCommitment: "c", metric: "accuracy", images: 1,
                                                            share: [37, 0, 0, 0, 0, 0, 0, 0, 0], siteFingerprint: nil, vendorFingerprint: nil))
                        ledger.close()
                    } catch {
                        failures.add("\(error)")
                    }
                }
                #expect(failures.all.isEmpty)
                let count = try Ledger(path: path).poolParts(pool: "p").count
                #expect(count == 8)
            }
        }
    }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ failure: String) { lock.lock(); list.append(failure); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return list }
}

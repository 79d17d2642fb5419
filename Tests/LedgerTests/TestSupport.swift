import CSQLite
import Foundation
import Testing
@testable import Ledger

/// A fresh folder under the system temporary directory, removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("sv-ledger-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs `body` with a fresh temporary folder and removes it afterwards.
func withTemporaryFolder<T>(_ body: (TemporaryFolder) throws -> T) throws -> T {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    return try body(folder)
}

/// Runs `body` and returns the `LedgerError` it threw; records an issue if it threw nothing or
/// something else.
@discardableResult
func ledgerError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> LedgerError? {
    do {
        try body()
        Issue.record("expected a LedgerError, but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as LedgerError {
        return error
    } catch {
        Issue.record("expected a LedgerError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A fixed start time: 2026-11-22T09:30:00.250Z.
let morning = Date(timeIntervalSince1970: 1_795_339_800.25)

/// A session as the vendor records it when the handshake is done.
func sampleSession(
    sessionID: String = "3f9a1c2e4b7d8e9f00112233445566778899aabbccddeeff0011223344556677",
    party: SessionRecord.Party = .vendor,
    peer: String = "hospital-a",
    fingerprint: String = String(repeating: "ab", count: 32),
    startedAt: Date = morning
) -> SessionRecord {
    SessionRecord(
        sessionID: sessionID, party: party, peerFingerprint: fingerprint, peerName: peer,
        modelCommitment: String(repeating: "11", count: 32), datasetCommitment: String(repeating: "22", count: 32),
        planHash: String(repeating: "33", count: 32), engine: "cheetah-he+cryptflow2-ot",
        ringBits: 37, scale: 12, batch: 100, metricAsked: "accuracy", images: 360, startedAt: startedAt)
}

/// Raw SQLite access that bypasses the Ledger, for setting up damaged or foreign files.
func rawSQL(_ path: String, _ sql: String) throws {
    var db: OpaquePointer?
    defer { sqlite3_close_v2(db) }
    guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK else {
        throw RawSQLError(message: "open \(path)")
    }
    var message: UnsafeMutablePointer<CChar>?
    let code = sqlite3_exec(db, sql, nil, nil, &message)
    defer { sqlite3_free(message) }
    guard code == SQLITE_OK else { throw RawSQLError(message: message.map { String(cString: $0) } ?? "code \(code)") }
}

struct RawSQLError: Error { let message: String }

/// The bytes of a file (to prove a refused file was not modified).
func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

/// The number of rows in `table`, read through the ledger's own connection.
func count(_ ledger: Ledger, _ table: String = "sessions") throws -> Int {
    Int(try ledger.withConnection { connection throws(LedgerError) in try connection.integer("SELECT COUNT(*) FROM \(table)") })
}

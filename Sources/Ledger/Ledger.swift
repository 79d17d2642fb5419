import CSQLite
import Foundation

/// A party's ledger: one SQLite file holding a row per validation session (and per refused
/// attempt), plus the resume checkpoints of validations in progress (the two latest per validation).
///
/// Contract:
/// - Every write is one `BEGIN IMMEDIATE … COMMIT` transaction, rolled back whole on any error:
///   a crash, a full disk or a lock never leaves a half-written row.
/// - A session is written as a complete row *before* it runs (``begin(_:)``, outcome
///   `aborted: interrupted`) and updated when it ends (``finish(id:outcome:revealed:bytesSent:bytesReceived:rounds:endedAt:images:datasetCommitment:reportSHA256:)``),
///   so a process killed mid-session leaves a row that says it was interrupted.
/// - The schema is versioned (`PRAGMA user_version`) and migrated forward on open, one
///   transaction per migration. A ledger from a newer program, a file that is not an SQLite
///   database, an SQLite database that is not a ledger, and a damaged ledger (`PRAGMA
///   quick_check`) are refused and left byte-for-byte untouched.
/// - Failures are ``LedgerError`` values naming the file and quoting SQLite; nothing traps.
///
/// The file uses WAL journaling (readers never block the writer), a busy timeout, and foreign keys.
/// A new ledger is created readable by its owner only (0600): it lists the peers a party dealt with.
/// One `Ledger` may be shared between tasks; its calls are serialised.
public final class Ledger: @unchecked Sendable {
    /// The file this ledger lives in.
    public let path: String
    /// True when opened with `readOnly: true`: reads work, writes throw ``LedgerError/readOnly(path:message:)``.
    public let isReadOnly: Bool

    private let connection: SQLiteConnection
    private let lock = NSLock()

    /// The schema version this program reads and writes.
    public static var schemaVersion: Int { Schema.currentVersion }

    /// Opens the ledger at `path`, creating it (and migrating it to the current schema) if needed.
    ///
    /// - Parameters:
    ///   - path: the SQLite file; its folder must exist (``defaultPath(party:)`` creates its own).
    ///   - readOnly: open for reading only (e.g. to show the history of a ledger one may not
    ///     write); the file must exist and already be at the current schema.
    ///   - busyTimeoutMilliseconds: how long a statement waits for another process's lock before
    ///     failing with ``LedgerError/busy(path:message:)``.
    public convenience init(path: String, readOnly: Bool = false, busyTimeoutMilliseconds: Int32 = 5000) throws(LedgerError) {
        try self.init(path: path, readOnly: readOnly, busyTimeoutMilliseconds: busyTimeoutMilliseconds, migrations: Schema.all)
    }

    /// Opens with an explicit migration list (tests exercise failing and future migrations).
    init(path: String, readOnly: Bool, busyTimeoutMilliseconds: Int32, migrations: [Migration]) throws(LedgerError) {
        // Several processes may open one new ledger at once (a job array's shards): switching a
        // fresh file to WAL can report "database is locked" without waiting for the busy timeout,
        // so the whole open is retried (every step is a read, an idempotent pragma or a
        // transaction) until the timeout has passed.
        let deadline = Date().addingTimeInterval(Double(busyTimeoutMilliseconds) / 1000)
        var opened: SQLiteConnection?
        while opened == nil {
            do {
                opened = try Self.open(path: path, readOnly: readOnly, busyTimeoutMilliseconds: busyTimeoutMilliseconds, migrations: migrations)
            } catch {
                guard case .busy = error, Date() < deadline else { throw error }
                usleep(useconds_t(10_000 + Int.random(in: 0..<20_000)))  // jitter only: nothing secret
            }
        }
        self.connection = opened!
        self.path = path
        self.isReadOnly = readOnly
    }

    /// Closes the file. Later calls throw ``LedgerError/closed(path:)``. Also done on `deinit`.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        connection.close()
    }

    // MARK: Default location

    /// `$XDG_DATA_HOME/securevalidation/<party>-ledger.sqlite`, or
    /// `~/.local/share/securevalidation/<party>-ledger.sqlite` when `XDG_DATA_HOME` is unset or
    /// not absolute (as the XDG base-directory specification says). Creates the folder (0700).
    public static func defaultPath(party: SessionRecord.Party, environment: [String: String] = ProcessInfo.processInfo.environment) throws(LedgerError) -> String {
        let base: String
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            base = xdg
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.homeDirectoryForCurrentUser.path
            base = (home as NSString).appendingPathComponent(".local/share")
        }
        let folder = (base as NSString).appendingPathComponent("securevalidation")
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw LedgerError.cannotCreateDirectory(path: folder, message: (error as NSError).localizedDescription)
        }
        return (folder as NSString).appendingPathComponent("\(party.rawValue)-ledger.sqlite")
    }

    // MARK: Sessions

    /// Records the start of a session: inserts `record` as a complete row whose outcome is
    /// ``SessionRecord/Outcome/interrupted`` and whose `ended_at` equals `started_at` (the
    /// record's `outcome`, `endedAt` and `metricRevealed` are ignored). Returns the row id to pass
    /// to ``finish(id:outcome:revealed:bytesSent:bytesReceived:rounds:endedAt:images:datasetCommitment:reportSHA256:)``.
    @discardableResult
    public func begin(_ record: SessionRecord) throws(LedgerError) -> Int64 {
        var row = record
        row.outcome = .interrupted
        row.endedAt = record.startedAt
        row.metricRevealed = nil
        return try insert(row)
    }

    /// Records how a session begun with ``begin(_:)`` ended, in one transaction: outcome, the
    /// revealed metric (nil unless completed), the final counters and the end time. `images` and
    /// `datasetCommitment` overwrite the begun row's values when given; `reportSHA256` records the
    /// signed report made at the end of the session (SHA-256 of its statement).
    public func finish(
        id: Int64,
        outcome: SessionRecord.Outcome,
        revealed: String?,
        bytesSent: Int,
        bytesReceived: Int,
        rounds: Int,
        endedAt: Date = Date(),
        images: Int? = nil,
        datasetCommitment: String? = nil,
        reportSHA256: String? = nil
    ) throws(LedgerError) {
        try locked { () throws(LedgerError) in
            try connection.transaction { () throws(LedgerError) in
                try connection.query("""
                    UPDATE sessions SET outcome = ?, metric_revealed = ?, bytes_sent = ?, bytes_received = ?,
                        rounds = ?, ended_at = ?, images = COALESCE(?, images),
                        dataset_commitment = COALESCE(?, dataset_commitment), report_sha256 = COALESCE(?, report_sha256)
                    WHERE id = ?
                    """, [
                        .text(outcome.description), SQLValue(revealed), SQLValue(bytesSent), SQLValue(bytesReceived),
                        SQLValue(rounds), .text(Timestamp.format(endedAt)), SQLValue(images),
                        SQLValue(datasetCommitment), SQLValue(reportSHA256), .integer(id),
                    ])
                if connection.changes != 1 { throw LedgerError.noSuchSession(path: path, id: id) }
            }
        }
    }

    // MARK: Model salts

    /// The salt of the vendor's commitment to the model whose unsalted digest is `digest`: the one
    /// this ledger holds, or else `fresh` (a new random salt), stored first. One salt per model, so
    /// every session commits to the same model the same way. The salt is 64 hex digits.
    public func modelSalt(digest: String, fresh: @autoclosure () -> String, now: Date = Date()) throws(LedgerError) -> String {
        try locked { () throws(LedgerError) in
            try connection.transaction { () throws(LedgerError) -> String in
                let rows = try connection.query("SELECT salt FROM model_salts WHERE model_digest = ?", [.text(digest)])
                if let row = rows.first, case .text(let salt)? = row.first { return salt }
                let salt = fresh()
                try connection.query("INSERT INTO model_salts (model_digest, salt, created_at) VALUES (?, ?, ?)",
                                     [.text(digest), .text(salt), .text(Timestamp.format(now))])
                return salt
            }
        }
    }

    /// Writes a complete row in one go (a refusal, which never runs), exactly as given.
    @discardableResult
    public func record(_ complete: SessionRecord) throws(LedgerError) -> Int64 {
        try insert(complete)
    }

    /// The most recent sessions first (by start time, then row id), at most `limit` of them.
    public func sessions(limit: Int? = nil) throws(LedgerError) -> [SessionRecord] {
        try locked { () throws(LedgerError) in
            let rows = try connection.query(
                "SELECT \(Self.columns) FROM sessions ORDER BY started_at DESC, id DESC LIMIT ?",
                [.integer(Int64(limit ?? -1))])
            var records: [SessionRecord] = []
            for row in rows { records.append(try decode(row)) }
            return records
        }
    }

    /// The row with this id, or nil.
    public func session(id: Int64) throws(LedgerError) -> SessionRecord? {
        try locked { () throws(LedgerError) in
            guard let row = try connection.query("SELECT \(Self.columns) FROM sessions WHERE id = ?", [.integer(id)]).first
            else { return nil }
            return try decode(row)
        }
    }

    /// How many sessions with this peer started on the current UTC day (from midnight UTC up to
    /// `now`), for a per-peer daily cap. Refused attempts do not count; interrupted and aborted
    /// sessions do (they ran).
    public func sessionsToday(peerFingerprint: String, now: Date = Date()) throws(LedgerError) -> Int {
        try locked { () throws(LedgerError) in
            Int(try connection.integer("""
                SELECT COUNT(*) FROM sessions
                WHERE peer_fingerprint = ? AND started_at >= ? AND outcome NOT LIKE 'refused: %'
                """, [.text(peerFingerprint), .text(Timestamp.startOfDay(now))]))
        }
    }

    /// The rows of one validation: the session `validation` and every resumed run of it
    /// (`resumes = validation`), oldest first.
    public func sessions(validation: String) throws(LedgerError) -> [SessionRecord] {
        try locked { () throws(LedgerError) in
            let rows = try connection.query(
                "SELECT \(Self.columns) FROM sessions WHERE session_id = ? OR resumes = ? ORDER BY started_at, id",
                [.text(validation), .text(validation)])
            var records: [SessionRecord] = []
            for row in rows { records.append(try decode(row)) }
            return records
        }
    }

    /// The distinct session ids that start with `prefix` (case-insensitive hex), at most `limit`,
    /// so that a user can name a session by the first digits `history` shows.
    public func sessionIDs(prefix: String, limit: Int = 10) throws(LedgerError) -> [String] {
        try locked { () throws(LedgerError) in
            let escaped = prefix.lowercased().filter(\.isHexDigit)
            guard escaped.count == prefix.count else { return [] }
            return try connection.query(
                "SELECT DISTINCT session_id FROM sessions WHERE session_id LIKE ? ORDER BY session_id LIMIT ?",
                [.text(escaped + "%"), .integer(Int64(limit))]).compactMap { row -> String? in
                    if case .text(let id)? = row.first { return id } else { return nil }
                }
        }
    }

    // MARK: Resume checkpoints

    /// Saves this party's checkpoint of a validation after batch `batchIndex` (0-based): its own
    /// share of the running sum. Keeps the two latest checkpoints (`batchIndex` and the one before it;
    /// with several lanes checkpoints come every few batches) and drops the others, including any
    /// after `batchIndex` left by an earlier run, in the same transaction: when a connection drops
    /// the parties may be one checkpoint apart, and the latest both completed is then among each
    /// party's last two. A share
    /// alone reveals nothing, but it is this party's half of a secret: it never appears in an error
    /// or a log line.
    public func saveCheckpoint(sessionID: String, batchIndex: Int, share: [UInt8], savedAt: Date = Date()) throws(LedgerError) {
        try locked { () throws(LedgerError) in
            try connection.transaction { () throws(LedgerError) in
                try connection.query("""
                    INSERT INTO checkpoints (session_id, batch_index, share, saved_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (session_id, batch_index) DO UPDATE SET share = excluded.share, saved_at = excluded.saved_at
                    """, [.text(sessionID), SQLValue(batchIndex), .blob(share), .text(Timestamp.format(savedAt))])
                try connection.query("""
                    DELETE FROM checkpoints WHERE session_id = ?1 AND (batch_index > ?2 OR batch_index < (
                        SELECT MIN(batch_index) FROM (SELECT batch_index FROM checkpoints
                            WHERE session_id = ?1 AND batch_index <= ?2 ORDER BY batch_index DESC LIMIT 2)))
                    """, [.text(sessionID), SQLValue(batchIndex)])
            }
        }
    }

    /// The saved checkpoints of a validation (at most two), by batch index, oldest first.
    public func checkpoints(sessionID: String) throws(LedgerError) -> [(batchIndex: Int, share: [UInt8])] {
        try locked { () throws(LedgerError) in
            try connection.query(
                "SELECT batch_index, share FROM checkpoints WHERE session_id = ? ORDER BY batch_index", [.text(sessionID)]
            ).map { row throws(LedgerError) -> (batchIndex: Int, share: [UInt8]) in
                guard row.count == 2, case .integer(let index) = row[0], case .blob(let share) = row[1] else {
                    throw LedgerError.invalidRow(path: path, reason: "the checkpoint of a session has the wrong column types")
                }
                return (Int(index), share)
            }
        }
    }

    /// The latest saved checkpoint of a validation, or nil.
    public func loadCheckpoint(sessionID: String) throws(LedgerError) -> (batchIndex: Int, share: [UInt8])? {
        try checkpoints(sessionID: sessionID).last
    }

    /// Deletes a validation's checkpoints (once it completed); nothing happens if there are none.
    public func deleteCheckpoint(sessionID: String) throws(LedgerError) {
        try locked { () throws(LedgerError) in
            try connection.transaction { () throws(LedgerError) in
                try connection.query("DELETE FROM checkpoints WHERE session_id = ?", [.text(sessionID)])
            }
        }
    }

    // MARK: Internals

    /// Runs `body` with the connection under the lock (tests use it to reach SQLite directly).
    func withConnection<T>(_ body: (SQLiteConnection) throws(LedgerError) -> T) throws(LedgerError) -> T {
        try locked { () throws(LedgerError) in try body(connection) }
    }

    @discardableResult
    private func locked<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private static let columns = """
        id, session_id, party, peer_fingerprint, peer_name, model_commitment, dataset_commitment, plan_hash, \
        engine, ring_bits, scale, batch, metric_asked, metric_revealed, images, bytes_sent, bytes_received, \
        rounds, started_at, ended_at, outcome, resumes, commitment_salt, pool, report_sha256
        """

    private func insert(_ r: SessionRecord) throws(LedgerError) -> Int64 {
        try locked { () throws(LedgerError) in
            try connection.transaction { () throws(LedgerError) in
                try connection.query("""
                    INSERT INTO sessions (session_id, party, peer_fingerprint, peer_name, model_commitment,
                        dataset_commitment, plan_hash, engine, ring_bits, scale, batch, metric_asked,
                        metric_revealed, images, bytes_sent, bytes_received, rounds, started_at, ended_at, outcome, resumes,
                        commitment_salt, pool, report_sha256)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [
                        SQLValue(r.sessionID), .text(r.party.rawValue), SQLValue(r.peerFingerprint), SQLValue(r.peerName),
                        SQLValue(r.modelCommitment), SQLValue(r.datasetCommitment), SQLValue(r.planHash), SQLValue(r.engine),
                        SQLValue(r.ringBits), SQLValue(r.scale), SQLValue(r.batch), SQLValue(r.metricAsked),
                        SQLValue(r.metricRevealed), SQLValue(r.images), SQLValue(r.bytesSent), SQLValue(r.bytesReceived),
                        SQLValue(r.rounds), .text(Timestamp.format(r.startedAt)), .text(Timestamp.format(r.endedAt)),
                        .text(r.outcome.description), SQLValue(r.resumes), SQLValue(r.commitmentSalt), SQLValue(r.pool),
                        SQLValue(r.reportSHA256),
                    ])
                return connection.lastInsertRowID
            }
        }
    }

    private func decode(_ row: [SQLValue]) throws(LedgerError) -> SessionRecord {
        var column = 0
        func invalid(_ what: String) -> LedgerError {
            let id: String
            if case .integer(let value) = row.first { id = "row \(value)" } else { id = "a row" }
            return LedgerError.invalidRow(path: path, reason: "\(id): \(what)")
        }
        func next() -> SQLValue { defer { column += 1 }; return column < row.count ? row[column] : .null }
        func text(_ name: String) throws(LedgerError) -> String? {
            switch next() {
            case .null: return nil
            case .text(let value): return value
            default: throw invalid("\(name) is not text")
            }
        }
        func integer(_ name: String) throws(LedgerError) -> Int? {
            switch next() {
            case .null: return nil
            case .integer(let value): return Int(value)
            default: throw invalid("\(name) is not an integer")
            }
        }
        func required<T>(_ value: T?, _ name: String) throws(LedgerError) -> T {
            guard let value else { throw invalid("\(name) is missing") }
            return value
        }
        let id = try integer("id").map(Int64.init)
        let sessionID = try text("session_id")
        let partyText = try required(try text("party"), "party")
        guard let party = SessionRecord.Party(rawValue: partyText) else { throw invalid("party is \"\(partyText)\"") }
        let peerFingerprint = try text("peer_fingerprint"), peerName = try text("peer_name")
        let modelCommitment = try text("model_commitment"), datasetCommitment = try text("dataset_commitment")
        let planHash = try text("plan_hash"), engine = try text("engine")
        let ringBits = try integer("ring_bits"), scale = try integer("scale"), batch = try integer("batch")
        let metricAsked = try text("metric_asked"), metricRevealed = try text("metric_revealed")
        let images = try required(try integer("images"), "images")
        let bytesSent = try required(try integer("bytes_sent"), "bytes_sent")
        let bytesReceived = try required(try integer("bytes_received"), "bytes_received")
        let rounds = try required(try integer("rounds"), "rounds")
        let startedText = try required(try text("started_at"), "started_at")
        let endedText = try required(try text("ended_at"), "ended_at")
        guard let startedAt = Timestamp.parse(startedText) else { throw invalid("started_at is \"\(startedText)\"") }
        guard let endedAt = Timestamp.parse(endedText) else { throw invalid("ended_at is \"\(endedText)\"") }
        let outcomeText = try required(try text("outcome"), "outcome")
        guard let outcome = SessionRecord.Outcome(text: outcomeText) else { throw invalid("outcome is \"\(outcomeText)\"") }
        let resumes = try text("resumes")
        let commitmentSalt = try text("commitment_salt")
        let pool = try text("pool")
        let reportSHA256 = try text("report_sha256")
        return SessionRecord(
            id: id, sessionID: sessionID, party: party, peerFingerprint: peerFingerprint, peerName: peerName,
            modelCommitment: modelCommitment, datasetCommitment: datasetCommitment, planHash: planHash, engine: engine,
            ringBits: ringBits, scale: scale, batch: batch, metricAsked: metricAsked, metricRevealed: metricRevealed,
            images: images, bytesSent: bytesSent, bytesReceived: bytesReceived, rounds: rounds,
            startedAt: startedAt, endedAt: endedAt, outcome: outcome, resumes: resumes, commitmentSalt: commitmentSalt,
            pool: pool, reportSHA256: reportSHA256)
    }

    /// Opens, checks and migrates. Every check that can refuse the file runs before anything is
    /// written to it (WAL mode rewrites the header), so a refused file is left byte-for-byte as it was.
    private static func open(path: String, readOnly: Bool, busyTimeoutMilliseconds: Int32, migrations: [Migration]) throws(LedgerError) -> SQLiteConnection {
        let known = migrations.last?.version ?? 0
        var isDirectory: ObjCBool = false
        let existed = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue { throw LedgerError.cannotOpen(path: path, message: "it is a folder, not a file") }
        if readOnly && !existed { throw LedgerError.cannotOpen(path: path, message: "no such file") }

        let connection = try SQLiteConnection(path: path, readOnly: readOnly, create: true)
        do throws(LedgerError) {
            connection.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)
            // The checks below read one snapshot: another process creating the same ledger commits
            // its first migration (tables, version and application id together) before or after
            // it, never in between.
            try connection.execute("BEGIN DEFERRED")
            var snapshotOpen = true
            defer { if snapshotOpen { try? connection.execute("ROLLBACK") } }
            let version = Int(try connection.integer("PRAGMA user_version"))
            let applicationID = try connection.integer("PRAGMA application_id")
            if version > known { throw LedgerError.newerSchema(path: path, found: version, known: known) }
            if applicationID != 0 && applicationID != Schema.applicationID {
                throw LedgerError.notALedger(path: path, reason: "its application_id is \(applicationID), a ledger's is \(Schema.applicationID)")
            }
            if version > 0 && applicationID != Schema.applicationID {
                throw LedgerError.notALedger(path: path, reason: "it has schema version \(version) but no ledger application_id")
            }
            if version == 0 {
                let tables = try connection.integer("SELECT COUNT(*) FROM sqlite_master")
                if tables > 0 { throw LedgerError.notALedger(path: path, reason: "it already holds \(tables) tables or indexes of another program") }
            }
            if version > 0 {
                // A damaged ledger is refused before anything is written to it.
                let problems = try connection.query("PRAGMA quick_check(3)").flatMap { row -> [String] in
                    guard case .text(let text) = row.first, text != "ok" else { return [] }
                    return text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("***") }
                }
                if !problems.isEmpty {
                    throw LedgerError.corrupt(path: path, message: "quick_check: " + problems.prefix(3).joined(separator: "; "))
                }
            }
            try connection.execute("COMMIT")
            snapshotOpen = false
            if readOnly {
                if version != known { throw LedgerError.needsMigration(path: path, found: version, known: known) }
                try connection.execute("PRAGMA query_only = ON")
                return connection
            }
            if connection.isReadOnly {
                throw LedgerError.readOnly(path: path, message: "the file or its folder is not writable")
            }
            try connection.query("PRAGMA journal_mode = WAL")
            try connection.execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON")
            try migrate(connection, from: version, with: migrations)
            if !existed { chmod(path, 0o600) }
            return connection
        } catch {
            connection.close()
            throw error
        }
    }

    /// Applies every migration newer than `version`, each in its own transaction that also sets
    /// `user_version`; re-reads the version inside the transaction so that two processes opening
    /// the same new ledger at once migrate it once.
    static func migrate(_ connection: SQLiteConnection, from version: Int, with migrations: [Migration]) throws(LedgerError) {
        let known = migrations.last?.version ?? 0
        for migration in migrations where migration.version > version {
            try connection.transaction { () throws(LedgerError) in
                let current = Int(try connection.integer("PRAGMA user_version"))
                if current > known { throw LedgerError.newerSchema(path: connection.path, found: current, known: known) }
                guard current < migration.version else { return }
                for statement in migration.statements { try connection.execute(statement) }
                try connection.execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }
}

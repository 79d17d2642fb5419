import Foundation

/// One completed part of a pooled validation as a ledger keeps it (table `pool_parts`): what was
/// agreed and this party's share of the part's count.
///
/// Contract: `share` is one party's half of a secret; it never appears in an error, a log line or
/// `history`. The vendor keeps its own shares; a hospital keeps its own and, as a pool's aggregator,
/// those the sites sent it (`receivedFrom`: the sending site's certificate fingerprint).
public struct PoolPartRow: Sendable, Equatable {
    public var pool: String
    /// 0-based.
    public var partIndex: Int
    public var parts: Int
    /// The part's session id (its first run's, when resumed).
    public var validation: String
    public var programDigest: String
    public var modelCommitment: String
    public var datasetCommitment: String
    public var metric: String
    public var images: Int
    public var share: [UInt8]
    /// The certificate fingerprint of the site that ran the part.
    public var siteFingerprint: String?
    /// The vendor's certificate fingerprint, as the site saw it.
    public var vendorFingerprint: String?
    /// For a share an aggregator received: the certificate it came from.
    public var receivedFrom: String?
    public var completedAt: Date

    public init(pool: String, partIndex: Int, parts: Int, validation: String, programDigest: String, modelCommitment: String,
                datasetCommitment: String, metric: String, images: Int, share: [UInt8], siteFingerprint: String?,
                vendorFingerprint: String?, receivedFrom: String? = nil, completedAt: Date = Date()) {
        self.pool = pool
        self.partIndex = partIndex
        self.parts = parts
        self.validation = validation
        self.programDigest = programDigest
        self.modelCommitment = modelCommitment
        self.datasetCommitment = datasetCommitment
        self.metric = metric
        self.images = images
        self.share = share
        self.siteFingerprint = siteFingerprint
        self.vendorFingerprint = vendorFingerprint
        self.receivedFrom = receivedFrom
        self.completedAt = Timestamp.rounded(completedAt)
    }
}

extension Ledger {
    /// Keeps a completed part. Saving the same part of the same session again changes nothing (a
    /// site may send its shares twice); another session for a part this ledger already holds is
    /// refused with ``LedgerError/conflictingPoolPart(path:pool:part:held:offered:)``, and nothing
    /// is written.
    public func savePoolPart(_ row: PoolPartRow) throws(LedgerError) {
        try withConnection { (connection) throws(LedgerError) in
            try connection.transaction { () throws(LedgerError) in
                let held = try connection.query("SELECT validation FROM pool_parts WHERE pool = ? AND part_index = ?",
                                                [.text(row.pool), SQLValue(row.partIndex)])
                if let first = held.first, case .text(let validation)? = first.first {
                    guard validation == row.validation else {
                        throw LedgerError.conflictingPoolPart(path: path, pool: row.pool, part: row.partIndex, held: validation, offered: row.validation)
                    }
                    return
                }
                try connection.query("""
                    INSERT INTO pool_parts (pool, part_index, parts, validation, program_digest, model_commitment,
                        dataset_commitment, metric, images, share, site_fingerprint, vendor_fingerprint, received_from, completed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [
                        .text(row.pool), SQLValue(row.partIndex), SQLValue(row.parts), .text(row.validation), .text(row.programDigest),
                        .text(row.modelCommitment), .text(row.datasetCommitment), .text(row.metric), SQLValue(row.images),
                        .blob(row.share), SQLValue(row.siteFingerprint), SQLValue(row.vendorFingerprint), SQLValue(row.receivedFrom),
                        .text(Timestamp.format(row.completedAt)),
                    ])
            }
        }
    }

    /// The parts of `pool` this ledger holds, in part order.
    public func poolParts(pool: String) throws(LedgerError) -> [PoolPartRow] {
        try withConnection { (connection) throws(LedgerError) in
            try connection.query("""
                SELECT pool, part_index, parts, validation, program_digest, model_commitment, dataset_commitment, metric,
                    images, share, site_fingerprint, vendor_fingerprint, received_from, completed_at
                FROM pool_parts WHERE pool = ? ORDER BY part_index
                """, [.text(pool)]).map { (row) throws(LedgerError) -> PoolPartRow in try decodePart(row) }
        }
    }

    /// The pools this ledger holds parts of, by name: how many parts each has, how many are here,
    /// and the session that opened it (nil while not opened).
    public func pools() throws(LedgerError) -> [(pool: String, parts: Int, held: Int, openedBy: String?)] {
        try withConnection { (connection) throws(LedgerError) in
            try connection.query("""
                SELECT p.pool, MAX(p.parts), COUNT(*), o.session_id FROM pool_parts p
                LEFT JOIN pool_openings o ON o.pool = p.pool GROUP BY p.pool ORDER BY p.pool
                """).map { (row) throws(LedgerError) -> (pool: String, parts: Int, held: Int, openedBy: String?) in
                guard row.count == 4, case .text(let pool) = row[0], case .integer(let parts) = row[1], case .integer(let held) = row[2] else {
                    throw LedgerError.invalidRow(path: path, reason: "a pool summary has the wrong column types")
                }
                if case .text(let session) = row[3] { return (pool, Int(parts), Int(held), session) }
                return (pool, Int(parts), Int(held), nil)
            }
        }
    }

    /// The session that opened `pool`, or nil.
    public func poolOpening(pool: String) throws(LedgerError) -> String? {
        try withConnection { (connection) throws(LedgerError) in
            let rows = try connection.query("SELECT session_id FROM pool_openings WHERE pool = ?", [.text(pool)])
            if let row = rows.first, case .text(let session)? = row.first { return session }
            return nil
        }
    }

    /// Records that session `sessionID` opened `pool` (a pool is opened once: a second call for the
    /// same pool is a ``LedgerError/constraintViolated(path:message:)``).
    public func markPoolOpened(pool: String, sessionID: String, at date: Date = Date()) throws(LedgerError) {
        try withConnection { (connection) throws(LedgerError) in
            try connection.transaction { () throws(LedgerError) in
                try connection.query("INSERT INTO pool_openings (pool, session_id, opened_at) VALUES (?, ?, ?)",
                                     [.text(pool), .text(sessionID), .text(Timestamp.format(date))])
            }
        }
    }

    private func decodePart(_ row: [SQLValue]) throws(LedgerError) -> PoolPartRow {
        func invalid(_ what: String) -> LedgerError { .invalidRow(path: path, reason: "a pool part: \(what)") }
        guard row.count == 14 else { throw invalid("\(row.count) columns") }
        func text(_ i: Int, _ name: String) throws(LedgerError) -> String {
            guard case .text(let value) = row[i] else { throw invalid("\(name) is not text") }
            return value
        }
        func optionalText(_ i: Int) -> String? { if case .text(let value) = row[i] { value } else { nil } }
        func integer(_ i: Int, _ name: String) throws(LedgerError) -> Int {
            guard case .integer(let value) = row[i] else { throw invalid("\(name) is not an integer") }
            return Int(value)
        }
        guard case .blob(let share) = row[9] else { throw invalid("share is not a blob") }
        let completedText = try text(13, "completed_at")
        guard let completedAt = Timestamp.parse(completedText) else { throw invalid("completed_at is \"\(completedText)\"") }
        return PoolPartRow(pool: try text(0, "pool"), partIndex: try integer(1, "part_index"), parts: try integer(2, "parts"),
                           validation: try text(3, "validation"), programDigest: try text(4, "program_digest"),
                           modelCommitment: try text(5, "model_commitment"), datasetCommitment: try text(6, "dataset_commitment"),
                           metric: try text(7, "metric"), images: try integer(8, "images"), share: share,
                           siteFingerprint: optionalText(10), vendorFingerprint: optionalText(11), receivedFrom: optionalText(12),
                           completedAt: completedAt)
    }
}

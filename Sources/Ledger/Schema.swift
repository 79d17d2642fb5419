/// One step of the ledger's schema history: the statements that take a ledger from
/// `version - 1` to `version`. Applied in its own transaction together with the new
/// `PRAGMA user_version`, so a ledger is always at exactly one known version.
struct Migration: Sendable {
    let version: Int
    let statements: [String]
}

/// The ledger's schema: the version lives in `PRAGMA user_version`, and `PRAGMA application_id`
/// marks the file as a SecureValidation ledger.
///
/// Migrations are append-only: never edit a released one; add the next version instead (an
/// `ALTER TABLE … ADD COLUMN`, or a new table plus a copy), and bump nothing else.
enum Schema {
    /// `PRAGMA application_id` of every ledger: "SVLG" in ASCII.
    static let applicationID: Int64 = 0x5356_4C47

    /// Every migration, in order; `all[i].version == i + 1`.
    static let all: [Migration] = [
        Migration(version: 1, statements: [
            "PRAGMA application_id = \(applicationID)",
            """
            CREATE TABLE sessions (
                id INTEGER PRIMARY KEY,
                session_id TEXT,
                party TEXT NOT NULL CHECK (party IN ('vendor', 'hospital')),
                peer_fingerprint TEXT,
                peer_name TEXT,
                model_commitment TEXT,
                dataset_commitment TEXT,
                plan_hash TEXT,
                engine TEXT,
                ring_bits INTEGER CHECK (ring_bits IS NULL OR ring_bits > 0),
                scale INTEGER CHECK (scale IS NULL OR scale >= 0),
                batch INTEGER CHECK (batch IS NULL OR batch > 0),
                metric_asked TEXT,
                metric_revealed TEXT,
                images INTEGER NOT NULL CHECK (images >= 0),
                bytes_sent INTEGER NOT NULL CHECK (bytes_sent >= 0),
                bytes_received INTEGER NOT NULL CHECK (bytes_received >= 0),
                rounds INTEGER NOT NULL CHECK (rounds >= 0),
                started_at TEXT NOT NULL,
                ended_at TEXT NOT NULL,
                outcome TEXT NOT NULL CHECK (outcome = 'completed' OR outcome LIKE 'refused: %' OR outcome LIKE 'aborted: %')
            )
            """,
            "CREATE INDEX sessions_started_at ON sessions(started_at)",
            "CREATE INDEX sessions_peer_fingerprint ON sessions(peer_fingerprint)",
            """
            CREATE TABLE checkpoints (
                session_id TEXT NOT NULL,
                batch_index INTEGER NOT NULL CHECK (batch_index >= 0),
                share BLOB NOT NULL,
                PRIMARY KEY (session_id)
            )
            """,
        ]),
        // Version 2: resume. A session that continues an interrupted one names it (`resumes`), and
        // each validation keeps its two latest checkpoints (the parties may be one batch apart when a
        // connection drops, so the latest batch *both* completed is one of each party's last two).
        Migration(version: 2, statements: [
            "ALTER TABLE sessions ADD COLUMN resumes TEXT",
            "CREATE INDEX sessions_resumes ON sessions(resumes)",
            """
            CREATE TABLE checkpoints_v2 (
                session_id TEXT NOT NULL,
                batch_index INTEGER NOT NULL CHECK (batch_index >= 0),
                share BLOB NOT NULL,
                saved_at TEXT,
                PRIMARY KEY (session_id, batch_index)
            )
            """,
            "INSERT INTO checkpoints_v2 (session_id, batch_index, share) SELECT session_id, batch_index, share FROM checkpoints",
            "DROP TABLE checkpoints",
            "ALTER TABLE checkpoints_v2 RENAME TO checkpoints",
        ]),
        // Version 3: hiding commitments. Each row keeps the salt of this party's own commitment
        // (the vendor's model salt, the hospital's dataset salt), disclosed only to an auditor; the
        // vendor keeps one salt per model, keyed by the model's unsalted digest.
        Migration(version: 3, statements: [
            "ALTER TABLE sessions ADD COLUMN commitment_salt TEXT",
            """
            CREATE TABLE model_salts (
                model_digest TEXT PRIMARY KEY,
                salt TEXT NOT NULL CHECK (length(salt) = 64),
                created_at TEXT NOT NULL
            )
            """,
        ]),
        // Version 4: pooled validation. A session may be one part of a pool (it opens nothing) or a
        // pool's opening (`pool`: "NAME part I/K" or "NAME opening"); each party keeps its share of
        // every completed part (the aggregator also the shares the sites sent it), and the pools
        // opened, so that none is opened twice. And the hospital's privacy budget per dataset.
        Migration(version: 4, statements: [
            "ALTER TABLE sessions ADD COLUMN pool TEXT",
            """
            CREATE TABLE pool_parts (
                pool TEXT NOT NULL,
                part_index INTEGER NOT NULL CHECK (part_index >= 0),
                parts INTEGER NOT NULL CHECK (parts > part_index),
                validation TEXT NOT NULL,
                program_digest TEXT NOT NULL,
                model_commitment TEXT NOT NULL,
                dataset_commitment TEXT NOT NULL,
                metric TEXT NOT NULL,
                images INTEGER NOT NULL CHECK (images > 0),
                share BLOB NOT NULL,
                site_fingerprint TEXT,
                vendor_fingerprint TEXT,
                received_from TEXT,
                completed_at TEXT NOT NULL,
                PRIMARY KEY (pool, part_index)
            )
            """,
            """
            CREATE TABLE pool_openings (
                pool TEXT PRIMARY KEY,
                session_id TEXT NOT NULL,
                opened_at TEXT NOT NULL
            )
            """,
            // Differential privacy: the ε each validation spent on a dataset (by its unsalted
            // digest; the hospital's ledger only), and the budget it was checked against.
            """
            CREATE TABLE privacy_spending (
                dataset_digest TEXT NOT NULL,
                validation TEXT NOT NULL,
                epsilon_micro INTEGER NOT NULL CHECK (epsilon_micro > 0),
                budget_micro INTEGER NOT NULL CHECK (budget_micro > 0),
                spent_at TEXT NOT NULL,
                PRIMARY KEY (dataset_digest, validation)
            )
            """,
        ]),
        // The signed report of a session, if one was made: SHA-256 of the statement both parties
        // signed (report.json's `statement`), so that a report can be tied to its ledger row.
        Migration(version: 5, statements: [
            "ALTER TABLE sessions ADD COLUMN report_sha256 TEXT",
        ]),
    ]

    /// The schema version this program writes and reads.
    static var currentVersion: Int { all.last?.version ?? 0 }
}

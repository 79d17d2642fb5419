import Foundation

/// One row of a party's ledger: one validation session, or one refused attempt.
///
/// Both parties write a row for the same session under the same `sessionID` (the handshake binds
/// both commitments and the plan hash into it), so the two ledgers can be laid side by side. A row
/// holds only public facts of the session: commitments (hashes), parameters, counters and the one
/// metric the protocol revealed — never a weight, an input, a label or a share.
///
/// Fields that a refusal may not know yet (a refusal happens before any cryptography, possibly
/// before the plan exists) are optional; a completed session fills all of them.
///
/// Timestamps are kept to the millisecond (the ledger stores ISO-8601 UTC text such as
/// `2026-11-22T13:21:51.123Z`); the initialiser rounds, so a record reads back equal to what was
/// written. The JSON form (`Codable`) uses snake_case keys and the same ISO-8601 text.
public struct SessionRecord: Equatable, Sendable, Codable {
    /// The party that keeps this ledger. Mirrors `Transport.Party` by raw value (`vendor`,
    /// `hospital`); the ledger does not depend on the transport.
    public enum Party: String, Equatable, Sendable, Codable, CaseIterable {
        /// Holds the model; runs `validate-serve`.
        case vendor
        /// Holds the test set; runs `validate-client`.
        case hospital
    }

    /// How a session ended. Stored as `completed`, `refused: reason` or `aborted: reason`.
    public enum Outcome: Equatable, Sendable, Codable, CustomStringConvertible {
        /// The protocol ran to the end and the metric was revealed.
        case completed
        /// A policy refused the session before any cryptography ran.
        case refused(reason: String)
        /// The session started but did not finish (peer lost, error, timeout, crash).
        case aborted(reason: String)

        /// What ``Ledger/begin(_:)`` stores until ``Ledger/finish(id:outcome:revealed:bytesSent:bytesReceived:rounds:endedAt:images:datasetCommitment:reportSHA256:)``
        /// replaces it: a session whose process died reads as this.
        public static let interrupted = Outcome.aborted(reason: "interrupted")

        /// The stored text: `completed`, `refused: reason` or `aborted: reason`.
        public var description: String {
            switch self {
            case .completed: return "completed"
            case .refused(let reason): return "refused: \(reason)"
            case .aborted(let reason): return "aborted: \(reason)"
            }
        }

        /// Parses the stored text; nil for anything else.
        public init?(text: String) {
            if text == "completed" {
                self = .completed
            } else if text.hasPrefix("refused: ") {
                self = .refused(reason: String(text.dropFirst("refused: ".count)))
            } else if text.hasPrefix("aborted: ") {
                self = .aborted(reason: String(text.dropFirst("aborted: ".count)))
            } else {
                return nil
            }
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let outcome = Outcome(text: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "outcome must be `completed`, `refused: reason` or `aborted: reason`, not \"\(text)\"")
            }
            self = outcome
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(description)
        }
    }

    /// The row's key in its ledger; nil for a record not yet written.
    public var id: Int64?
    /// The handshake's session id (hex), shared by both parties' rows; nil if the refusal came
    /// before the handshake produced one.
    public var sessionID: String?
    /// The party keeping this ledger.
    public var party: Party
    /// For a resumed run (`validate-client --resume`): the session id of the interrupted
    /// validation it continues (the first run's; checkpoints are kept under it). Nil otherwise.
    public var resumes: String?
    /// SHA-256 (hex) of the peer's certificate, as seen in the TLS handshake.
    public var peerFingerprint: String?
    /// The peer's name (its certificate's subject common name).
    public var peerName: String?
    /// The vendor's model commitment (SHA-256 hex).
    public var modelCommitment: String?
    /// The hospital's dataset commitment (SHA-256 hex); both parties record it once known.
    public var datasetCommitment: String?
    /// Hash of the compiled plan both parties agreed on.
    public var planHash: String?
    /// The engine, e.g. `cheetah-he+cryptflow2-ot`.
    public var engine: String?
    /// ℓ: the ring is Z_2^ℓ.
    public var ringBits: Int?
    /// s: fractional bits of the fixed-point encoding.
    public var scale: Int?
    /// Images per batch.
    public var batch: Int?
    /// The metric the hospital asked for, e.g. `accuracy` or `threshold:0.9`.
    public var metricAsked: String?
    /// What was revealed, e.g. `accuracy=0.9972 (359/360)` or `threshold 0.9: passed`; nil unless
    /// the session completed.
    public var metricRevealed: String?
    /// N: test-set size (images evaluated, or announced for a refusal).
    public var images: Int
    /// Bytes this party sent.
    public var bytesSent: Int
    /// Bytes this party received.
    public var bytesReceived: Int
    /// Communication rounds.
    public var rounds: Int
    /// When the session (or the refused attempt) started, UTC, to the millisecond.
    public var startedAt: Date {
        didSet { startedAt = Timestamp.rounded(startedAt) }
    }
    /// When it ended; equal to `startedAt` for a session still running or interrupted.
    public var endedAt: Date {
        didSet { endedAt = Timestamp.rounded(endedAt) }
    }
    /// How it ended.
    public var outcome: Outcome
    /// The salt (hex) of this party's own commitment: the model's for the vendor, the test set's
    /// for the hospital. Shown only to an auditor, who recomputes the commitment with it
    /// (`validate-inspect hash --salt`). Nil in rows written before commitments were salted.
    public var commitmentSalt: String?
    /// A pooled validation's session: "NAME part I/K" (a part, which opens nothing) or
    /// "NAME opening" (the pool's one opening); nil for a session of its own.
    public var pool: String?
    /// SHA-256 (lowercase hex) of the statement both parties signed at the end of this session
    /// (`report.json`'s `statement`, its UTF-8 bytes), or nil when no signed report was made. The
    /// report itself is written where `--report` says; this ties it to the row.
    public var reportSHA256: String?

    public init(
        id: Int64? = nil,
        sessionID: String? = nil,
        party: Party,
        peerFingerprint: String? = nil,
        peerName: String? = nil,
        modelCommitment: String? = nil,
        datasetCommitment: String? = nil,
        planHash: String? = nil,
        engine: String? = nil,
        ringBits: Int? = nil,
        scale: Int? = nil,
        batch: Int? = nil,
        metricAsked: String? = nil,
        metricRevealed: String? = nil,
        images: Int = 0,
        bytesSent: Int = 0,
        bytesReceived: Int = 0,
        rounds: Int = 0,
        startedAt: Date,
        endedAt: Date? = nil,
        outcome: Outcome = .interrupted,
        resumes: String? = nil,
        commitmentSalt: String? = nil,
        pool: String? = nil,
        reportSHA256: String? = nil
    ) {
        self.id = id
        self.sessionID = sessionID
        self.party = party
        self.peerFingerprint = peerFingerprint
        self.peerName = peerName
        self.modelCommitment = modelCommitment
        self.datasetCommitment = datasetCommitment
        self.planHash = planHash
        self.engine = engine
        self.ringBits = ringBits
        self.scale = scale
        self.batch = batch
        self.metricAsked = metricAsked
        self.metricRevealed = metricRevealed
        self.images = images
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
        self.rounds = rounds
        self.startedAt = Timestamp.rounded(startedAt)
        self.endedAt = Timestamp.rounded(endedAt ?? startedAt)
        self.outcome = outcome
        self.resumes = resumes
        self.commitmentSalt = commitmentSalt
        self.pool = pool
        self.reportSHA256 = reportSHA256
    }

    /// The JSON keys: the ledger's column names.
    enum CodingKeys: String, CodingKey {
        case id
        case sessionID = "session_id"
        case party
        case peerFingerprint = "peer_fingerprint"
        case peerName = "peer_name"
        case modelCommitment = "model_commitment"
        case datasetCommitment = "dataset_commitment"
        case planHash = "plan_hash"
        case engine
        case ringBits = "ring_bits"
        case scale
        case batch
        case metricAsked = "metric_asked"
        case metricRevealed = "metric_revealed"
        case images
        case bytesSent = "bytes_sent"
        case bytesReceived = "bytes_received"
        case rounds
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case outcome
        case resumes
        case commitmentSalt = "commitment_salt"
        case pool
        case reportSHA256 = "report_sha256"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func date(_ key: CodingKeys) throws -> Date {
            let text = try c.decode(String.self, forKey: key)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expected ISO-8601 UTC time such as 2026-11-22T13:21:51.123Z, not \"\(text)\"")
            }
            return date
        }
        self.init(
            id: try c.decodeIfPresent(Int64.self, forKey: .id),
            sessionID: try c.decodeIfPresent(String.self, forKey: .sessionID),
            party: try c.decode(Party.self, forKey: .party),
            peerFingerprint: try c.decodeIfPresent(String.self, forKey: .peerFingerprint),
            peerName: try c.decodeIfPresent(String.self, forKey: .peerName),
            modelCommitment: try c.decodeIfPresent(String.self, forKey: .modelCommitment),
            datasetCommitment: try c.decodeIfPresent(String.self, forKey: .datasetCommitment),
            planHash: try c.decodeIfPresent(String.self, forKey: .planHash),
            engine: try c.decodeIfPresent(String.self, forKey: .engine),
            ringBits: try c.decodeIfPresent(Int.self, forKey: .ringBits),
            scale: try c.decodeIfPresent(Int.self, forKey: .scale),
            batch: try c.decodeIfPresent(Int.self, forKey: .batch),
            metricAsked: try c.decodeIfPresent(String.self, forKey: .metricAsked),
            metricRevealed: try c.decodeIfPresent(String.self, forKey: .metricRevealed),
            images: try c.decode(Int.self, forKey: .images),
            bytesSent: try c.decode(Int.self, forKey: .bytesSent),
            bytesReceived: try c.decode(Int.self, forKey: .bytesReceived),
            rounds: try c.decode(Int.self, forKey: .rounds),
            startedAt: try date(.startedAt),
            endedAt: try date(.endedAt),
            outcome: try c.decode(Outcome.self, forKey: .outcome),
            resumes: try c.decodeIfPresent(String.self, forKey: .resumes),
            commitmentSalt: try c.decodeIfPresent(String.self, forKey: .commitmentSalt),
            pool: try c.decodeIfPresent(String.self, forKey: .pool),
            reportSHA256: try c.decodeIfPresent(String.self, forKey: .reportSHA256))
    }

    /// Encodes every key, absent values as JSON `null`, so the JSON has one fixed shape.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(sessionID, forKey: .sessionID)
        try c.encode(party, forKey: .party)
        try c.encode(peerFingerprint, forKey: .peerFingerprint)
        try c.encode(peerName, forKey: .peerName)
        try c.encode(modelCommitment, forKey: .modelCommitment)
        try c.encode(datasetCommitment, forKey: .datasetCommitment)
        try c.encode(planHash, forKey: .planHash)
        try c.encode(engine, forKey: .engine)
        try c.encode(ringBits, forKey: .ringBits)
        try c.encode(scale, forKey: .scale)
        try c.encode(batch, forKey: .batch)
        try c.encode(metricAsked, forKey: .metricAsked)
        try c.encode(metricRevealed, forKey: .metricRevealed)
        try c.encode(images, forKey: .images)
        try c.encode(bytesSent, forKey: .bytesSent)
        try c.encode(bytesReceived, forKey: .bytesReceived)
        try c.encode(rounds, forKey: .rounds)
        try c.encode(Timestamp.format(startedAt), forKey: .startedAt)
        try c.encode(Timestamp.format(endedAt), forKey: .endedAt)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(resumes, forKey: .resumes)
        try c.encode(commitmentSalt, forKey: .commitmentSalt)
        try c.encode(pool, forKey: .pool)
        try c.encode(reportSHA256, forKey: .reportSHA256)
    }
}

/// ISO-8601 UTC timestamps with milliseconds (`2026-11-22T13:21:51.123Z`), formatted and parsed
/// from integer milliseconds so that a date survives a round trip bit for bit. Fixed-width text
/// sorts in time order, which the ledger's `started_at` index and `sessionsToday` rely on.
public enum Timestamp {
    /// Milliseconds since 1970-01-01T00:00:00Z, rounded to the nearest.
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `date` rounded to the millisecond.
    public static func rounded(_ date: Date) -> Date { Self.date(milliseconds: milliseconds(date)) }

    /// `2026-11-22T13:21:51.123Z`.
    public static func format(_ date: Date) -> String {
        let ms = milliseconds(date)
        let (days, msOfDay) = floorDivide(ms, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        let hour = msOfDay / 3_600_000, minute = msOfDay / 60_000 % 60
        let second = msOfDay / 1000 % 60, milli = msOfDay % 1000
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(hour, 2) + ":" + pad(minute, 2) + ":"
            + pad(second, 2) + "." + pad(milli, 3) + "Z"
    }

    /// Midnight UTC starting the day that contains `date`, formatted like ``format(_:)``.
    static func startOfDay(_ date: Date) -> String {
        let (days, _) = floorDivide(milliseconds(date), 86_400_000)
        return format(Self.date(milliseconds: days * 86_400_000))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z`; nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20 || bytes.count == 24, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func separator(_ index: Int, _ character: Character) -> Bool { bytes[index] == character.asciiValue }
        guard separator(4, "-"), separator(7, "-"), separator(10, "T"), separator(13, ":"), separator(16, ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var milli: Int64 = 0
        if bytes.count == 24 {
            guard separator(19, "."), let fraction = number(20..<23) else { return nil }
            milli = fraction
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        return date(milliseconds: ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + milli)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a >= 0 ? a / b : -((-a + b - 1) / b)
        return (q, a - q * b)
    }

    // Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400).0
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097).0
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

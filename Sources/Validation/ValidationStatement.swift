import Foundation
import Transport

/// The statement both parties sign at the end of a completed session: what was run (session,
/// program, commitments, model, metric asked, N, parameters), what was opened (the values as they
/// appear in the result), when (UTC), and by whom (both TLS certificate fingerprints).
///
/// Contract: each party builds it independently from its own view of the session
/// (`init(session:result:modelName:date:vendorCertificate:hospitalCertificate:)`); the canonical
/// text (`canonicalText`: JSON, keys sorted, no whitespace, UTF-8) is what is signed, so the two
/// parties' statements agree exactly when their bytes do. It carries only what both parties
/// learned anyway: public session data and the opened metric. For `predictions` (opened to the
/// hospital only) it says so and holds no value. Nothing in it is secret: the report is meant to
/// be shown to third parties.
public struct ValidationStatement: Codable, Sendable, Equatable {
    /// The statement format this version writes and accepts.
    public static let currentFormat = "securevalidation-statement/1"
    /// The dates of both parties' statements may differ by at most this many seconds (the vendor
    /// takes the hospital's date if it is this close to its own clock).
    public static let maximumClockSkew: TimeInterval = 600

    /// `currentFormat`.
    public var format: String
    /// The software and wire protocol that ran the session.
    public var software: String
    /// The handshake's session id bound to both commitments and the program digest.
    public var sessionID: String
    /// For a resumed run: the validation it continued (its first run's session id).
    public var resumes: String?
    /// When the statement was made: UTC, ISO 8601 to the second ("2025-01-31T12:00:00Z").
    public var date: String
    /// SHA-256 of the vendor's and of the hospital's TLS certificate (DER), lowercase hex.
    public var vendorCertificate: String
    public var hospitalCertificate: String
    /// The model's name as the vendor announced it (its file name).
    public var modelName: String
    /// Salted SHA-256 commitments to the model (program and weights) and to the test set.
    public var modelCommitment: String
    public var datasetCommitment: String
    /// SHA-256 of the secure program both parties compiled and compared.
    public var programDigest: String
    /// The metric the hospital asked for, in its text form ("accuracy", "threshold:0.9", …).
    public var metricAsked: String
    /// N, the number of test images.
    public var images: Int
    /// The public parameters of the computation.
    public var parameters: Parameters
    /// What was opened.
    public var opened: OpenedValues
    /// For the opening of a pool (`validate-client pool-open`): the pool and its parts. Then
    /// `images` is the parts' total, `dataset_commitment` the pool's (`PoolOpening.datasetCommitment`,
    /// over the parts' commitments in part order), and the hospital is the pool's aggregator.
    /// Absent for any other session (whose statement text is then as before).
    public var pool: PoolSection?

    /// The pool whose parts' statistics were added and opened, and each part: its index (from 1),
    /// the part's own validation (the session id of its first run) and its number of images. Both
    /// parties know all of it: the vendor ran every part, and the aggregator holds every part's
    /// hospital share.
    public struct PoolSection: Codable, Sendable, Equatable {
        public var name: String
        public var parts: [Part]

        public struct Part: Codable, Sendable, Equatable {
            public var part: Int
            public var validation: String
            public var images: Int
        }

        public init(_ opening: PoolOpening) {
            name = opening.pool
            parts = opening.members.sorted { $0.index < $1.index }
                .map { Part(part: $0.index + 1, validation: $0.validation, images: $0.images) }
        }
    }

    /// Ring width ℓ, fixed-point scale s, OT engine, images per batch.
    public struct Parameters: Codable, Sendable, Equatable {
        public var ringBits: Int
        public var scale: Int
        public var otEngine: String
        public var batch: Int

        enum CodingKeys: String, CodingKey {
            case ringBits = "ring_bits", scale, otEngine = "ot_engine", batch
        }
    }

    /// The opened values, as the result holds them (`ValidationResult`): nil fields were not opened.
    public struct OpenedValues: Codable, Sendable, Equatable {
        /// The result's metric name ("accuracy", "threshold", "top5", "auroc", …).
        public var metric: String
        /// "both parties", or "the hospital only" (`predictions`).
        public var openedTo: String
        public var correct: Int?
        public var total: Int
        public var accuracy: Double?
        public var threshold: Double?
        public var passed: Bool?
        public var findings: [String]?
        public var auroc: [Double?]?
        public var macroAUROC: Double?
        public var aurocPassed: [Bool]?
        public var sensitivity: [Double?]?
        public var specificity: [Double?]?
        public var confusion: [[Int]]?
        public var dpEpsilon: Double?
        public var dpCounts: ValidationResult.DPCounts?
        /// `predictions`: a sentence saying they were opened to the hospital only; no values.
        public var predictions: String?

        enum CodingKeys: String, CodingKey {
            case metric, openedTo = "opened_to", correct, total, accuracy, threshold, passed, findings, auroc
            case macroAUROC = "macro_auroc", aurocPassed = "auroc_passed", sensitivity, specificity, confusion
            case dpEpsilon = "dp_epsilon", dpCounts = "dp_counts", predictions
        }

        /// The opened fields of `result` (never its predictions' values).
        public init(_ result: ValidationResult) {
            let hospitalOnly = result.metric == "predictions"
            metric = result.metric
            openedTo = hospitalOnly ? "the hospital only" : "both parties"
            correct = result.correct
            total = result.total
            accuracy = result.accuracy
            threshold = result.threshold
            passed = result.passed
            findings = result.findings
            auroc = result.auroc
            macroAUROC = result.macroAUROC
            aurocPassed = result.aurocPassed
            sensitivity = result.sensitivity
            specificity = result.specificity
            confusion = result.confusion
            dpEpsilon = result.dpEpsilon
            dpCounts = result.dpCounts
            predictions = hospitalOnly
                ? "every image's scores were opened to the hospital only; this statement holds none of them, and the vendor learned only the number of images"
                : nil
        }

        /// The result in a few human lines (the summary's metric lines, without costs).
        public var summaryLines: [String] {
            if metric == "predictions" {
                return ["predictions: every image's scores, opened to the hospital only (none are in this statement); the vendor learned only the number of images (\(total))"]
            }
            var result = ValidationResult(metric: metric, correct: correct, total: total, accuracy: accuracy, threshold: threshold,
                                          passed: passed, seconds: 0, bytesSent: 0, bytesReceived: 0, rounds: 0, ringBits: 0, scale: 0,
                                          batch: 0, programDigest: "", sessionID: "", model: "", modelCommitment: "", datasetCommitment: "")
            result.findings = findings
            result.auroc = auroc
            result.macroAUROC = macroAUROC
            result.aurocPassed = aurocPassed
            result.sensitivity = sensitivity
            result.specificity = specificity
            result.confusion = confusion
            result.dpEpsilon = dpEpsilon
            result.dpCounts = dpCounts
            let lines = result.metricLines()
            return lines.isEmpty ? ["\(metric): nothing opened"] : lines
        }
    }

    enum CodingKeys: String, CodingKey {
        case format, software, sessionID = "session_id", resumes, date
        case vendorCertificate = "vendor_certificate_sha256", hospitalCertificate = "hospital_certificate_sha256"
        case modelName = "model_name", modelCommitment = "model_commitment", datasetCommitment = "dataset_commitment"
        case programDigest = "program_digest", metricAsked = "metric_asked", images, parameters, opened, pool
    }

    /// One party's statement of a completed session: `session` as this party agreed it, `result`
    /// as this party's opening gave it, `date` (rounded down to the second), and both parties'
    /// certificate fingerprints (any case; written lowercase).
    /// `pool`: the opening of that pool (this party's own view of its parts).
    public init(session: SessionStart, result: ValidationResult, modelName: String, date: Date,
                vendorCertificate: String, hospitalCertificate: String, pool: PoolOpening? = nil) {
        format = Self.currentFormat
        software = "SecureValidation (wire protocol \(Handshake.protocolVersion))"
        sessionID = session.sessionID
        resumes = session.resumes
        self.date = Self.format(date)
        self.vendorCertificate = vendorCertificate.lowercased()
        self.hospitalCertificate = hospitalCertificate.lowercased()
        self.modelName = modelName
        modelCommitment = session.modelCommitment
        datasetCommitment = session.datasetCommitment
        programDigest = session.programDigest
        metricAsked = session.metricAsked
        images = session.images
        parameters = Parameters(ringBits: session.ringBits, scale: session.scale, otEngine: session.otEngine.rawValue, batch: session.batch)
        opened = OpenedValues(result)
        self.pool = pool.map(PoolSection.init)
    }

    /// The exact text both parties sign: JSON with sorted keys, no whitespace, slashes unescaped.
    public var canonicalText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain values, strings and finite numbers cannot fail.
        guard let data = try? encoder.encode(self) else { preconditionFailure("a statement always encodes") }
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes a signed statement's text; nil when it is not a statement of a known format.
    public static func parse(_ text: String) -> ValidationStatement? {
        guard let statement = try? JSONDecoder().decode(ValidationStatement.self, from: Data(text.utf8)),
              statement.format == currentFormat else { return nil }
        return statement
    }

    /// `date` as a `Date` (nil when it is not ISO 8601 UTC to the second).
    public var signedAt: Date? { Self.parseDate(date) }

    /// The top-level fields in which `other` differs from this statement (for a clear refusal).
    public func differences(from other: ValidationStatement) -> [String] {
        var fields: [String] = []
        func compare<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { fields.append(name) } }
        compare("format", format, other.format)
        compare("software", software, other.software)
        compare("session_id", sessionID, other.sessionID)
        compare("resumes", resumes, other.resumes)
        compare("date", date, other.date)
        compare("vendor_certificate_sha256", vendorCertificate, other.vendorCertificate)
        compare("hospital_certificate_sha256", hospitalCertificate, other.hospitalCertificate)
        compare("model_name", modelName, other.modelName)
        compare("model_commitment", modelCommitment, other.modelCommitment)
        compare("dataset_commitment", datasetCommitment, other.datasetCommitment)
        compare("program_digest", programDigest, other.programDigest)
        compare("metric_asked", metricAsked, other.metricAsked)
        compare("images", images, other.images)
        compare("parameters", parameters, other.parameters)
        compare("opened", opened, other.opened)
        compare("pool", pool, other.pool)
        return fields
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
    }

    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        guard let date = formatter.date(from: text), format(date) == text else { return nil }
        return date
    }
}

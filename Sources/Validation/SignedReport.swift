import CryptoPrimitives
import Foundation
import Transport

/// A validation statement signed by both parties: the exact signed text, and per party its
/// signature, its TLS certificate and that certificate's fingerprint. Written as `report.json`
/// (with `report.html`, a printable rendering of it) by `validate-client --report DIR` and
/// `validate-serve --report DIR`; checked by `validate-inspect verify-report` (`ReportVerifier`).
///
/// Contract: holds public data only (the statement reveals what both parties learned, the opened
/// metric; certificates are public). `statementText` is the signed text byte for byte: it is
/// stored as is, never re-encoded, and `statement` is only its decoded view.
public struct SignedReport: Sendable, Equatable {
    /// The file format this version writes and reads.
    public static let currentFormat = "securevalidation-report/1"
    public static let jsonFileName = "report.json"
    public static let htmlFileName = "report.html"

    /// The exact text both parties signed (its UTF-8 bytes are the signed message).
    public let statementText: String
    /// `statementText` decoded.
    public let statement: ValidationStatement
    public let vendor: PartySignature
    public let hospital: PartySignature

    /// One party's signature over the statement, with the certificate whose key made it.
    public struct PartySignature: Codable, Sendable, Equatable {
        /// `SignatureAlgorithm` raw value ("ecdsa-with-SHA256", …).
        public var algorithm: String
        /// The signature, base64.
        public var signature: String
        /// The party's TLS certificate, PEM.
        public var certificate: String
        /// SHA-256 of the certificate (DER), lowercase hex.
        public var certificateSHA256: String

        enum CodingKeys: String, CodingKey {
            case algorithm, signature, certificate, certificateSHA256 = "certificate_sha256"
        }

        public init(algorithm: String, signature: String, certificate: String, certificateSHA256: String) {
            self.algorithm = algorithm
            self.signature = signature
            self.certificate = certificate
            self.certificateSHA256 = certificateSHA256
        }
    }

    /// SHA-256 (lowercase hex) of the signed statement's UTF-8 bytes: what each party's ledger
    /// records for the session (`report_sha256`), and what `verify-report` prints, so that a report
    /// and its ledger rows can be matched.
    public var statementSHA256: String {
        SHA256Hasher().hexDigest(Array(statementText.utf8))
    }

    public init(statementText: String, statement: ValidationStatement, vendor: PartySignature, hospital: PartySignature) {
        self.statementText = statementText
        self.statement = statement
        self.vendor = vendor
        self.hospital = hospital
    }

    /// `report.json`'s layout.
    struct File: Codable {
        var format: String
        var about: String
        var statement: String
        var signatures: Signatures

        struct Signatures: Codable {
            var vendor: PartySignature
            var hospital: PartySignature
        }
    }

    static let about = "'statement' is the exact text both parties signed: each signature is over its UTF-8 bytes, made with that party's TLS private key (SHA-256; ECDSA, RSA PKCS#1 v1.5, or Ed25519). Check it with: validate-inspect verify-report DIR --ca ca.crt. report.html is a rendering of this file; this file is what is signed."

    /// `report.json`'s text: pretty JSON, sorted keys.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let file = File(format: Self.currentFormat, about: Self.about, statement: statementText,
                        signatures: .init(vendor: vendor, hospital: hospital))
        guard let data = try? encoder.encode(file) else { preconditionFailure("a report always encodes") }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The paths of `report.json` and `report.html` in `directory`.
    public static func files(in directory: String) -> (json: String, html: String) {
        ((directory as NSString).appendingPathComponent(jsonFileName), (directory as NSString).appendingPathComponent(htmlFileName))
    }

    /// Makes `directory` (with its parents) if missing and checks that no report is in it yet, so
    /// that a report can be written there later. Throws `ValidationError.reportFile` naming the
    /// existing `report.json` (or `report.html`), or the directory that cannot be made.
    public static func prepare(directory: String) throws {
        try makeDirectory(directory)
        let (json, html) = files(in: directory)
        for path in [json, html] where FileManager.default.fileExists(atPath: path) {
            throw ValidationError.reportFile(path: path, reason: "already exists: refusing to overwrite a report; give --report another directory, or move it away")
        }
    }

    /// Makes `directory` (with its parents) if missing; throws `ValidationError.reportFile` when it
    /// cannot, or when something else than a directory is there.
    public static func makeDirectory(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ValidationError.reportFile(path: directory, reason: "exists and is not a directory: give --report a directory") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw ValidationError.reportFile(path: directory, reason: "cannot create the report directory: \(error.localizedDescription)")
            }
        }
    }

    /// Writes `report.json` and `report.html` into `directory` (made if missing), never replacing
    /// an existing file. Returns both paths.
    @discardableResult
    public func write(to directory: String) throws -> (json: String, html: String) {
        try Self.prepare(directory: directory)
        let paths = Self.files(in: directory)
        try Self.writeNew(Array(jsonText.utf8), to: paths.json)
        try Self.writeNew(Array(ReportHTML.render(self).utf8), to: paths.html)
        return paths
    }

    /// Creates `path` (failing if anything exists there) and writes `bytes` (mode 0644).
    static func writeNew(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            let code = errno
            throw ValidationError.reportFile(path: path, reason: code == EEXIST
                ? "already exists: refusing to overwrite a report"
                : "cannot create the file: \(String(cString: strerror(code)))")
        }
        defer { _ = close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ValidationError.reportFile(path: path, reason: "cannot write the file: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// Reads a report: `path` is a report directory (its `report.json` is read) or the JSON file.
    /// Throws `ValidationError.reportRejected` naming the file when it is missing, not JSON, not a
    /// report of a known format, or its statement is not a statement of a known format.
    public static func read(_ path: String) throws -> (file: String, report: SignedReport) {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let file = exists && isDirectory.boolValue ? files(in: path).json : path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError.reportRejected(path: file, reason: FileManager.default.fileExists(atPath: file)
                ? "cannot read the file" : "no such file (give the directory --report wrote, or its report.json)")
        }
        let decoded: File
        do {
            decoded = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw ValidationError.reportRejected(path: file, reason: "not a SecureValidation report (expected JSON with format, statement and signatures.vendor/hospital): \(error.localizedDescription)")
        }
        guard decoded.format == currentFormat else {
            throw ValidationError.reportRejected(path: file, reason: "report format '\(decoded.format)' is not '\(currentFormat)', the one this version reads")
        }
        guard let statement = ValidationStatement.parse(decoded.statement) else {
            throw ValidationError.reportRejected(path: file, reason: "its statement is not a '\(ValidationStatement.currentFormat)' statement (changed, or written by another version)")
        }
        return (file, SignedReport(statementText: decoded.statement, statement: statement,
                                   vendor: decoded.signatures.vendor, hospital: decoded.signatures.hospital))
    }
}

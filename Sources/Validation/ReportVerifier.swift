import Foundation
import Transport

/// Checks a signed validation report (`report.json`) for anyone holding the CA certificate(s):
/// the auditor, a regulator, either party later.
///
/// Checks, in order; the first that fails rejects the report with `ValidationError.reportRejected`
/// naming the file and what failed:
/// 1. the file is a report of a known format, its statement a statement of a known format;
/// 2. for each role (vendor, hospital): the embedded certificate is PEM, its SHA-256 is the one
///    recorded next to it **and** the one the statement names for that role, its key's algorithm
///    is the one recorded;
/// 3. each signature verifies over the exact bytes of the statement with that certificate;
/// 4. each certificate chains to a CA certificate in one of `caFiles`, both were within their
///    validity at the statement's date, and each is meant for its role (the vendor's a TLS server
///    certificate, the hospital's a TLS client one);
/// 5. the statement's date is not in the future (beyond the allowed clock skew) and the text is
///    in canonical form (what `ValidationStatement` encodes: no field hidden from this rendering).
///
/// What a pass proves: the two holders of these certificates both signed this statement of what
/// was run and what was opened. What it does not prove: that the computation was run honestly
/// (semi-honest security; see the README's threat model) or anything the commitments do not bind.
public enum ReportVerifier {
    /// A report that passed every check, and what the checks found.
    public struct Verified: Sendable {
        public var file: String
        public var report: SignedReport
        /// The CA file each party's certificate chains to.
        public var vendorCA: String, hospitalCA: String
        public var vendorName: String?, hospitalName: String?
        /// Remarks that do not reject the report (e.g. a certificate that expired after signing).
        public var notes: [String]

        /// A short summary: who, what, result, date.
        public var summary: String {
            let s = report.statement
            var lines = ["\(file): OK: both signatures verify over the statement, and both certificates chain to the CA"]
            lines.append("  vendor:   \(vendorName ?? "?") (certificate \(s.vendorCertificate.prefix(16))…, \(report.vendor.algorithm), CA \(vendorCA))")
            lines.append("  hospital: \(hospitalName ?? "?") (certificate \(s.hospitalCertificate.prefix(16))…, \(report.hospital.algorithm), CA \(hospitalCA))")
            lines.append("  validated: model \(s.modelName) (commitment \(s.modelCommitment.prefix(16))…) on \(s.images) test images (commitment \(s.datasetCommitment.prefix(16))…), metric \(s.metricAsked)")
            if let pool = s.pool {
                lines.append("  pool: \(pool.name), \(pool.parts.count) parts opened together (\(pool.parts.map { "part \($0.part): \($0.images) images" }.joined(separator: ", ")))")
            }
            lines += s.opened.summaryLines.map { "  result: " + $0 }
            lines.append("  signed: \(s.date); session \(s.sessionID.prefix(16))…; program \(s.programDigest.prefix(16))…")
            lines.append("  statement SHA-256: \(report.statementSHA256) (each party's ledger records it as the session's report_sha256)")
            lines += notes.map { "  note: " + $0 }
            return lines.joined(separator: "\n")
        }
    }

    /// Verifies the report at `path` (a report directory or its `report.json`) against the CA
    /// certificates in `caFiles` (one or more PEM files; each party's certificate must chain to
    /// one of them). `now` is the verifier's clock.
    public static func verify(_ path: String, caFiles: [String], now: Date = Date()) throws -> Verified {
        guard !caFiles.isEmpty else { throw ValidationError.reportRejected(path: path, reason: "no CA certificate given (--ca FILE)") }
        let (file, report) = try SignedReport.read(path)
        func reject(_ reason: String) -> ValidationError { .reportRejected(path: file, reason: reason) }
        let statement = report.statement
        guard let date = statement.signedAt else {
            throw reject("the statement's date '\(statement.date)' is not a UTC time in ISO 8601 to the second")
        }
        let message = Array(report.statementText.utf8)
        var certificates: [Party: X509Certificate] = [:]
        // Steps 2 and 3.
        for role in [Party.vendor, .hospital] {
            let entry = role == .vendor ? report.vendor : report.hospital
            let named = role == .vendor ? statement.vendorCertificate : statement.hospitalCertificate
            let certificate: X509Certificate
            do {
                certificate = try X509Certificate(pem: entry.certificate, source: "the \(role)'s certificate")
            } catch {
                throw reject("the \(role)'s certificate is not a PEM certificate")
            }
            guard certificate.fingerprint == entry.certificateSHA256.lowercased() else {
                throw reject("the \(role)'s certificate has SHA-256 \(certificate.fingerprint), not the \(entry.certificateSHA256) recorded with it: the certificate was swapped")
            }
            guard certificate.fingerprint == named else {
                let other = role == .vendor ? statement.hospitalCertificate : statement.vendorCertificate
                let swapped = certificate.fingerprint == other ? " (it is the certificate the statement names for the \(role.peer): the roles were swapped)" : ""
                throw reject("the statement names \(named.prefix(16))… as the \(role)'s certificate, but the report carries \(certificate.fingerprint.prefix(16))…\(swapped)")
            }
            guard let algorithm = certificate.signatureAlgorithm, algorithm.rawValue == entry.algorithm else {
                throw reject("the \(role)'s signature is recorded as '\(entry.algorithm)', but its certificate's key signs with \(certificate.signatureAlgorithm?.rawValue ?? "an algorithm this version does not verify")")
            }
            guard let signature = Data(base64Encoded: entry.signature) else {
                throw reject("the \(role)'s signature is not base64")
            }
            guard certificate.verifies(signature: [UInt8](signature), over: message) else {
                throw reject("the \(role)'s signature does not verify over the statement: the statement or the signature was changed after signing")
            }
            certificates[role] = certificate
        }
        // Step 4.
        var chainedTo: [Party: String] = [:]
        for role in [Party.vendor, .hospital] {
            var reasons: [String] = []
            for caFile in caFiles {
                let failure: String?
                do { failure = try certificates[role]!.chainFailure(caFile: caFile, role: role, at: date) } catch TransportError.file(let path, let reason) {
                    throw ValidationError.reportFile(path: path, reason: "\(reason) (--ca takes the CA certificate, PEM)")
                }
                guard let failure else { chainedTo[role] = caFile; break }
                reasons.append(failure)
            }
            guard chainedTo[role] != nil else {
                throw reject("the \(role)'s certificate (\(certificates[role]!.commonName ?? "no CN")) is not valid for the CA given: \(reasons.joined(separator: "; "))")
            }
        }
        // Step 5.
        guard date.timeIntervalSince(now) <= ValidationStatement.maximumClockSkew else {
            throw reject("the statement is dated \(statement.date), in the future of this machine's clock")
        }
        guard statement.canonicalText == report.statementText else {
            throw reject("the statement is not in canonical form (fields this version does not show, or reordered): it was not written by SecureValidation")
        }
        var notes: [String] = []
        for role in [Party.vendor, .hospital] where certificates[role]!.notAfter < now {
            notes.append("the \(role)'s certificate has expired since (on \(ValidationStatement.format(certificates[role]!.notAfter))); it was valid when the statement was signed")
        }
        return Verified(file: file, report: report, vendorCA: chainedTo[.vendor]!, hospitalCA: chainedTo[.hospital]!,
                        vendorName: certificates[.vendor]!.commonName, hospitalName: certificates[.hospital]!.commonName, notes: notes)
    }
}

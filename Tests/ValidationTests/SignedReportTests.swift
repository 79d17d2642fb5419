import Compiler
import Datasets
import Foundation
import IR
import ONNX
import RingArithmetic
import Testing
import TestSupport
import Transport
@testable import Validation

/// Both parties' certificates from one throwaway CA (and a second CA, for the wrong-CA checks),
/// in a temporary directory that lives as long as the test process.
final class ReportPKI: Sendable {
    let files: CertificateFiles
    let otherCA: CertificateFiles
    let vendor: TLSIdentity
    let hospital: TLSIdentity

    init() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sv-report-test-\(UUID().uuidString)").path
        files = try CertificateAuthority.writeTestCertificates(to: root + "/pki")
        otherCA = try CertificateAuthority.writeTestCertificates(to: root + "/other")
        vendor = try files.identity(for: .vendor)
        hospital = try files.identity(for: .hospital)
    }

    /// The vendor's signer (the hospital's certificate as its TLS peer) and the hospital's.
    func signers() throws -> (vendor: ReportSigner, hospital: ReportSigner) {
        (try ReportSigner(identity: vendor, peerCertificatePEM: hospital.certificatePEM!),
         try ReportSigner(identity: hospital, peerCertificatePEM: vendor.certificatePEM!))
    }

    func temporaryDirectory(_ name: String) -> String {
        (files.directory as NSString).deletingLastPathComponent + "/\(name)-\(UUID().uuidString)"
    }
}

/// One session of the breast-cancer MLP over the in-memory harness, both parties with the given
/// signers (nil: no report asked / vendor without identity); both channel ends must be drained.
func runReportSession(vendorSigner: ReportSigner?, hospitalSigner: ReportSigner?, metric: Metric = .accuracy,
                      allowed: Set<MetricPermission> = [.accuracy, .threshold])
    throws -> (vendor: ValidationResult, hospital: ValidationResult) {
    let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
    let format = try FixedPointFormat(ringBits: 40, scale: 14)
    let data = try openDataset(path: path("Datasets/breast-cancer-test"))
    let server = try ValidationServer(modelName: "mlp-breast-cancer.onnx", graph: graph, format: format, formatReason: "test",
                                      policy: .init(minimumImages: 10, allowedMetrics: allowed))
    let client = try ValidationClient(dataset: data, metric: metric, batch: 143, lanes: 1)
    let r = try TwoPartyRunner.run(timeout: 300, vendor: { try server.serve(channel: $0, report: vendorSigner) },
                                   hospital: { try client.run(channel: $0, report: hospitalSigner) })
    return (r.vendor, r.hospital)
}

@Suite("Signed validation report: both parties sign one statement; verify-report checks it", .serialized)
struct SignedReportTests {
    /// One signed session shared by the checks on its report (a session takes a few seconds).
    struct Fixture: Sendable {
        let pki: ReportPKI
        let vendor: ValidationResult
        let hospital: ValidationResult
        let directory: String
    }

    static let fixture: Result<Fixture, any Error> = Result {
        let pki = try ReportPKI()
        let (vendorSigner, hospitalSigner) = try pki.signers()
        let (vendor, hospital) = try runReportSession(vendorSigner: vendorSigner, hospitalSigner: hospitalSigner)
        let directory = pki.temporaryDirectory("report")
        guard let report = hospital.report else { throw ValidationError.reportNotSigned(hospital.reportFailure ?? "no report") }
        try report.write(to: directory)
        return Fixture(pki: pki, vendor: vendor, hospital: hospital, directory: directory)
    }

    /// A copy of the fixture's report.json after `edit` changed its JSON object.
    func tampered(_ edit: (inout [String: Any], Fixture) throws -> Void) throws -> (directory: String, fixture: Fixture) {
        let f = try Self.fixture.get()
        var object = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: f.directory + "/report.json"))) as? [String: Any])
        try edit(&object, f)
        let directory = f.pki.temporaryDirectory("tampered")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: directory + "/report.json"))
        return (directory, f)
    }

    /// The reason `ReportVerifier` rejects the report in `directory` with.
    func rejection(_ directory: String, caFiles: [String]) -> String? {
        do {
            _ = try ReportVerifier.verify(directory, caFiles: caFiles)
            return nil
        } catch ValidationError.reportRejected(_, let reason) {
            return reason
        } catch {
            return "unexpected error: \(error)"
        }
    }

    @Test("round trip: both parties hold the same statement and both signatures; the written report verifies")
    func roundTrip() throws {
        let f = try Self.fixture.get()
        let vendorReport = try #require(f.vendor.report), hospitalReport = try #require(f.hospital.report)
        #expect(f.vendor.reportFailure == nil && f.hospital.reportFailure == nil)
        #expect(vendorReport == hospitalReport)
        let statement = hospitalReport.statement
        #expect(statement.sessionID == f.hospital.sessionID)
        #expect(statement.opened.correct == f.hospital.correct && statement.opened.total == 143)
        #expect(statement.images == 143 && statement.parameters.ringBits == 40 && statement.parameters.scale == 14)
        #expect(statement.vendorCertificate == f.pki.vendor.certificateFingerprint)
        #expect(statement.hospitalCertificate == f.pki.hospital.certificateFingerprint)
        #expect(statement.modelName == "mlp-breast-cancer.onnx" && statement.metricAsked == "accuracy")
        #expect(statement.canonicalText == hospitalReport.statementText)
        #expect(hospitalReport.vendor.algorithm == "ecdsa-with-SHA256")
        #expect((f.hospital.reportSeconds ?? 99) < 5)

        let verified = try ReportVerifier.verify(f.directory, caFiles: [f.pki.files.ca])
        #expect(verified.vendorName == "vendor" && verified.hospitalName == "hospital")
        #expect(verified.summary.contains("OK") && verified.summary.contains("accuracy = "))
        // The JSON file itself may be named, and a second (unrelated) CA file does no harm.
        _ = try ReportVerifier.verify(f.directory + "/report.json", caFiles: [f.pki.otherCA.ca, f.pki.files.ca])
        // The vendor's copy (validate-serve --report) verifies too.
        let vendorDirectory = f.pki.temporaryDirectory("vendor-report")
        try vendorReport.write(to: vendorDirectory)
        _ = try ReportVerifier.verify(vendorDirectory, caFiles: [f.pki.files.ca])
    }

    @Test("report.html is self-contained, escapes values, and says report.json is what is signed")
    func html() throws {
        let f = try Self.fixture.get()
        let html = try String(contentsOfFile: f.directory + "/report.html", encoding: .utf8)
        for section in ["What was validated", "The result", "What each party learned", "Commitments and certificates",
                        "Parameters", "How to verify", "validate-inspect verify-report DIR --ca ca.crt"] {
            #expect(html.contains(section), "\(section)")
        }
        #expect(html.contains("rendering of <code>report.json</code>"))
        #expect(html.contains(f.hospital.modelCommitment) && html.contains(f.hospital.datasetCommitment))
        #expect(html.contains("not its weights"))
        for forbidden in ["<script", "src=", "href=", "@import", "url("] { #expect(!html.contains(forbidden), "\(forbidden)") }
        // The statement's quotes are escaped in the verbatim copy.
        #expect(html.contains("&quot;session_id&quot;"))
        #expect(ReportHTML.e(#"<b a="1">&'"#) == "&lt;b a=&quot;1&quot;&gt;&amp;&#39;")
    }

    @Test("an existing report is never overwritten")
    func noOverwrite() throws {
        let f = try Self.fixture.get()
        #expect(throws: ValidationError.reportFile(path: f.directory + "/report.json",
                                                   reason: "already exists: refusing to overwrite a report; give --report another directory, or move it away")) {
            try SignedReport.prepare(directory: f.directory)
        }
        #expect(throws: ValidationError.self) { try f.hospital.report!.write(to: f.directory) }
    }

    @Test("a changed count in the statement is rejected: the signatures no longer verify")
    func tamperedStatement() throws {
        let (directory, f) = try tampered { object, f in
            let text = try #require(object["statement"] as? String)
            let correct = try #require(f.hospital.correct)
            object["statement"] = text.replacingOccurrences(of: "\"correct\":\(correct),", with: "\"correct\":\(correct + 1),")
            #expect(object["statement"] as? String != text)
        }
        #expect(rejection(directory, caFiles: [f.pki.files.ca])?.contains("the vendor's signature does not verify over the statement") == true)
    }

    @Test("a changed signature is rejected")
    func tamperedSignature() throws {
        let (directory, f) = try tampered { object, _ in
            var signatures = try #require(object["signatures"] as? [String: Any])
            var hospital = try #require(signatures["hospital"] as? [String: Any])
            let encoded = try #require(hospital["signature"] as? String)
            var bytes = [UInt8](try #require(Data(base64Encoded: encoded)))
            bytes[bytes.count - 3] ^= 0x10
            hospital["signature"] = Data(bytes).base64EncodedString()
            signatures["hospital"] = hospital
            object["signatures"] = signatures
        }
        #expect(rejection(directory, caFiles: [f.pki.files.ca])?.contains("the hospital's signature does not verify over the statement") == true)
    }

    @Test("swapped certificates are rejected: the roles swapped, or another certificate from the same CA")
    func swappedCertificates() throws {
        let (swapped, f) = try tampered { object, _ in
            var signatures = try #require(object["signatures"] as? [String: Any])
            (signatures["vendor"], signatures["hospital"]) = (signatures["hospital"], signatures["vendor"])
            object["signatures"] = signatures
        }
        #expect(rejection(swapped, caFiles: [f.pki.files.ca])?.contains("the roles were swapped") == true)

        // Another vendor certificate from the same CA, with its own fingerprint recorded next to it.
        let ca = try CertificateAuthority()
        let impostor = try ca.issue(for: .vendor)
        let (replaced, _) = try tampered { object, _ in
            var signatures = try #require(object["signatures"] as? [String: Any])
            var vendor = try #require(signatures["vendor"] as? [String: Any])
            vendor["certificate"] = impostor.certificatePEM
            vendor["certificate_sha256"] = impostor.fingerprint
            signatures["vendor"] = vendor
            object["signatures"] = signatures
        }
        #expect(rejection(replaced, caFiles: [f.pki.files.ca])?.contains("as the vendor's certificate, but the report carries") == true)
        // Only the certificate, its recorded fingerprint left as it was.
        let (bare, _) = try tampered { object, _ in
            var signatures = try #require(object["signatures"] as? [String: Any])
            var vendor = try #require(signatures["vendor"] as? [String: Any])
            vendor["certificate"] = impostor.certificatePEM
            signatures["vendor"] = vendor
            object["signatures"] = signatures
        }
        #expect(rejection(bare, caFiles: [f.pki.files.ca])?.contains("the certificate was swapped") == true)
    }

    @Test("a CA the certificates do not chain to is rejected")
    func wrongCA() throws {
        let f = try Self.fixture.get()
        let reason = try #require(rejection(f.directory, caFiles: [f.pki.otherCA.ca]))
        #expect(reason.contains("the vendor's certificate (vendor) is not valid for the CA given") && reason.contains("not signed by the CA in \(f.pki.otherCA.ca)"))
        // A missing CA file names the file.
        let missing = f.pki.files.directory + "/missing.crt"
        #expect(throws: ValidationError.reportFile(path: missing, reason: "no such file (--ca takes the CA certificate, PEM)")) {
            try ReportVerifier.verify(f.directory, caFiles: [missing])
        }
        // A report that is not there names the file.
        #expect(rejection(f.pki.temporaryDirectory("none"), caFiles: [f.pki.files.ca])?.contains("no such file") == true)
    }

    @Test("a statement both parties signed but not in canonical form (a field this version would not show) is rejected")
    func nonCanonical() throws {
        let f = try Self.fixture.get()
        let original = try #require(f.hospital.report)
        let text = original.statementText.replacingOccurrences(of: ",\"date\":", with: ",\"comment\":\"hidden\",\"date\":")
        #expect(text != original.statementText)
        let (vendorSigner, hospitalSigner) = try f.pki.signers()
        let report = SignedReport(statementText: text, statement: original.statement, vendor: try vendorSigner.sign(text),
                                  hospital: try hospitalSigner.sign(text))
        let directory = f.pki.temporaryDirectory("non-canonical")
        try report.write(to: directory)
        #expect(rejection(directory, caFiles: [f.pki.files.ca])?.contains("not in canonical form") == true)
    }

    @Test("the vendor refuses a statement that differs from its own view; the opened metric stands on both sides")
    func vendorRefusesADifferentStatement() throws {
        let pki = try Self.fixture.get().pki
        let (vendorSigner, unaltered) = try pki.signers()
        var hospitalSigner = unaltered
        hospitalSigner.alterStatement = { $0.opened.correct = ($0.opened.correct ?? 0) + 1 }
        let (vendor, hospital) = try runReportSession(vendorSigner: vendorSigner, hospitalSigner: hospitalSigner)
        #expect(vendor.report == nil && hospital.report == nil)
        #expect(vendor.correct != nil && vendor.correct == hospital.correct)
        let reason = try #require(hospital.reportFailure)
        #expect(reason.contains("the vendor did not sign the statement") && reason.contains("differs from the vendor's view of the session in opened"))
        #expect(try #require(vendor.reportFailure).contains("differs from the vendor's view of the session in opened"))
    }

    @Test("the vendor refuses a statement dated 20 minutes from its clock")
    func clockSkew() throws {
        let pki = try Self.fixture.get().pki
        let (vendorSigner, unmoved) = try pki.signers()
        var hospitalSigner = unmoved
        hospitalSigner.clock = { Date().addingTimeInterval(20 * 60) }
        let (vendor, hospital) = try runReportSession(vendorSigner: vendorSigner, hospitalSigner: hospitalSigner)
        #expect(vendor.report == nil && hospital.report == nil)
        #expect(try #require(hospital.reportFailure).contains("20 minutes ahead of the vendor's clock"))
    }

    @Test("a vendor without a signing identity says so; a hospital that asks for no report gets none (old-style session)")
    func withoutSigners() throws {
        let pki = try Self.fixture.get().pki
        let (vendorSigner, hospitalSigner) = try pki.signers()
        let (v1, h1) = try runReportSession(vendorSigner: nil, hospitalSigner: hospitalSigner)
        #expect(h1.report == nil && (h1.reportFailure ?? "").contains("this vendor has no signing identity"))
        #expect(v1.correct == h1.correct)
        let (v2, h2) = try runReportSession(vendorSigner: vendorSigner, hospitalSigner: nil)
        #expect(v2.report == nil && h2.report == nil && v2.reportFailure == nil && h2.reportFailure == nil)
    }

    @Test("threshold: the statement holds the opened bit and not the count")
    func thresholdStatement() throws {
        let pki = try Self.fixture.get().pki
        let (vendorSigner, hospitalSigner) = try pki.signers()
        let (vendor, hospital) = try runReportSession(vendorSigner: vendorSigner, hospitalSigner: hospitalSigner,
                                                      metric: Metric(opening: .atLeast(threshold: 0.5)))
        let report = try #require(hospital.report)
        #expect(vendor.report == report)
        #expect(report.statement.opened.passed == true && report.statement.opened.threshold == 0.5)
        #expect(report.statement.opened.correct == nil && report.statement.opened.accuracy == nil)
        #expect(!report.statementText.contains("\"correct\""))
    }

    @Test("predictions: the statement says they were opened to the hospital only and holds no value")
    func predictionsStatement() throws {
        var result = ValidationResult(metric: "predictions", correct: nil, total: 3, accuracy: nil, threshold: nil, passed: nil,
                                      seconds: 1, bytesSent: 0, bytesReceived: 0, rounds: 0, ringBits: 40, scale: 14, batch: 3,
                                      programDigest: "p", sessionID: "s", model: "m", modelCommitment: "mc", datasetCommitment: "dc")
        result.predictions = [123_456_789, -987_654_321, 555_555_555]
        result.findings = ["0", "1"]
        let session = SessionStart(sessionID: "s", modelCommitment: "mc", datasetCommitment: "dc", programDigest: "p",
                                   metricAsked: "predictions", images: 3, batch: 3, ringBits: 40, scale: 14)
        let statement = ValidationStatement(session: session, result: result, modelName: "m", date: Date(),
                                            vendorCertificate: "AA", hospitalCertificate: "bb")
        let text = statement.canonicalText
        #expect(!text.contains("123456789") && !text.contains("987654321") && !text.contains("555555555"))
        #expect(statement.opened.openedTo == "the hospital only")
        #expect(text.contains("opened to the hospital only"))
        #expect(statement.vendorCertificate == "aa")
        #expect(ValidationStatement.parse(text) == statement)
    }
}

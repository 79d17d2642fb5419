import Foundation
import Transport

/// What one party needs to sign the end-of-session statement and check the peer's signature:
/// its own TLS identity (whose private key signs, inside OpenSSL) and the peer's certificate —
/// the one the TLS channel authenticated (`TLSChannel.peerCertificatePEM`), or, over an in-memory
/// channel in tests, the peer identity's certificate.
///
/// Contract: holds no secret in Swift memory (the key stays in the `TLSIdentity`); immutable.
/// Passed to `ValidationClient.run(report:)` (the hospital then asks for a signed report) and to
/// `ValidationServer.serve(report:)` (the vendor then signs when a hospital asks).
public struct ReportSigner: Sendable {
    /// This party's identity; its certificate is named in the statement.
    public let identity: TLSIdentity
    /// This party's certificate, PEM, and its fingerprint (lowercase hex).
    public let ownCertificatePEM: String
    public let ownFingerprint: String
    /// The peer's certificate.
    public let peerCertificate: X509Certificate
    /// This party's clock (tests move it to check the vendor's date check).
    var clock: @Sendable () -> Date = { Date() }
    /// Tests only: changes the statement the hospital signs and sends, to check that the vendor
    /// refuses a statement that differs from its own view.
    var alterStatement: (@Sendable (inout ValidationStatement) -> Void)?

    /// Throws when `identity` has no certificate or key (a trust-only identity) or
    /// `peerCertificatePEM` holds no certificate.
    public init(identity: TLSIdentity, peerCertificatePEM: String) throws {
        guard let own = identity.certificatePEM, let fingerprint = identity.certificateFingerprint else {
            throw ValidationError.reportNotSigned("this party has no certificate and key to sign with")
        }
        self.identity = identity
        ownCertificatePEM = own
        ownFingerprint = fingerprint.lowercased()
        peerCertificate = try X509Certificate(pem: peerCertificatePEM, source: "the peer's TLS certificate")
    }

    /// Signs `text`'s UTF-8 bytes: this party's signature entry of the report.
    func sign(_ text: String) throws -> SignedReport.PartySignature {
        let (algorithm, signature) = try identity.sign(Array(text.utf8))
        return SignedReport.PartySignature(algorithm: algorithm.rawValue, signature: Data(signature).base64EncodedString(),
                                           certificate: ownCertificatePEM, certificateSHA256: ownFingerprint)
    }

    /// The peer's signature entry, if `signature` (base64, by `algorithm`) verifies over `text`
    /// with the peer's certificate; else nil.
    func peerEntry(algorithm: String, signature: String, over text: String) -> SignedReport.PartySignature? {
        guard let bytes = Data(base64Encoded: signature), algorithm == peerCertificate.signatureAlgorithm?.rawValue,
              peerCertificate.verifies(signature: [UInt8](bytes), over: Array(text.utf8)) else { return nil }
        return SignedReport.PartySignature(algorithm: algorithm, signature: signature, certificate: peerCertificate.pem,
                                           certificateSHA256: peerCertificate.fingerprint)
    }
}

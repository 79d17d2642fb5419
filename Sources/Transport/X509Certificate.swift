import COpenSSL
import Foundation

/// A certificate kept as PEM after the TLS connection that authenticated it: the peer's, for
/// checking its signature on a statement, and the ones inside a signed validation report, for
/// anyone who checks that report later against the CA(s).
///
/// Contract: holds public data only (a certificate; never a key). The initializer throws
/// `TransportError.file(path:reason:)` naming `source` (a file, or "the vendor's certificate in
/// report.json") when the text holds no PEM certificate. Immutable, so it may be shared between
/// threads.
public final class X509Certificate: @unchecked Sendable {
    /// The certificate, PEM, as OpenSSL writes it (normalised: the same text on both sides).
    public let pem: String
    /// SHA-256 of the DER encoding, lowercase hex (what `TLSChannel.peerCertificateFingerprint` shows).
    public let fingerprint: String
    /// The subject's common name.
    public let commonName: String?
    /// The validity period.
    public let notBefore: Date, notAfter: Date
    /// `X509 *`, owned.
    let certificate: OpaquePointer

    /// Parses the first certificate of `pem`; `source` names where it came from in errors.
    public convenience init(pem text: String, source: String) throws {
        let found = try TLSIdentity.parseCertificates(Array(text.utf8), path: source, what: "certificate")
        for extra in found.dropFirst() { X509_free(extra) }
        try self.init(owning: found[0], source: source)
    }

    /// Wraps `certificate` (`X509 *`), taking ownership of it.
    init(owning certificate: OpaquePointer, source: String) throws {
        self.certificate = certificate
        pem = OpenSSLSupport.pemText { PEM_write_bio_X509($0, certificate) } ?? ""
        fingerprint = OpenSSLSupport.fingerprint(of: certificate)
        commonName = OpenSSLSupport.commonName(of: certificate)
        guard let start = Self.date(X509_get0_notBefore(certificate)), let end = Self.date(X509_get0_notAfter(certificate)) else {
            X509_free(certificate)
            throw TransportError.file(path: source, reason: "the certificate's validity period cannot be read")
        }
        notBefore = start
        notAfter = end
    }

    /// Reads the first certificate of a PEM file.
    public convenience init(file path: String) throws {
        let bytes = try PEMFiles.read(path)
        try self.init(pem: String(decoding: bytes, as: UTF8.self), source: path)
    }

    deinit { X509_free(certificate) }

    /// The scheme its public key signs with, or nil for a key type this program cannot verify.
    public var signatureAlgorithm: SignatureAlgorithm? {
        X509_get0_pubkey(certificate).flatMap { SignatureAlgorithm(key: $0) }
    }

    /// Whether `signature` is a valid signature of exactly `message` by this certificate's key.
    public func verifies(signature: [UInt8], over message: [UInt8]) -> Bool {
        guard let key = X509_get0_pubkey(certificate) else { return false }
        return OpenSSLSignature.verify(signature, of: message, publicKey: key)
    }

    /// Checks that this certificate chains to a CA certificate in the PEM file `caFile`, was within
    /// its validity (and the CA within its own) at `date`, and is meant for `role`'s side of the TLS
    /// connection (the vendor's a server certificate, the hospital's a client one). Returns nil when
    /// it does, else the reason in user terms (naming `caFile`). Throws `TransportError.file` when
    /// `caFile` cannot be read or holds no certificate.
    public func chainFailure(caFile: String, role: Party, at date: Date) throws -> String? {
        let authorities = try TLSIdentity.parseCertificates(try PEMFiles.read(caFile), path: caFile, what: "CA certificate")
        defer { for authority in authorities { X509_free(authority) } }
        ERR_clear_error()
        defer { ERR_clear_error() }
        guard let store = X509_STORE_new() else { throw TransportError.tls("X509_STORE_new failed") }
        defer { X509_STORE_free(store) }
        for authority in authorities { _ = X509_STORE_add_cert(store, authority) }
        guard let context = X509_STORE_CTX_new() else { throw TransportError.tls("X509_STORE_CTX_new failed") }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, certificate, nil) == 1 else {
            throw TransportError.tls("cannot start checking the certificate: \(OpenSSLSupport.drainErrors())")
        }
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(context), time_t(date.timeIntervalSince1970))
        _ = X509_STORE_CTX_set_purpose(context, role == .vendor ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT)
        if X509_verify_cert(context) == 1 { return nil }
        let code = X509_STORE_CTX_get_error(context)
        let openSSLText = String(cString: X509_verify_cert_error_string(Int(code)))
        let when = Self.format(date)
        switch code {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
             X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
             X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_V_ERR_CERT_SIGNATURE_FAILURE:
            return "it is not signed by the CA in \(caFile) (\(openSSLText))"
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return "it had expired on \(when), the statement's date (valid until \(Self.format(notAfter)))"
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return "it was not valid yet on \(when), the statement's date (valid from \(Self.format(notBefore)))"
        case X509_V_ERR_INVALID_PURPOSE:
            return "it is not a \(role == .vendor ? "TLS server (vendor)" : "TLS client (hospital)") certificate: the roles in the report do not match the certificates (\(openSSLText))"
        default:
            return "it does not chain to the CA in \(caFile): \(openSSLText)"
        }
    }

    /// `ASN1_TIME` → `Date`.
    private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }

    /// "2025-01-31T12:00:00Z".
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

import COpenSSL
import Foundation

/// One party's TLS credentials, loaded from PEM files: its certificate, the matching private key,
/// and the CA certificate(s) it checks the peer's certificate against.
///
/// Contract: the initializer reads and checks all three files at once and throws
/// `TransportError.file(path:reason:)` naming the offending file when one is missing, unreadable,
/// not PEM, or when the key does not belong to the certificate. The private key stays inside
/// OpenSSL; it is never copied into Swift memory or printed. Immutable after loading, so it may be
/// shared between threads (one listener and many accepted channels use the same identity).
public final class TLSIdentity: @unchecked Sendable {
    /// The PEM certificate file this identity presents.
    public let certificatePath: String?
    /// The PEM private-key file.
    public let keyPath: String?
    /// The PEM file of the CA certificate(s) the peer must be signed by.
    public let caPath: String
    /// SHA-256 of this party's certificate (DER), hex; nil for a trust-only identity.
    public let certificateFingerprint: String?
    /// The CN of this party's certificate.
    public let commonName: String?

    /// `X509 *`, owned.
    let certificate: OpaquePointer?
    /// `EVP_PKEY *`, owned.
    let privateKey: OpaquePointer?
    /// `X509 *` each, owned.
    let authorities: [OpaquePointer]

    /// Loads and checks a certificate, its private key and the CA file (all PEM).
    public convenience init(certificate: String, key: String, ca: String) throws {
        let certificateBytes = try PEMFiles.read(certificate)
        let keyBytes = try PEMFiles.read(key)
        let caBytes = try PEMFiles.read(ca)

        let cert = try Self.parseCertificates(certificateBytes, path: certificate, what: "certificate").first!
        let privateKey: OpaquePointer
        do {
            privateKey = try PEMFiles.withBIO(keyBytes) { bio in
                ERR_clear_error()
                guard let loaded = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
                    let detail = OpenSSLSupport.drainErrors()
                    let text = String(decoding: keyBytes.prefix(4096), as: UTF8.self)
                    let reason = if text.contains("-----BEGIN CERTIFICATE-----") {
                        "holds a certificate, not a private key: pass the .key file"
                    } else if text.contains("ENCRYPTED") {
                        "holds an encrypted private key: only unencrypted keys are supported"
                    } else if text.contains("-----BEGIN") {
                        "holds no readable PEM private key (\(detail))"
                    } else {
                        "not a PEM private key (expected a '-----BEGIN PRIVATE KEY-----' block)"
                    }
                    throw TransportError.file(path: key, reason: reason)
                }
                return loaded
            }
        } catch {
            X509_free(cert)
            throw error
        }
        guard X509_check_private_key(cert, privateKey) == 1 else {
            ERR_clear_error()
            X509_free(cert)
            EVP_PKEY_free(privateKey)
            throw TransportError.file(path: key, reason: "this private key does not belong to the certificate \(certificate)")
        }
        let cas: [OpaquePointer]
        do {
            cas = try Self.parseCertificates(caBytes, path: ca, what: "CA certificate")
        } catch {
            X509_free(cert)
            EVP_PKEY_free(privateKey)
            throw error
        }
        self.init(certificatePath: certificate, keyPath: key, caPath: ca, certificate: cert, privateKey: privateKey, authorities: cas)
    }

    /// An identity that verifies the peer against `ca` but presents no certificate of its own.
    /// Only for tests of the vendor's refusal: the vendor rejects every client without one.
    init(trustingOnly ca: String) throws {
        let cas = try Self.parseCertificates(try PEMFiles.read(ca), path: ca, what: "CA certificate")
        certificatePath = nil
        keyPath = nil
        caPath = ca
        certificate = nil
        privateKey = nil
        authorities = cas
        certificateFingerprint = nil
        commonName = nil
    }

    private init(certificatePath: String, keyPath: String, caPath: String, certificate: OpaquePointer,
                 privateKey: OpaquePointer, authorities: [OpaquePointer]) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.caPath = caPath
        self.certificate = certificate
        self.privateKey = privateKey
        self.authorities = authorities
        certificateFingerprint = OpenSSLSupport.fingerprint(of: certificate)
        commonName = OpenSSLSupport.commonName(of: certificate)
    }

    deinit {
        if let certificate { X509_free(certificate) }
        if let privateKey { EVP_PKEY_free(privateKey) }
        for authority in authorities { X509_free(authority) }
    }

    /// Every certificate in a PEM file (at least one), or an error naming the file.
    static func parseCertificates(_ bytes: [UInt8], path: String, what: String) throws -> [OpaquePointer] {
        try PEMFiles.withBIO(bytes) { bio in
            var found = [OpaquePointer]()
            ERR_clear_error()
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                found.append(certificate)
            }
            // The loop ends on "no start line" at the end of the file: expected, not an error.
            let detail = OpenSSLSupport.drainErrors()
            guard !found.isEmpty else {
                let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
                let reason = if text.contains("PRIVATE KEY-----") {
                    "holds a private key, not a \(what): pass the .crt file"
                } else if text.contains("-----BEGIN") {
                    "holds no readable PEM \(what) (\(detail))"
                } else {
                    "not a PEM \(what) (expected a '-----BEGIN CERTIFICATE-----' block)"
                }
                throw TransportError.file(path: path, reason: reason)
            }
            return found
        }
    }
}

import COpenSSL
import Foundation

/// The signature scheme a key signs with, chosen by the key's type: ECDSA with SHA-256 (the EC
/// P-256 keys `validate-inspect certs` issues), RSA PKCS#1 v1.5 with SHA-256, or pure Ed25519 /
/// Ed448 (which hash internally). Public data: its name is written next to each signature.
public enum SignatureAlgorithm: String, Sendable, Codable, CaseIterable {
    case ecdsaSHA256 = "ecdsa-with-SHA256"
    case rsaSHA256 = "sha256WithRSAEncryption"
    case ed25519 = "ed25519"
    case ed448 = "ed448"

    /// The scheme of `key` (`EVP_PKEY *`), or nil for a key type this program does not sign with
    /// (DSA, RSA-PSS-only keys, …).
    init?(key: OpaquePointer) {
        switch EVP_PKEY_get_base_id(key) {
        case NID_X9_62_id_ecPublicKey: self = .ecdsaSHA256
        case NID_rsaEncryption: self = .rsaSHA256
        case NID_ED25519: self = .ed25519
        case NID_ED448: self = .ed448
        default: return nil
        }
    }

    /// The digest passed to `EVP_DigestSignInit` (nil for the Edwards curves, which take none).
    var digest: OpaquePointer? {
        switch self {
        case .ecdsaSHA256, .rsaSHA256: EVP_sha256()
        case .ed25519, .ed448: nil
        }
    }

    /// The key's OpenSSL type name, for messages ("EC", "RSA", …).
    static func keyTypeName(_ key: OpaquePointer) -> String {
        EVP_PKEY_get0_type_name(key).map { String(cString: $0) } ?? "unknown"
    }
}

/// One-shot signing and verification with `EVP_DigestSign` / `EVP_DigestVerify`. Internal: the
/// contract is `TLSIdentity.sign(_:)` and `X509Certificate.verifies(signature:over:)`.
enum OpenSSLSignature {
    /// Signs `message` with `key` (`EVP_PKEY *`, held by OpenSSL; never copied out).
    static func sign(_ message: [UInt8], key: OpaquePointer) throws -> (SignatureAlgorithm, [UInt8]) {
        guard let algorithm = SignatureAlgorithm(key: key) else {
            throw TransportError.tls("cannot sign with a \(SignatureAlgorithm.keyTypeName(key)) key: only EC (ECDSA with SHA-256), RSA (PKCS#1 v1.5 with SHA-256), Ed25519 and Ed448 keys sign reports")
        }
        ERR_clear_error()
        guard let context = EVP_MD_CTX_new() else { throw TransportError.tls("EVP_MD_CTX_new failed: \(OpenSSLSupport.drainErrors())") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, algorithm.digest, nil, key) == 1 else {
            throw TransportError.tls("cannot start signing with this \(SignatureAlgorithm.keyTypeName(key)) key: \(OpenSSLSupport.drainErrors())")
        }
        var length = 0
        let sized = message.withUnsafeBufferPointer { EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) }
        guard sized == 1, length > 0 else { throw TransportError.tls("cannot size the signature: \(OpenSSLSupport.drainErrors())") }
        var signature = [UInt8](repeating: 0, count: length)
        let signed = message.withUnsafeBufferPointer { input in
            signature.withUnsafeMutableBufferPointer { EVP_DigestSign(context, $0.baseAddress, &length, input.baseAddress, input.count) }
        }
        guard signed == 1 else { throw TransportError.tls("signing failed: \(OpenSSLSupport.drainErrors())") }
        return (algorithm, Array(signature.prefix(length)))
    }

    /// Whether `signature` is a valid signature of `message` under `publicKey` (`EVP_PKEY *`).
    /// False for any failure (wrong key, altered message, malformed signature, unknown key type).
    static func verify(_ signature: [UInt8], of message: [UInt8], publicKey: OpaquePointer) -> Bool {
        guard let algorithm = SignatureAlgorithm(key: publicKey), !signature.isEmpty else { return false }
        ERR_clear_error()
        defer { ERR_clear_error() }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, algorithm.digest, nil, publicKey) == 1 else { return false }
        let result = signature.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer { EVP_DigestVerify(context, sig.baseAddress, sig.count, $0.baseAddress, $0.count) }
        }
        return result == 1
    }
}

extension TLSIdentity {
    /// Signs `message` with this party's TLS private key (`EVP_DigestSign`; SHA-256 except for
    /// Ed25519/Ed448, see `SignatureAlgorithm`), for a statement both parties sign at the end of a
    /// session. The key never leaves OpenSSL. Throws `TransportError.tls` for a trust-only identity
    /// or a key type that does not sign.
    public func sign(_ message: [UInt8]) throws -> (algorithm: SignatureAlgorithm, signature: [UInt8]) {
        guard let privateKey else { throw TransportError.tls("this identity has no private key to sign with") }
        let (algorithm, signature) = try OpenSSLSignature.sign(message, key: privateKey)
        return (algorithm, signature)
    }

    /// This party's certificate, PEM (nil for a trust-only identity).
    public var certificatePEM: String? {
        certificate.flatMap { certificate in OpenSSLSupport.pemText { PEM_write_bio_X509($0, certificate) } }
    }
}

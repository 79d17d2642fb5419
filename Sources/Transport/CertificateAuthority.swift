import COpenSSL
import CryptoPrimitives
import Foundation

/// A throwaway certificate authority made with the OpenSSL API, for demos and tests: an EC P-256
/// key and a self-signed X.509 v3 CA certificate (CA:TRUE, keyCertSign) that issues the vendor's
/// (serverAuth) and the hospital's (clientAuth) certificates.
///
/// Contract: every key is fresh from OpenSSL's CSPRNG, every serial number is 16 random bytes (positive),
/// signatures are ECDSA with SHA-256. The private keys stay inside OpenSSL until written to a
/// file with mode 0600; they are never turned into Swift strings. Files are never overwritten
/// unless asked (`overwrite: true`). Nothing here is meant for production: a real deployment
/// uses certificates from the parties' own PKI.
public final class CertificateAuthority: @unchecked Sendable {
    /// The file names `writeTestCertificates` uses.
    public enum FileName {
        public static let ca = "ca.crt"
        public static let vendorCertificate = "vendor.crt"
        public static let vendorKey = "vendor.key"
        public static let hospitalCertificate = "hospital.crt"
        public static let hospitalKey = "hospital.key"
    }

    /// The CA certificate's common name.
    public let commonName: String
    /// The CA's validity period (site certificates get the same).
    public let notBefore: Date, notAfter: Date
    /// `EVP_PKEY *`, owned.
    private let key: OpaquePointer
    /// `X509 *`, owned.
    private let certificate: OpaquePointer

    /// Creates a CA valid from `notBefore` to `notAfter` (default: from five minutes ago, for clock
    /// skew between the parties, to 30 days from now).
    public init(commonName: String = "SecureValidation test CA", notBefore: Date = Date().addingTimeInterval(-300),
                notAfter: Date = Date().addingTimeInterval(30 * 86400)) throws {
        self.commonName = commonName
        self.notBefore = notBefore
        self.notAfter = notAfter
        key = try Self.generateKey()
        do {
            certificate = try Self.makeCertificate(
                commonName: commonName, publicKey: key, issuer: nil, signingKey: key,
                notBefore: notBefore, notAfter: notAfter,
                extensions: [
                    (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                    (NID_key_usage, "critical,keyCertSign,cRLSign"),
                    (NID_subject_key_identifier, "hash"),
                ])
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(key)
    }

    /// The CA certificate, PEM.
    public var certificatePEM: String {
        OpenSSLSupport.pemText { PEM_write_bio_X509($0, certificate) } ?? ""
    }

    /// The names every test certificate carries, so that a vendor on this machine is reachable as
    /// `localhost` or `127.0.0.1` (the hospital checks the name it connected to).
    public static let localNames = ["localhost", "127.0.0.1"]

    /// Issues a certificate for `party` with a fresh P-256 key: CN = the party's name unless given,
    /// subject alternative names `names` (IP literals as IP entries, the rest as DNS names; by
    /// default `localNames`), serverAuth for the vendor, clientAuth for the hospital.
    /// `notBefore`/`notAfter` default to five minutes ago / 30 days from now; pass past dates to
    /// make an expired certificate for tests. Throws `TransportError.tls` for a name that is neither
    /// a host name nor an IP address.
    /// `alsoServer` adds serverAuth to a hospital's certificate: a pool site's, which also serves
    /// the other sites as the pool's aggregator (`validate-client pool-collect`).
    /// `keyType` chooses the leaf's key (P-256 by default; Ed25519 and RSA-2048 for tests of the
    /// report signatures with other key types); the CA always signs with its P-256 key.
    public func issue(for party: Party, commonName: String? = nil, names: [String] = CertificateAuthority.localNames,
                      notBefore: Date = Date().addingTimeInterval(-300),
                      notAfter: Date = Date().addingTimeInterval(30 * 86400), alsoServer: Bool = false,
                      keyType: KeyType = .p256) throws -> IssuedCertificate {
        let alternativeNames = try Self.subjectAlternativeNames(names)
        let leafKey = try Self.generateKey(keyType)
        do {
            let leaf = try Self.makeCertificate(
                commonName: commonName ?? party.rawValue, publicKey: leafKey, issuer: certificate, signingKey: key,
                notBefore: notBefore, notAfter: notAfter,
                extensions: [
                    (NID_basic_constraints, "critical,CA:FALSE"),
                    (NID_key_usage, "critical,digitalSignature"),
                    (NID_ext_key_usage, party == .vendor ? "serverAuth" : alsoServer ? "clientAuth,serverAuth" : "clientAuth"),
                    (NID_subject_alt_name, alternativeNames),
                    (NID_subject_key_identifier, "hash"),
                    (NID_authority_key_identifier, "keyid:always"),
                ])
            return IssuedCertificate(party: party, certificate: leaf, key: leafKey)
        } catch {
            EVP_PKEY_free(leafKey)
            throw error
        }
    }

    /// The SAN extension value for `names`: "DNS:a,IP:1.2.3.4". A name must be an IP literal or a
    /// DNS name (letters, digits, '-', '.', a leading "*." wildcard).
    static func subjectAlternativeNames(_ names: [String]) throws -> String {
        guard !names.isEmpty else { throw TransportError.tls("a certificate needs at least one name") }
        return try names.map { name in
            if OpenSSLSupport.isIPAddress(name) { return "IP:\(name)" }
            guard isHostName(name) else {
                throw TransportError.tls("'\(name)' is neither a host name (letters, digits, '-', '.') nor an IP address")
            }
            return "DNS:\(name)"
        }.joined(separator: ",")
    }

    /// True for a name `issue(names:)` accepts: a DNS name or an IP address literal.
    public static func isNameOrAddress(_ name: String) -> Bool {
        OpenSSLSupport.isIPAddress(name) || isHostName(name)
    }

    /// A DNS name: labels of 1–63 letters, digits and inner hyphens, at most 253 characters; the
    /// first label may be "*".
    public static func isHostName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for (i, label) in labels.enumerated() {
            if i == 0 && label == "*" && labels.count > 2 { continue }
            guard (1...63).contains(label.utf8.count),
                  label.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 < 128 && (Character(UnicodeScalar($0)).isLetter || Character(UnicodeScalar($0)).isNumber)) }),
                  label.first != "-", label.last != "-" else { return false }
        }
        return true
    }

    /// Writes the CA certificate (mode 0644) to `path`.
    public func writeCertificate(to path: String, overwrite: Bool = false) throws {
        let pem = Array(certificatePEM.utf8)
        try pem.withUnsafeBytes { try PEMFiles.write($0, to: path, mode: 0o644, overwrite: overwrite) }
    }

    /// Creates a CA and a vendor and a hospital certificate valid for `days` days (the vendor's
    /// names: `localNames` plus `vendorNames`), and writes
    /// `ca.crt`, `vendor.crt`, `vendor.key`, `hospital.crt`, `hospital.key` into `directory`
    /// (created if missing; keys mode 0600). Without `overwrite`, refuses — before writing
    /// anything — if any of the five files exists, naming it. Returns the paths written. Each of
    /// `sites` also gets `SITE.crt` and `SITE.key` (`writeSiteCertificate`).
    ///
    /// Validity: by default from five minutes ago (clock skew) to `days` days from now; with
    /// `notBefore`, from `notBefore` to `notBefore` + `days` days — a date in the past makes
    /// certificates that have already expired (for tests of the expiry check), one in the future
    /// certificates that are not valid yet.
    @discardableResult
    public static func writeTestCertificates(to directory: String, days: Int = 30, notBefore: Date? = nil,
                                             vendorNames: [String] = [], sites: [String] = [],
                                             overwrite: Bool = false) throws -> CertificateFiles {
        guard days >= 1 else {
            throw TransportError.file(path: directory, reason: "certificates must be valid for at least one day, not \(days)")
        }
        let now = Date()
        let validFrom = notBefore ?? now.addingTimeInterval(-300)
        let validUntil = (notBefore ?? now).addingTimeInterval(Double(days) * 86400)
        let authority = try CertificateAuthority(notBefore: validFrom, notAfter: validUntil)
        var names = localNames
        for name in vendorNames where !names.contains(name) { names.append(name) }
        let vendor = try authority.issue(for: .vendor, names: names, notBefore: validFrom, notAfter: validUntil)
        let hospital = try authority.issue(for: .hospital, notBefore: validFrom, notAfter: validUntil)
        if !overwrite {
            for site in sites {
                for path in ["\(site).crt", "\(site).key"].map({ (directory as NSString).appendingPathComponent($0) }) where PEMFiles.exists(path) {
                    throw TransportError.file(path: path, reason: "already exists: refusing to overwrite it (pass overwrite / --force to replace it)")
                }
            }
        }
        let files = try authority.write(vendor: vendor, hospital: hospital, to: directory, overwrite: overwrite)
        for site in sites { _ = try authority.writeSiteCertificate(name: site, to: directory, overwrite: overwrite) }
        return files
    }

    /// Issues a pool site's certificate (a hospital's, also good for serving as the pool's
    /// aggregator) with CN `name`, valid like the CA, and writes `NAME.crt` and `NAME.key` into
    /// `directory`; refuses to overwrite unless `overwrite`. Returns the two paths.
    public func writeSiteCertificate(name: String, names: [String] = CertificateAuthority.localNames, to directory: String,
                                     overwrite: Bool = false) throws -> (certificate: String, key: String) {
        let site = try issue(for: .hospital, commonName: name, names: names, notBefore: notBefore, notAfter: notAfter, alsoServer: true)
        let certificate = (directory as NSString).appendingPathComponent("\(name).crt")
        let key = (directory as NSString).appendingPathComponent("\(name).key")
        if !overwrite {
            for path in [certificate, key] where PEMFiles.exists(path) {
                throw TransportError.file(path: path, reason: "already exists: refusing to overwrite it (pass overwrite / --force to replace it)")
            }
        }
        try site.writeCertificate(to: certificate, overwrite: overwrite)
        try site.writePrivateKey(to: key, overwrite: overwrite)
        return (certificate, key)
    }

    /// Writes this CA's certificate and the two issued certificates with their keys into
    /// `directory`, under the standard names (see `writeTestCertificates`).
    @discardableResult
    public func write(vendor: IssuedCertificate, hospital: IssuedCertificate, to directory: String,
                      overwrite: Bool = false) throws -> CertificateFiles {
        let files = CertificateFiles(directory: directory)
        try Self.makeDirectory(directory)
        if !overwrite {
            for path in files.all where PEMFiles.exists(path) {
                throw TransportError.file(path: path, reason: "already exists: refusing to overwrite it (pass overwrite / --force to replace it)")
            }
        }
        try writeCertificate(to: files.ca, overwrite: overwrite)
        try vendor.writeCertificate(to: files.vendorCertificate, overwrite: overwrite)
        try vendor.writePrivateKey(to: files.vendorKey, overwrite: overwrite)
        try hospital.writeCertificate(to: files.hospitalCertificate, overwrite: overwrite)
        try hospital.writePrivateKey(to: files.hospitalKey, overwrite: overwrite)
        return files
    }

    // MARK: OpenSSL

    private static func makeDirectory(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw TransportError.file(path: directory, reason: "exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TransportError.file(path: directory, reason: "cannot create the directory: \(error.localizedDescription)")
        }
    }

    private static func failure(_ what: String) -> TransportError {
        .tls("cannot create a certificate: \(what) failed: \(OpenSSLSupport.drainErrors())")
    }

    /// The key types `issue` can give a leaf certificate.
    public enum KeyType: String, Sendable, CaseIterable {
        case p256 = "EC", ed25519 = "ED25519", rsa2048 = "RSA"
    }

    /// A fresh key pair (`EVP_PKEY *`, owned by the caller): EC P-256 unless asked otherwise.
    static func generateKey(_ type: KeyType = .p256) throws -> OpaquePointer {
        ERR_clear_error()
        guard let context = EVP_PKEY_CTX_new_from_name(nil, type.rawValue, nil) else { throw failure("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw failure("EVP_PKEY_keygen_init") }
        switch type {
        case .p256: guard EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else { throw failure("choosing curve P-256") }
        case .rsa2048: guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, 2048) == 1 else { throw failure("choosing 2048-bit RSA") }
        case .ed25519: break
        }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw failure("EVP_PKEY_generate") }
        return key
    }

    /// A signed X.509 v3 certificate (`X509 *`, owned by the caller). `issuer` nil: self-signed.
    private static func makeCertificate(commonName: String, publicKey: OpaquePointer, issuer: OpaquePointer?,
                                        signingKey: OpaquePointer, notBefore: Date, notAfter: Date,
                                        extensions: [(Int32, String)]) throws -> OpaquePointer {
        ERR_clear_error()
        guard let certificate = X509_new() else { throw failure("X509_new") }
        var done = false
        defer { if !done { X509_free(certificate) } }

        guard X509_set_version(certificate, 2) == 1 else { throw failure("X509_set_version") } // 2 means v3

        // Serial: 16 random bytes, top bit cleared (positive), never zero.
        var serial = SecureRandom.bytes(16)
        serial[0] = (serial[0] & 0x7F) | 0x01
        guard let serialNumber = BN_bin2bn(serial, Int32(serial.count), nil) else { throw failure("BN_bin2bn") }
        defer { BN_free(serialNumber) }
        guard BN_to_ASN1_INTEGER(serialNumber, X509_get_serialNumber(certificate)) != nil else { throw failure("setting the serial number") }

        guard ASN1_TIME_set(X509_getm_notBefore(certificate), time_t(notBefore.timeIntervalSince1970)) != nil,
              ASN1_TIME_set(X509_getm_notAfter(certificate), time_t(notAfter.timeIntervalSince1970)) != nil else {
            throw failure("setting the validity period")
        }
        guard X509_set_pubkey(certificate, publicKey) == 1 else { throw failure("X509_set_pubkey") }

        guard let name = X509_NAME_new() else { throw failure("X509_NAME_new") }
        defer { X509_NAME_free(name) }
        guard X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, commonName, -1, -1, 0) == 1 else {
            throw failure("setting the common name")
        }
        guard X509_set_subject_name(certificate, name) == 1 else { throw failure("X509_set_subject_name") }
        let issuerName = issuer.map { X509_get_subject_name($0) } ?? name
        guard X509_set_issuer_name(certificate, issuerName) == 1 else { throw failure("X509_set_issuer_name") }

        var extensionContext = X509V3_CTX()
        X509V3_set_ctx(&extensionContext, issuer ?? certificate, certificate, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_nconf_nid(nil, &extensionContext, nid, value) else {
                throw failure("building extension \(String(cString: OBJ_nid2sn(nid))) = \(value)")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(certificate, ext, -1) == 1 else { throw failure("X509_add_ext") }
        }

        guard X509_sign(certificate, signingKey, EVP_sha256()) > 0 else { throw failure("X509_sign") }
        done = true
        return certificate
    }
}

/// A certificate issued by a `CertificateAuthority`, with its private key.
///
/// Contract: holds the key inside OpenSSL (freed, and wiped by OpenSSL, on deinit); the key
/// leaves it only through `writePrivateKey`, into a file with mode 0600.
public final class IssuedCertificate: @unchecked Sendable {
    /// The party it was issued for (decides serverAuth vs clientAuth).
    public let party: Party
    /// `X509 *`, owned.
    private let certificate: OpaquePointer
    /// `EVP_PKEY *`, owned.
    private let key: OpaquePointer

    init(party: Party, certificate: OpaquePointer, key: OpaquePointer) {
        self.party = party
        self.certificate = certificate
        self.key = key
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(key)
    }

    /// The certificate, PEM.
    public var certificatePEM: String {
        OpenSSLSupport.pemText { PEM_write_bio_X509($0, certificate) } ?? ""
    }

    /// SHA-256 of the certificate (DER), lowercase hex — what the peer's `peerCertificateFingerprint` shows.
    public var fingerprint: String { OpenSSLSupport.fingerprint(of: certificate) }

    /// Writes the certificate (mode 0644).
    public func writeCertificate(to path: String, overwrite: Bool = false) throws {
        let pem = Array(certificatePEM.utf8)
        try pem.withUnsafeBytes { try PEMFiles.write($0, to: path, mode: 0o644, overwrite: overwrite) }
    }

    /// Writes the private key, unencrypted PKCS#8 PEM, mode 0600.
    public func writePrivateKey(to path: String, overwrite: Bool = false) throws {
        let written: Void? = try OpenSSLSupport.withSecurePEM({ PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }) {
            try PEMFiles.write($0, to: path, mode: 0o600, overwrite: overwrite)
        }
        guard written != nil else {
            throw TransportError.file(path: path, reason: "OpenSSL could not encode the private key: \(OpenSSLSupport.drainErrors())")
        }
    }
}

/// Where `CertificateAuthority.writeTestCertificates` put the five PEM files.
public struct CertificateFiles: Sendable, Equatable {
    public let directory: String
    public var ca: String { path(CertificateAuthority.FileName.ca) }
    public var vendorCertificate: String { path(CertificateAuthority.FileName.vendorCertificate) }
    public var vendorKey: String { path(CertificateAuthority.FileName.vendorKey) }
    public var hospitalCertificate: String { path(CertificateAuthority.FileName.hospitalCertificate) }
    public var hospitalKey: String { path(CertificateAuthority.FileName.hospitalKey) }
    /// All five, in the order written.
    public var all: [String] { [ca, vendorCertificate, vendorKey, hospitalCertificate, hospitalKey] }

    public init(directory: String) { self.directory = directory }

    /// Loads the identity of `party` (its certificate and key, and the CA).
    public func identity(for party: Party) throws -> TLSIdentity {
        party == .vendor
            ? try TLSIdentity(certificate: vendorCertificate, key: vendorKey, ca: ca)
            : try TLSIdentity(certificate: hospitalCertificate, key: hospitalKey, ca: ca)
    }

    private func path(_ name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }
}

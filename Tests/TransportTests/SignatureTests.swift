import Foundation
import Testing
@testable import Transport

/// Signing with a TLS identity's key and checking signatures and certificate chains afterwards
/// (what a signed validation report needs), for the key types an identity may hold.
@Suite struct SignatureTests {
    /// A CA and a vendor and a hospital certificate whose keys are of `keyType`.
    private func pki(_ keyType: CertificateAuthority.KeyType = .p256, notBefore: Date = Date().addingTimeInterval(-300),
                     notAfter: Date = Date().addingTimeInterval(30 * 86400)) throws -> (CertificateFiles, CertificateAuthority) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sv-sign-test-\(UUID().uuidString)").path
        let ca = try CertificateAuthority()
        let files = try ca.write(vendor: try ca.issue(for: .vendor, notBefore: notBefore, notAfter: notAfter, keyType: keyType),
                                 hospital: try ca.issue(for: .hospital, notBefore: notBefore, notAfter: notAfter, keyType: keyType),
                                 to: directory)
        return (files, ca)
    }

    @Test("a signature verifies over exactly the signed bytes, with the signer's certificate only",
          arguments: CertificateAuthority.KeyType.allCases)
    func signAndVerify(keyType: CertificateAuthority.KeyType) throws {
        let (files, _) = try pki(keyType)
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        let vendor = try files.identity(for: .vendor)
        let message = Array(#"{"correct":359,"total":360}"#.utf8)
        let (algorithm, signature) = try vendor.sign(message)
        let expected: SignatureAlgorithm = switch keyType { case .p256: .ecdsaSHA256; case .ed25519: .ed25519; case .rsa2048: .rsaSHA256 }
        #expect(algorithm == expected)
        let certificate = try X509Certificate(pem: try #require(vendor.certificatePEM), source: "test")
        #expect(certificate.fingerprint == vendor.certificateFingerprint)
        #expect(certificate.signatureAlgorithm == expected)
        #expect(certificate.verifies(signature: signature, over: message))
        var changed = message
        changed[13] = UInt8(ascii: "8")  // 359 → 358
        #expect(!certificate.verifies(signature: signature, over: changed))
        var flipped = signature
        flipped[flipped.count / 2] ^= 1
        #expect(!certificate.verifies(signature: flipped, over: message))
        #expect(!certificate.verifies(signature: [], over: message))
        let hospital = try X509Certificate(file: files.hospitalCertificate)
        #expect(!hospital.verifies(signature: signature, over: message))
    }

    @Test func aCertificateChainsToItsCAForItsRoleOnly() throws {
        let (files, _) = try pki()
        let (other, _) = try pki()
        defer { for f in [files, other] { try? FileManager.default.removeItem(atPath: f.directory) } }
        let vendor = try X509Certificate(file: files.vendorCertificate), hospital = try X509Certificate(file: files.hospitalCertificate)
        let now = Date()
        #expect(try vendor.chainFailure(caFile: files.ca, role: .vendor, at: now) == nil)
        #expect(try hospital.chainFailure(caFile: files.ca, role: .hospital, at: now) == nil)
        // The roles swapped: a client certificate is no server certificate, and the other way round.
        #expect(try #require(try vendor.chainFailure(caFile: files.ca, role: .hospital, at: now)).contains("not a TLS client (hospital) certificate"))
        #expect(try #require(try hospital.chainFailure(caFile: files.ca, role: .vendor, at: now)).contains("not a TLS server (vendor) certificate"))
        // Another CA.
        #expect(try #require(try vendor.chainFailure(caFile: other.ca, role: .vendor, at: now)).contains("not signed by the CA in \(other.ca)"))
        // Outside the validity period.
        #expect(try #require(try vendor.chainFailure(caFile: files.ca, role: .vendor, at: now.addingTimeInterval(40 * 86400))).contains("had expired"))
        #expect(try #require(try vendor.chainFailure(caFile: files.ca, role: .vendor, at: now.addingTimeInterval(-86400))).contains("not valid yet"))
        // A CA file that is not one.
        #expect(throws: TransportError.self) { try vendor.chainFailure(caFile: files.vendorKey, role: .vendor, at: now) }
    }

    @Test func certificateParsingNamesTheSource() throws {
        #expect(throws: TransportError.file(path: "the vendor's certificate", reason: "not a PEM certificate (expected a '-----BEGIN CERTIFICATE-----' block)")) {
            try X509Certificate(pem: "hello", source: "the vendor's certificate")
        }
    }

    @Test func theTLSChannelKeepsThePeersCertificate() throws {
        let pki = try TestPKI()
        let vendor = try pki.vendor, hospital = try pki.hospital
        let attempt = try attemptConnection(vendor: vendor, hospital: hospital)
        let server = try attempt.vendor.get(), client = try attempt.hospital.get()
        defer { server.close(); client.close() }
        #expect(server.peerCertificatePEM == hospital.certificatePEM)
        #expect(client.peerCertificatePEM == vendor.certificatePEM)
        #expect(try X509Certificate(pem: client.peerCertificatePEM, source: "peer").fingerprint == client.peerCertificateFingerprint)
    }
}

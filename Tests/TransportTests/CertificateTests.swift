import Foundation
import Testing
@testable import Transport

/// Throwaway certificates: the files, their permissions, refusing to overwrite, and loading them.
@Suite struct CertificateTests {
    private func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sv-certs-test-\(UUID().uuidString)").path
    }

    private func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as! NSNumber).intValue
    }

    @Test func writesTheFiveFilesWithPrivateKeysReadableOnlyByTheOwner() throws {
        let directory = temporaryDirectory() + "/nested/certs"  // created, parents included
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let files = try CertificateAuthority.writeTestCertificates(to: directory, days: 3)
        #expect(files.all.map { ($0 as NSString).lastPathComponent } == ["ca.crt", "vendor.crt", "vendor.key", "hospital.crt", "hospital.key"])
        for path in files.all { #expect(FileManager.default.fileExists(atPath: path), "\(path)") }
        #expect(try mode(files.vendorKey) == 0o600)
        #expect(try mode(files.hospitalKey) == 0o600)
        #expect(try mode(files.ca) == 0o644)
        let ca = try String(contentsOfFile: files.ca, encoding: .utf8)
        #expect(ca.hasPrefix("-----BEGIN CERTIFICATE-----"))
        let key = try String(contentsOfFile: files.vendorKey, encoding: .utf8)
        #expect(key.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let vendor = try files.identity(for: .vendor), hospital = try files.identity(for: .hospital)
        #expect(vendor.commonName == "vendor")
        #expect(hospital.commonName == "hospital")
        #expect(vendor.certificateFingerprint != hospital.certificateFingerprint)
    }

    @Test func refusesToOverwriteAndOverwritesWhenAsked() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try CertificateAuthority.writeTestCertificates(to: directory)
        let before = try files.all.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        #expect(throws: TransportError.file(path: files.ca,
                                            reason: "already exists: refusing to overwrite it (pass overwrite / --force to replace it)")) {
            try CertificateAuthority.writeTestCertificates(to: directory)
        }
        let unchanged = try files.all.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        #expect(unchanged == before)

        // One file left over from elsewhere is enough to refuse, and nothing else is written.
        let lone = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: lone) }
        try FileManager.default.createDirectory(atPath: lone, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: lone + "/hospital.key"))
        #expect {
            try CertificateAuthority.writeTestCertificates(to: lone)
        } throws: { error in
            guard case let .file(path, _)? = error as? TransportError else { return false }
            return path.hasSuffix("hospital.key")
        }
        #expect(!FileManager.default.fileExists(atPath: lone + "/ca.crt"))

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: files.vendorKey)
        try CertificateAuthority.writeTestCertificates(to: directory, overwrite: true)
        let after = try files.all.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        for (old, new) in zip(before, after) { #expect(old != new) }
        #expect(try mode(files.vendorKey) == 0o600, "an overwritten key is made private again")
        _ = try files.identity(for: .vendor)
    }

    @Test func refusesAFileWhereTheDirectoryShouldBe() throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("x".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: TransportError.file(path: path, reason: "exists and is not a directory")) {
            try CertificateAuthority.writeTestCertificates(to: path)
        }
    }

    @Test func identityErrorsNameTheFile() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try CertificateAuthority.writeTestCertificates(to: directory)

        let missing = directory + "/nope.crt"
        #expect(throws: TransportError.file(path: missing, reason: "no such file")) {
            try TLSIdentity(certificate: missing, key: files.vendorKey, ca: files.ca)
        }
        let notPEM = directory + "/notes.txt"
        try Data("hello, this is not a certificate\n".utf8).write(to: URL(fileURLWithPath: notPEM))
        for (certificate, key, ca) in [(notPEM, files.vendorKey, files.ca), (files.vendorCertificate, notPEM, files.ca),
                                       (files.vendorCertificate, files.vendorKey, notPEM)] {
            #expect {
                try TLSIdentity(certificate: certificate, key: key, ca: ca)
            } throws: { error in
                guard case let .file(path, reason)? = error as? TransportError else { return false }
                return path == notPEM && reason.contains("not a PEM")
            }
        }
        // A key given as the certificate, and a certificate given as the key.
        #expect(throws: TransportError.self) { try TLSIdentity(certificate: files.vendorKey, key: files.vendorKey, ca: files.ca) }
        #expect(throws: TransportError.self) { try TLSIdentity(certificate: files.vendorCertificate, key: files.vendorCertificate, ca: files.ca) }
        #expect(throws: TransportError.file(path: files.hospitalKey,
                                            reason: "this private key does not belong to the certificate \(files.vendorCertificate)")) {
            try TLSIdentity(certificate: files.vendorCertificate, key: files.hospitalKey, ca: files.ca)
        }
        #expect {
            try TLSIdentity(certificate: files.vendorCertificate, key: files.vendorKey, ca: directory)
        } throws: { error in
            guard case let .file(path, _)? = error as? TransportError else { return false }
            return path == directory
        }
        if geteuid() != 0 {  // root reads everything
            try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: files.vendorKey)
            #expect {
                try TLSIdentity(certificate: files.vendorCertificate, key: files.vendorKey, ca: files.ca)
            } throws: { error in
                guard case let .file(path, reason)? = error as? TransportError else { return false }
                return path == files.vendorKey && reason.contains("permission denied")
            }
        }
    }

    @Test func aPastStartDateWritesCertificatesThatHaveExpired() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let start = Date(timeIntervalSince1970: 1_577_836_800)  // 2020-01-01 00:00 UTC
        let files = try CertificateAuthority.writeTestCertificates(to: directory, days: 1, notBefore: start)
        let attempt = try attemptConnection(vendor: try files.identity(for: .vendor), hospital: try files.identity(for: .hospital))
        // The hospital checks the vendor's certificate first and finds it expired.
        #expect(isTLSError(attempt.hospitalError, containing: ["the peer's certificate has expired"]),
                "hospital: \(String(describing: attempt.hospitalError))")
        #expect(attempt.vendorError != nil)
    }
}

import Foundation
import Testing
@testable import Transport

/// The hospital checks who the vendor is (its certificate's name, optionally a pinned
/// fingerprint), and no TLS session is ever resumed (a resumed handshake skips certificate checks).
@Suite struct PeerIdentityTests {
    @Test func aVendorCertificateForAnotherNameFromTheSameCAIsRefused() throws {
        let pki = try TestPKI(vendorNames: ["evil.example"])
        let attempt = try attemptConnection(vendor: try pki.vendor, hospital: try pki.hospital)
        guard case let .wrongPeer(message)? = attempt.hospitalError else {
            Issue.record("expected wrongPeer, got \(attempt.hospital)")
            return
        }
        #expect(message.contains("not issued for 127.0.0.1"))
        #expect(message.contains("evil.example"))
        // The vendor's side of the handshake fails too: the hospital aborted with an alert.
        #expect(attempt.vendorError != nil)
    }

    @Test func theNameMustMatchTheHostConnectedTo() throws {
        // Only an IP SAN: reachable as 127.0.0.1, refused as localhost.
        let ipOnly = try TestPKI(vendorNames: ["127.0.0.1"])
        #expect(try attemptConnection(vendor: try ipOnly.vendor, hospital: try ipOnly.hospital).hospitalError == nil)
        let byName = try attemptConnection(vendor: try ipOnly.vendor, hospital: try ipOnly.hospital, host: "localhost")
        guard case let .wrongPeer(message)? = byName.hospitalError else {
            Issue.record("expected wrongPeer, got \(byName.hospital)")
            return
        }
        #expect(message.contains("not issued for localhost"))
        // The default test certificate names both.
        let both = try TestPKI()
        #expect(try attemptConnection(vendor: try both.vendor, hospital: try both.hospital, host: "localhost").hospitalError == nil)
    }

    @Test func aPinnedFingerprintIsEnforcedBeforeAnythingIsSent() throws {
        let pki = try TestPKI()
        let vendor = try pki.vendor
        let pin = try #require(vendor.certificateFingerprint)
        let good = try attemptConnection(vendor: vendor, hospital: try pki.hospital, expectedFingerprint: pin.uppercased())
        #expect(good.hospitalError == nil)

        let other = String(repeating: "ab", count: 32)
        let bad = try attemptConnection(vendor: vendor, hospital: try pki.hospital, expectedFingerprint: other)
        guard case let .wrongPeer(message)? = bad.hospitalError else {
            Issue.record("expected wrongPeer, got \(bad.hospital)")
            return
        }
        #expect(message.contains(pin) && message.contains(other))
        // The vendor sees a closed connection and not one application byte.
        let server = try bad.vendor.get()
        server.timeout = 5
        #expect(throws: TransportError.peerClosed(expected: 1, received: 0)) { _ = try server.receive(UInt8.self) }
        #expect(server.statistics.bytesReceived == 0)
    }

    @Test func certificateNamesAreCheckedWhenIssued() throws {
        let ca = try CertificateAuthority()
        #expect(throws: TransportError.self) { _ = try ca.issue(for: .vendor, names: ["bad name,DNS:evil"]) }
        #expect(throws: TransportError.self) { _ = try ca.issue(for: .vendor, names: []) }
        #expect(CertificateAuthority.isNameOrAddress("vendor.example.org"))
        #expect(CertificateAuthority.isNameOrAddress("::1"))
        #expect(!CertificateAuthority.isNameOrAddress("-bad.example"))
    }

    /// A client that kept the session of an authenticated connection offers it again without a
    /// certificate (OpenSSL's own `s_client -sess_out` / `-sess_in`, as an attacker would): the
    /// vendor must run a full handshake, which then fails for want of a client certificate, instead
    /// of resuming and taking the client for the hospital.
    @Test func tlsSessionResumptionIsRefused() throws {
        let pki = try TestPKI()
        let listener = try TLSListener(host: "127.0.0.1", port: 0, identity: try pki.vendor)
        let sessionFile = pki.directory + "/session.pem"

        // 1. A full handshake with the hospital's certificate; s_client saves the session ticket.
        let first = try SClient(port: listener.port, arguments: ["-cert", pki.files.hospitalCertificate, "-key", pki.files.hospitalKey,
                                                                 "-CAfile", pki.files.ca, "-sess_out", sessionFile])
        let accepted = try listener.accept(timeout: 10)
        try accepted.send(value: UInt8(7))
        try accepted.flush()
        Thread.sleep(forTimeInterval: 0.3)   // s_client writes the session when the ticket arrives
        accepted.close()
        let firstOutput = first.finish()
        #expect(firstOutput.contains("New, TLSv1.3"))
        #expect(FileManager.default.fileExists(atPath: sessionFile), "s_client saved no session: \(firstOutput)")

        // 2. The same session offered without any certificate.
        let second = try SClient(port: listener.port, arguments: ["-CAfile", pki.files.ca, "-sess_in", sessionFile])
        #expect {
            _ = try listener.accept(timeout: 10)
        } throws: { error in
            guard case let .tls(message)? = error as? TransportError else { return false }
            return message.contains("no certificate")
        }
        let secondOutput = second.finish()
        #expect(!secondOutput.contains("Reused"), "the vendor resumed a TLS session: \(secondOutput)")
    }
}

/// `openssl s_client -tls1_3` against 127.0.0.1:port, stdin held open until `finish`.
final class SClient: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    init(port: Int, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-tls1_3"] + arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// Closes stdin, waits (at most 10 s) and returns everything it printed.
    func finish() -> String {
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate() }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        return String(decoding: data, as: UTF8.self)
    }
}

import Benchmarks
import CryptoPrimitives
import Foundation
import Testing
@testable import Transport

/// Mutual TLS between a vendor listener and a hospital client on 127.0.0.1, in one process on two
/// threads. Every wait is bounded by a timeout of a few seconds: a hang fails the test, it never
/// blocks the suite.
@Suite struct TLSChannelTests {
    @Test func mutualTLSTransfers64MiBEachWayAndCountersAddUp() throws {
        let pki = try TestPKI()
        let (vendor, hospital) = try connectedPair(pki)
        #expect(vendor.tlsVersion == "TLSv1.3")
        #expect(vendor.cipherName == "TLS_AES_128_GCM_SHA256")
        #expect(hospital.cipherName == vendor.cipherName)
        #expect(vendor.peerCommonName == "hospital")
        #expect(hospital.peerCommonName == "vendor")
        #expect(vendor.peerCertificateFingerprint == (try pki.hospital).certificateFingerprint)
        #expect(hospital.peerCertificateFingerprint == (try pki.vendor).certificateFingerprint)
        #expect(hospital.peerCertificateFingerprint.count == 64)

        let size = 64 << 20
        let toVendor = Block(low: 1, high: 2), toHospital = Block(low: 3, high: 4)
        // Mixed sizes: tiny sends that fill the buffer, exactly-buffer-sized and larger direct writes.
        let sendPieces = [1, 7, 4093, 65536, 1 << 20, (3 << 20) + 5, 100]
        let receivePieces = [3, (1 << 20) + 17, 8, 512 << 10, 4 << 20]

        let vendorSide = Background { () throws -> (HandshakeResult, Bool) in
            let result = try Handshake.run(on: vendor, role: .vendor)
            let intact = try receiveStream(vendor, seed: toVendor, count: size, pieces: receivePieces)
            try sendStream(vendor, seed: toHospital, count: size, pieces: sendPieces)
            _ = try vendor.receive(UInt8.self)  // the hospital's acknowledgement
            return (result, intact)
        }
        let hospitalResult = try Handshake.run(on: hospital, role: .hospital)
        try sendStream(hospital, seed: toVendor, count: size, pieces: sendPieces)
        let hospitalIntact = try receiveStream(hospital, seed: toHospital, count: size, pieces: receivePieces)
        try hospital.send(value: UInt8(1))
        try hospital.flush()

        let (vendorResult, vendorIntact) = try #require(vendorSide.wait(seconds: 60)).get()
        #expect(vendorIntact)
        #expect(hospitalIntact)
        #expect(vendorResult.sessionID == hospitalResult.sessionID)
        #expect(vendorResult.peerRole == .hospital && hospitalResult.peerRole == .vendor)

        let handshakeBytes = 12 + 1 + Handshake.nonceLength + 32
        #expect(hospital.statistics.bytesSent == handshakeBytes + size + 1)
        #expect(hospital.statistics.bytesReceived == handshakeBytes + size)
        #expect(vendor.statistics.bytesSent == handshakeBytes + size)
        #expect(vendor.statistics.bytesReceived == handshakeBytes + size + 1)
        // Hospital: send → receive (handshake), send → receive (data): 2 rounds.
        // Vendor: send → receive (handshake), receive, send → receive (ack): 2 rounds.
        #expect(hospital.statistics.rounds == 2)
        #expect(vendor.statistics.rounds == 2)
        #expect(vendor.statistics.waitSeconds >= 0 && vendor.statistics.waitSeconds < 60)
        hospital.close()
        vendor.close()
    }

    @Test func aClientCertificateFromAnotherCAIsRefused() throws {
        let pki = try TestPKI(), other = try TestPKI()
        let stranger = try TLSIdentity(certificate: other.files.hospitalCertificate, key: other.files.hospitalKey, ca: pki.files.ca)
        let attempt = try attemptConnection(vendor: try pki.vendor, hospital: stranger)
        #expect(isTLSError(attempt.vendorError, containing: ["the peer's certificate is not signed by the CA in", "ca.crt"]),
                "vendor: \(String(describing: attempt.vendorError))")
        #expect(isTLSError(attempt.hospitalError, containing: ["rejected this side's certificate", "CA"]),
                "hospital: \(String(describing: attempt.hospitalError))")
    }

    @Test func aServerCertificateFromAnotherCAIsRefused() throws {
        let pki = try TestPKI(), other = try TestPKI()
        let impostor = try TLSIdentity(certificate: other.files.vendorCertificate, key: other.files.vendorKey, ca: pki.files.ca)
        let attempt = try attemptConnection(vendor: impostor, hospital: try pki.hospital)
        #expect(isTLSError(attempt.hospitalError, containing: ["the peer's certificate is not signed by the CA in", pki.files.ca]),
                "hospital: \(String(describing: attempt.hospitalError))")
        #expect(isTLSError(attempt.vendorError, containing: ["rejected this side's certificate"]),
                "vendor: \(String(describing: attempt.vendorError))")
    }

    @Test func aClientWithoutCertificateIsRefused() throws {
        let pki = try TestPKI()
        let anonymous = try TLSIdentity(trustingOnly: pki.files.ca)
        let attempt = try attemptConnection(vendor: try pki.vendor, hospital: anonymous)
        #expect(isTLSError(attempt.vendorError, containing: ["the peer sent no certificate"]),
                "vendor: \(String(describing: attempt.vendorError))")
        #expect(isTLSError(attempt.hospitalError, containing: ["requires a certificate", "sent none"]),
                "hospital: \(String(describing: attempt.hospitalError))")
    }

    @Test func anExpiredClientCertificateIsRefused() throws {
        let now = Date()
        let pki = try TestPKI(hospitalValidity: (now.addingTimeInterval(-10 * 86400), now.addingTimeInterval(-86400)))
        let attempt = try attemptConnection(vendor: try pki.vendor, hospital: try pki.hospital)
        #expect(isTLSError(attempt.vendorError, containing: ["the peer's certificate has expired"]),
                "vendor: \(String(describing: attempt.vendorError))")
        #expect(isTLSError(attempt.hospitalError, containing: ["rejected this side's certificate", "certificate has expired"]),
                "hospital: \(String(describing: attempt.hospitalError))")
    }

    @Test func anExpiredServerCertificateIsRefused() throws {
        let now = Date()
        let pki = try TestPKI(vendorValidity: (now.addingTimeInterval(-10 * 86400), now.addingTimeInterval(-86400)))
        let attempt = try attemptConnection(vendor: try pki.vendor, hospital: try pki.hospital)
        #expect(isTLSError(attempt.hospitalError, containing: ["the peer's certificate has expired"]),
                "hospital: \(String(describing: attempt.hospitalError))")
        #expect(isTLSError(attempt.vendorError, containing: ["certificate has expired"]),
                "vendor: \(String(describing: attempt.vendorError))")
    }

    @Test func aCertificateForTheWrongRoleIsRefused() throws {
        // The hospital's clientAuth certificate used by a server: the hospital refuses it.
        let pki = try TestPKI()
        let wrongRole = try TLSIdentity(certificate: pki.files.hospitalCertificate, key: pki.files.hospitalKey, ca: pki.files.ca)
        let attempt = try attemptConnection(vendor: wrongRole, hospital: try pki.hospital)
        #expect(isTLSError(attempt.hospitalError, containing: ["not meant for its role"]),
                "hospital: \(String(describing: attempt.hospitalError))")
        #expect(attempt.vendorError != nil)
    }

    @Test func versionMismatchOverTLS() throws {
        let pki = try TestPKI()
        let (vendor, hospital) = try connectedPair(pki)
        let vendorSide = Background { try Handshake.run(on: vendor, role: .vendor, context: .zero, version: Handshake.protocolVersion + 1) }
        #expect(throws: TransportError.handshakeMismatch(
            "the peer speaks protocol version \(Handshake.protocolVersion + 1), this program speaks version \(Handshake.protocolVersion): upgrade the older side")) {
            try Handshake.run(on: hospital, role: .hospital)
        }
        let vendorResult = try #require(vendorSide.wait(seconds: 10))
        #expect(throws: TransportError.handshakeMismatch(
            "the peer speaks protocol version \(Handshake.protocolVersion), this program speaks version \(Handshake.protocolVersion + 1): upgrade the older side")) { try vendorResult.get() }
    }

    @Test func twoVendorsOverTLSAreAMismatch() throws {
        let pki = try TestPKI()
        let (vendor, hospital) = try connectedPair(pki)
        let vendorSide = Background { try Handshake.run(on: vendor, role: .vendor) }
        #expect {
            try Handshake.run(on: hospital, role: .vendor)
        } throws: { error in
            guard case let .handshakeMismatch(message)? = error as? TransportError else { return false }
            return message.contains("both sides claim to be the vendor")
        }
        #expect(throws: TransportError.self) { try #require(vendorSide.wait(seconds: 10)).get() }
    }

    @Test func aPeerThatClosesMidMessageGivesPeerClosed() throws {
        let pki = try TestPKI()
        let (vendor, hospital) = try connectedPair(pki, timeout: 5)
        let message = 1 << 20
        try hospital.send([UInt8](repeating: 9, count: message / 2))
        try hospital.flush()
        hospital.close()
        #expect(throws: TransportError.peerClosed(expected: message, received: message / 2)) {
            _ = try vendor.receive(UInt8.self, count: message)
        }
    }

    @Test func aPeerThatDiesMidMessageGivesPeerClosed() throws {
        let pki = try TestPKI()
        let (vendor, hospital) = try connectedPair(pki, timeout: 5)
        let message = 1 << 20
        let hospitalSide = Background {
            try hospital.send([UInt8](repeating: 9, count: message / 2))
            try hospital.flush()
            Thread.sleep(forTimeInterval: 0.2)
            hospital.closeAbruptly()  // no close_notify: as if the process died
        }
        #expect {
            _ = try vendor.receive(UInt8.self, count: message)
        } throws: { error in
            guard case let .peerClosed(expected, received)? = error as? TransportError else { return false }
            return expected == message && received <= message / 2
        }
        _ = try #require(hospitalSide.wait(seconds: 10)).get()
        // Sending to the dead peer fails with an error, not SIGPIPE.
        #expect(throws: TransportError.self) {
            for _ in 0..<64 {
                try vendor.send([UInt8](repeating: 1, count: 1 << 20))
                try vendor.flush()
            }
        }
    }

    @Test func garbageBytesFailThatAcceptOnlyAndTheListenerSurvives() throws {
        let pki = try TestPKI()
        let listener = try TLSListener(host: "127.0.0.1", port: 0, identity: try pki.vendor)
        let port = listener.port
        for junk in ["GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", String(repeating: "not TLS at all; ", count: 40)] {
            let raw = Background { () throws -> Int32 in
                let fd = try TCPSocket.connect(host: "127.0.0.1", port: port, timeout: 5)
                let bytes = Array(junk.utf8)
                _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                return fd
            }
            #expect {
                _ = try listener.accept(timeout: 5)
            } throws: { error in
                guard case let .tls(message)? = error as? TransportError else { return false }
                return message.contains("not TLS") || message.contains("not a TLS handshake")
            }
            if let fd = try raw.wait(seconds: 10)?.get() { close(fd) }
        }
        let client = Background { try TLSChannel.connect(host: "127.0.0.1", port: port, identity: try pki.hospital, timeout: 5) }
        let vendor = try listener.accept(timeout: 5)
        let hospital = try #require(client.wait(seconds: 10)).get()
        try hospital.send(value: UInt32(42))
        try hospital.flush()
        #expect(try vendor.receive(UInt32.self) == 42)
    }

    @Test func aSilentClientTimesOutTheAcceptAndTheListenerSurvives() throws {
        let pki = try TestPKI()
        let listener = try TLSListener(host: "127.0.0.1", port: 0, identity: try pki.vendor)
        let fd = try TCPSocket.connect(host: "127.0.0.1", port: listener.port, timeout: 5)
        defer { close(fd) }
        let start = TCPSocket.now()
        #expect(throws: TransportError.timeout(seconds: 0.3)) { _ = try listener.accept(timeout: 0.3) }
        #expect(TCPSocket.now() - start < 3)
        // No client at all: the same.
        #expect(throws: TransportError.timeout(seconds: 0.3)) { _ = try listener.accept(timeout: 0.3) }
    }

    @Test func aSilentServerTimesOutTheConnect() throws {
        let pki = try TestPKI()
        // Listening, but nobody calls accept: TCP connects, the TLS handshake never starts.
        let listener = try TLSListener(host: "127.0.0.1", port: 0, identity: try pki.vendor)
        let start = TCPSocket.now()
        #expect(throws: TransportError.timeout(seconds: 0.3)) {
            _ = try TLSChannel.connect(host: "127.0.0.1", port: listener.port, identity: try pki.hospital, timeout: 0.3)
        }
        #expect(TCPSocket.now() - start < 3)
    }

    @Test func aSilentPeerTimesOutAReceive() throws {
        let pki = try TestPKI()
        let (vendor, hospital) = try connectedPair(pki)
        vendor.timeout = 0.3
        #expect(throws: TransportError.timeout(seconds: 0.3)) { _ = try vendor.receive(UInt8.self) }
        #expect(vendor.statistics.waitSeconds >= 0.25)
        hospital.close()
    }

    @Test func nobodyListeningIsASocketError() throws {
        let pki = try TestPKI()
        let port: Int
        do {
            let listener = try TLSListener(host: "127.0.0.1", port: 0, identity: try pki.vendor)
            port = listener.port
        }
        #expect {
            _ = try TLSChannel.connect(host: "127.0.0.1", port: port, identity: try pki.hospital, timeout: 2)
        } throws: { error in
            guard case let .socket(message)? = error as? TransportError else { return false }
            return message.contains("refused")
        }
    }

    @Test func closedChannelsRefuseFurtherUse() throws {
        let pki = try TestPKI()
        let (vendor, hospital) = try connectedPair(pki)
        hospital.close()
        hospital.close()
        #expect(throws: TransportError.self) { try hospital.send(value: UInt8(1)) }
        #expect(throws: TransportError.self) { _ = try hospital.receive(UInt8.self) }
        vendor.close()
    }

    @Test func loopbackBenchmarkReportsAFigure() throws {
        let report = try TLSBenchmark.loopback(megabytes: 32, timeout: 20)
        #expect(report.bytes == 32 << 20)
        #expect(report.gigabytesPerSecond > 0)
        #expect(report.cipher == "TLS_AES_128_GCM_SHA256")
        print("TLS loopback: \(String(format: "%.2f", report.gigabytesPerSecond)) GB/s, \(report.cipher)")
    }
}

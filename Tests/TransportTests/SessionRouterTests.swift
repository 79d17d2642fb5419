import CryptoPrimitives
import Foundation
import Testing
@testable import Transport

/// The vendor's router of several sessions at once, over real TLS on 127.0.0.1: new sessions and
/// each session's lanes go where their handshake context says, with the peeked bytes given back.
@Suite struct SessionRouterTests {
    func context(_ label: String) -> SessionContext {
        SessionContext(digest: SHA256Hasher().digest(Array(label.utf8)))!
    }

    @Test func twoSessionsOfOneCertificateGetTheirOwnLanes() throws {
        let pki = try TestPKI()
        let listener = try TLSListener(host: "127.0.0.1", port: 0, identity: try pki.vendor)
        let router = SessionRouter(listener: listener, timeout: 10) { _ in }
        router.start()
        defer { router.stop() }
        let hospital = try pki.hospital
        func connect(_ context: SessionContext, tag: UInt8) -> Background<UInt8> {
            Background {
                let channel = try TLSChannel.connect(host: "127.0.0.1", port: listener.port, identity: hospital, timeout: 10)
                defer { channel.close() }
                _ = try Handshake.run(on: channel, role: .hospital, context: context)
                // Silent until the vendor speaks (as a hospital is on its session while lanes open).
                let nonce = try channel.receive(UInt8.self)
                try channel.send(value: nonce &+ tag)
                try channel.flush()
                return nonce
            }
        }
        // Two sessions, then their lanes in the opposite order.
        let a = connect(.zero, tag: 1), b = connect(.zero, tag: 2)
        var sessions: [TLSChannel] = []
        for _ in 0..<2 {
            guard case .session(let channel) = try router.nextSession(timeout: 10) else { Issue.record("a session failed"); return }
            _ = try Handshake.run(on: channel, role: .vendor)  // reads the peeked hello again
            sessions.append(channel)
        }
        let laneB = connect(context("lane-b"), tag: 20), laneA = connect(context("lane-a"), tag: 10)
        for (label, session) in [("lane-a", sessions[0]), ("lane-b", sessions[1])] {
            let lane = try router.nextLane(context: context(label), of: session, timeout: 10)
            _ = try Handshake.run(on: lane, role: .vendor, context: context(label))
            try lane.send(value: UInt8(100))
            try lane.flush()
            #expect(try lane.receive(UInt8.self) == 100 + (label == "lane-a" ? 10 : 20))
            lane.close()
        }
        var tags: Set<UInt8> = []
        for session in sessions {
            try session.send(value: UInt8(100))
            try session.flush()
            tags.insert(try session.receive(UInt8.self) - 100)
        }
        #expect(tags == [1, 2])
        for waiting in [a, b, laneA, laneB] { #expect(try #require(waiting.wait(seconds: 10)).get() == 100) }
        for session in sessions { session.close() }
    }

    @Test func aLaneFromAnotherCertificateIsRefusedAndGarbageArrivesAsAFailure() throws {
        let pki = try TestPKI()
        let site = try pki.authority.writeSiteCertificate(name: "other-site", to: pki.directory)
        let other = try TLSIdentity(certificate: site.certificate, key: site.key, ca: pki.files.ca)
        let listener = try TLSListener(host: "127.0.0.1", port: 0, identity: try pki.vendor)
        let router = SessionRouter(listener: listener, timeout: 10) { _ in }
        router.start()
        defer { router.stop() }
        let hospital = try pki.hospital
        let session = Background { () throws -> TLSChannel in
            let channel = try TLSChannel.connect(host: "127.0.0.1", port: listener.port, identity: hospital, timeout: 10)
            _ = try Handshake.run(on: channel, role: .hospital)
            return channel
        }
        guard case .session(let vendorSide) = try router.nextSession(timeout: 10) else { Issue.record("the session failed"); return }
        _ = try Handshake.run(on: vendorSide, role: .vendor)
        let hospitalSide = try #require(session.wait(seconds: 10)).get()
        // Another site's certificate names this session's lane context: it is not handed over.
        let intruder = Background { () throws -> Void in
            let channel = try TLSChannel.connect(host: "127.0.0.1", port: listener.port, identity: other, timeout: 10)
            defer { channel.close() }
            _ = try Handshake.run(on: channel, role: .hospital, context: self.context("lane"))
        }
        #expect(throws: TransportError.timeout(seconds: 2)) {
            _ = try router.nextLane(context: self.context("lane"), of: vendorSide, timeout: 2)
        }
        _ = intruder.wait(seconds: 10)
        // Bytes that are not TLS: a failure, for the caller to record; the router goes on.
        let fd = try TCPSocket.connect(host: "127.0.0.1", port: listener.port, timeout: 5)
        _ = [UInt8](repeating: 0x41, count: 64).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard case .failed(let error, nil) = try router.nextSession(timeout: 10) else { Issue.record("garbage was not a failure"); return }
        #expect(error is TransportError)
        close(fd)
        hospitalSide.close()
        vendorSide.close()
    }
}

import Foundation
import Testing
@testable import Transport

/// The application handshake on an in-memory pair: both parties in one process, two threads.
@Suite struct HandshakeTests {
    @Test func bothSidesAgreeOnAFreshSessionID() throws {
        let context = SessionContext(hashing: Array("public model plan".utf8))
        func session() throws -> (HandshakeResult, HandshakeResult) {
            let (a, b) = MemoryChannel.pair(timeout: 5)
            let vendorSide = Background { try Handshake.run(on: a, role: .vendor, context: context) }
            let hospital = try Handshake.run(on: b, role: .hospital, context: context)
            return (try #require(vendorSide.wait(seconds: 10)).get(), hospital)
        }
        let (vendor, hospital) = try session()
        #expect(vendor.sessionID == hospital.sessionID)
        #expect(vendor.sessionID.count == 32)
        #expect(vendor.sessionIDHex.count == 64)
        #expect(vendor.peerRole == .hospital && hospital.peerRole == .vendor)
        #expect(vendor.peerVersion == Handshake.protocolVersion && hospital.peerVersion == Handshake.protocolVersion)
        #expect(vendor.context == context)
        let (again, _) = try session()
        #expect(again.sessionID != vendor.sessionID, "nonces make every session ID fresh")
    }

    @Test func aVersionMismatchNamesBothVersions() throws {
        let (a, b) = MemoryChannel.pair(timeout: 5)
        let vendorSide = Background { try Handshake.run(on: a, role: .vendor, context: .zero, version: Handshake.protocolVersion + 1) }
        #expect(throws: TransportError.handshakeMismatch(
            "the peer speaks protocol version \(Handshake.protocolVersion + 1), this program speaks version \(Handshake.protocolVersion): upgrade the older side")) {
            try Handshake.run(on: b, role: .hospital)
        }
        #expect(throws: TransportError.handshakeMismatch(
            "the peer speaks protocol version \(Handshake.protocolVersion), this program speaks version \(Handshake.protocolVersion + 1): upgrade the older side")) {
            try #require(vendorSide.wait(seconds: 10)).get()
        }
    }

    @Test(arguments: [Party.vendor, Party.hospital])
    func twoPartiesClaimingTheSameRoleAreAMismatch(role: Party) throws {
        let (a, b) = MemoryChannel.pair(timeout: 5)
        let other = Background { try Handshake.run(on: a, role: role) }
        for result in [Result { try Handshake.run(on: b, role: role) }, try #require(other.wait(seconds: 10))] {
            #expect {
                try result.get()
            } throws: { error in
                guard case let .handshakeMismatch(message)? = error as? TransportError else { return false }
                return message.contains("both sides claim to be the \(role)")
            }
        }
    }

    @Test func differentContextsAreAMismatch() throws {
        let (a, b) = MemoryChannel.pair(timeout: 5)
        let planA = SessionContext(hashing: [1]), planB = SessionContext(hashing: [2])
        let vendorSide = Background { try Handshake.run(on: a, role: .vendor, context: planA) }
        #expect {
            try Handshake.run(on: b, role: .hospital, context: planB)
        } throws: { error in
            guard case let .handshakeMismatch(message)? = error as? TransportError else { return false }
            return message.contains("session context") && message.contains(planA.description) && message.contains(planB.description)
        }
        #expect(throws: TransportError.self) { try #require(vendorSide.wait(seconds: 10)).get() }
    }

    @Test func aPeerWithoutTheMagicIsAProtocolViolation() throws {
        let (a, b) = MemoryChannel.pair(timeout: 5)
        try a.send(Array("HTTP/1.1 200 OK\r\n\r\n".utf8) + [UInt8](repeating: 0, count: 64))
        #expect {
            try Handshake.run(on: b, role: .hospital)
        } throws: { error in
            guard case let .protocolViolation(message)? = error as? TransportError else { return false }
            return message.contains("the peer does not speak the SecureValidation protocol")
        }
    }

    @Test func anOversizedHandshakeIsRefusedWithoutReadingIt() throws {
        let (a, b) = MemoryChannel.pair(timeout: 5)
        var header = Handshake.magic
        header += withUnsafeBytes(of: Handshake.protocolVersion.littleEndian, Array.init)  // this version
        header += [0xFF, 0xFF, 0xFF, 0x7F]  // a 2 GiB body
        try a.send(header)
        #expect {
            try Handshake.run(on: b, role: .hospital)
        } throws: { error in
            guard case let .protocolViolation(message)? = error as? TransportError else { return false }
            return message.contains("at most \(Handshake.maximumBodyLength)")
        }
    }

    @Test func aSilentPeerTimesOut() {
        let (a, b) = MemoryChannel.pair(timeout: 0.2)
        _ = withExtendedLifetime(a) {
            #expect(throws: TransportError.timeout(seconds: 0.2)) { try Handshake.run(on: b, role: .hospital) }
        }
    }

    @Test func contextsHaveExactly32Bytes() {
        #expect(SessionContext(digest: [UInt8](repeating: 1, count: 31)) == nil)
        #expect(SessionContext(digest: [UInt8](repeating: 1, count: 32)) != nil)
        #expect(SessionContext.zero.bytes == [UInt8](repeating: 0, count: 32))
    }
}

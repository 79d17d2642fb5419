import CryptoPrimitives
import Foundation
import Testing
import Transport
@testable import OT

/// A peer that disconnects or goes silent produces the channel's `TransportError` — no crash, no hang.
@Suite struct FailureTests {
    @Test func receiverDisconnectsMidExtension() throws {
        let start = Date()
        #expect(throws: TransportError.self) {
            _ = try runTwoParties(
                timeout: 20,
                vendor: { try IKNPObliviousTransfer(channel: $0, party: .vendor).randomSend(count: 100_000).m0.count },
                hospital: { channel in
                    _ = try IKNPObliviousTransfer(channel: channel, party: .hospital)
                    try channel.send([UInt8](repeating: 0x5a, count: 100_000))   // part of the first chunk's U
                    channel.close()
                    return 0
                })
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test func senderDisconnectsBeforeTheCorrections() throws {
        let start = Date()
        #expect(throws: TransportError.self) {
            _ = try runTwoParties(
                timeout: 20,
                vendor: { channel in
                    _ = try IKNPObliviousTransfer(channel: channel, party: .vendor)
                    let _: [UInt8] = try channel.receive(count: 1000)
                    channel.close()
                    return 0
                },
                hospital: { try IKNPObliviousTransfer(channel: $0, party: .hospital).correlatedReceive(choices: [Bool](repeating: true, count: 50_000), bits: 37) })
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test func peerDisconnectsDuringSetUp() throws {
        #expect(throws: TransportError.self) {
            _ = try runTwoParties(
                timeout: 20,
                vendor: { channel in
                    let _: [UInt8] = try channel.receive(count: 65)
                    channel.close()
                    return 0
                },
                hospital: { _ = try IKNPObliviousTransfer(channel: $0, party: .hospital); return 0 })
        }
    }

    @Test func silentPeerTimesOut() throws {
        let start = Date()
        #expect(throws: TransportError.timeout(seconds: 1)) {
            _ = try runTwoParties(
                timeout: 1,
                vendor: { channel in
                    _ = try IKNPObliviousTransfer(channel: channel, party: .vendor)
                    Thread.sleep(forTimeInterval: 2.5)    // never sends the 1-of-N table
                    return 0
                },
                hospital: { try IKNPObliviousTransfer(channel: $0, party: .hospital).chosenReceive1ofN(choices: [1, 2, 3], n: 4, bits: 8) })
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }
}

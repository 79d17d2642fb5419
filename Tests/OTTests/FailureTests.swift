import CryptoPrimitives
import Foundation
import Testing
import Transport
@testable import OT

/// A peer that disconnects or goes silent produces the channel's `TransportError` — no crash, no
/// hang — on every engine.
@Suite struct FailureTests {
    @Test(arguments: Engine.allCases)
    func receiverDisconnectsMidExtension(engine: Engine) throws {
        let start = Date()
        #expect(throws: TransportError.self) {
            _ = try runTwoParties(
                timeout: 20,
                vendor: { try engine.make($0, .vendor).randomSend(count: 100_000).m0.count },
                hospital: { channel in
                    _ = try engine.make(channel, .hospital)
                    try channel.send([UInt8](repeating: 0x5a, count: 100_000))   // part of the first chunk's U (IKNP or Ferret's bootstrap)
                    channel.close()
                    return 0
                })
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test(arguments: Engine.allCases)
    func senderDisconnectsBeforeTheCorrections(engine: Engine) throws {
        let start = Date()
        #expect(throws: TransportError.self) {
            _ = try runTwoParties(
                timeout: 20,
                vendor: { channel in
                    _ = try engine.make(channel, .vendor)
                    let _: [UInt8] = try channel.receive(count: 1000)
                    channel.close()
                    return 0
                },
                hospital: { try engine.make($0, .hospital).correlatedReceive(choices: [Bool](repeating: true, count: 50_000), bits: 37) })
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test(arguments: Engine.allCases)
    func peerDisconnectsDuringSetUp(engine: Engine) throws {
        #expect(throws: TransportError.self) {
            _ = try runTwoParties(
                timeout: 20,
                vendor: { channel in
                    let _: [UInt8] = try channel.receive(count: 65)
                    channel.close()
                    return 0
                },
                hospital: { _ = try engine.make($0, .hospital); return 0 })
        }
    }

    @Test(arguments: Engine.allCases)
    func silentPeerTimesOut(engine: Engine) throws {
        let start = Date()
        #expect(throws: TransportError.timeout(seconds: 1)) {
            _ = try runTwoParties(
                timeout: 1,
                vendor: { channel in
                    _ = try engine.make(channel, .vendor)
                    Thread.sleep(forTimeInterval: 2.5)    // never sends the 1-of-N table
                    return 0
                },
                hospital: { try engine.make($0, .hospital).chosenReceive1ofN(choices: [1, 2, 3], n: 4, bits: 8) })
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }
}

import CryptoPrimitives
import Testing
import Transport
@testable import OT

@Suite struct BaseOTTests {
    @Test func receiverGetsExactlyTheChosenKey() throws {
        let choices = TestInputs(1).bools(128)
        let ((k0, k1), keys) = try runTwoParties(
            vendor: { try ChouOrlandiBaseOT.send(count: 128, channel: $0, randomness: .system()) },
            hospital: { try ChouOrlandiBaseOT.receive(choices: choices, channel: $0, randomness: .system()) })
        #expect(keys.count == 128)
        for j in 0..<128 {
            #expect(keys[j] == (choices[j] ? k1[j] : k0[j]))
            #expect(keys[j] != (choices[j] ? k0[j] : k1[j]))
        }
        #expect(Set(k0 + k1).count == 256)
    }

    /// Encodings a hostile peer might send instead of a point.
    static let badPoints: [[UInt8]] = [
        [UInt8](repeating: 0, count: 65),                                  // infinity-like / wrong prefix
        [0x04] + [UInt8](repeating: 0, count: 63) + [1],                   // (0, 1): off the curve
        [0x04] + [UInt8](repeating: 0xff, count: 64),                      // coordinates ≥ p
        [0x02] + [UInt8](repeating: 0x11, count: 64),                      // compressed prefix, wrong length
    ]

    @Test(arguments: badPoints)
    func invalidFirstPointIsATypedError(bad: [UInt8]) throws {
        #expect(throws: OTError.invalidPoint(message: "base-OT point A", index: 0)) {
            _ = try runTwoParties(
                vendor: { channel in try channel.send(bad); try channel.flush(); return 0 },
                hospital: { try ChouOrlandiBaseOT.receive(choices: [true, false], channel: $0, randomness: .system()) })
        }
    }

    @Test func invalidReplyPointIsATypedError() throws {
        let curve = try P256()
        let good = try curve.encode(try curve.multiplyGenerator(try curve.randomScalar(.system())))
        #expect(throws: OTError.invalidPoint(message: "base-OT point B", index: 2)) {
            _ = try runTwoParties(
                vendor: { try ChouOrlandiBaseOT.send(count: 3, channel: $0, randomness: .system()) },
                hospital: { channel in
                    let _: [UInt8] = try channel.receive(count: 65)
                    try channel.send(good + good + Self.badPoints[1])
                    try channel.flush()
                    return 0
                })
        }
    }

    @Test func extensionSetUpRejectsAnInvalidPeerPoint() throws {
        #expect(throws: OTError.invalidPoint(message: "base-OT point A", index: 0)) {
            _ = try runTwoParties(
                vendor: { channel in
                    try channel.send(Self.badPoints[1])
                    try channel.flush()
                    let _: [UInt8] = try channel.receive(count: 65)
                    return 0
                },
                hospital: { _ = try IKNPObliviousTransfer(channel: $0, party: .hospital); return 0 })
        }
    }
}

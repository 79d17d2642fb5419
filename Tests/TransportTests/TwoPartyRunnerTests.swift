import Testing
import Transport

@Suite("Two-party runner")
struct TwoPartyRunnerTests {
    @Test("returns both results and statistics when every sent byte was read")
    func drained() throws {
        let r = try TwoPartyRunner.run(vendor: { channel -> Int in
            try channel.send([UInt64(7)]); try channel.flush()
            return Int(try channel.receive(UInt64.self, count: 1)[0])
        }, hospital: { channel -> Int in
            let v = try channel.receive(UInt64.self, count: 1)[0]
            try channel.send([v + 1]); try channel.flush()
            return Int(v)
        })
        #expect(r.vendor == 8 && r.hospital == 7)
        #expect(r.vendorChannel.bytesSent == 8 && r.hospitalChannel.bytesSent == 8)
    }

    @Test("a message nobody read is a protocol violation naming the bytes left on each end")
    func undrained() throws {
        #expect(throws: TransportError.protocolViolation(
            "a two-party run ended with 0 unread bytes at the vendor's end and 16 at the hospital's")) {
            _ = try TwoPartyRunner.run(vendor: { channel in try channel.send([UInt64(1), 2]); try channel.flush() },
                                       hospital: { _ in })
        }
        // Allowed when asked for (a test that stops a protocol half-way on purpose).
        _ = try TwoPartyRunner.run(requireDrained: false, vendor: { channel in try channel.send([UInt64(1)]) }, hospital: { _ in })
    }

    @Test("one side's error is rethrown and the other side is not left waiting")
    func failure() throws {
        struct Broke: Error {}
        #expect(throws: Broke.self) {
            _ = try TwoPartyRunner.run(timeout: 30, vendor: { _ in throw Broke() },
                                       hospital: { channel in _ = try channel.receive(UInt64.self, count: 1) })
        }
    }
}

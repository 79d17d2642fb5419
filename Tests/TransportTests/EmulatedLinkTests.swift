import Foundation
import Testing
@testable import Transport

@Suite struct EmulatedLinkTests {
    @Test func profilesParseAndBadOnesAreNamed() throws {
        let wan = try #require(try LinkProfile.parse("100mbit:40ms"))
        #expect(wan.bitsPerSecond == 1e8 && abs(wan.roundTripSeconds - 0.04) < 1e-12)
        let dc = try #require(try LinkProfile.parse("1GBit:10ms"))
        #expect(dc.bitsPerSecond == 1e9 && abs(dc.roundTripSeconds - 0.01) < 1e-12)
        #expect(try LinkProfile.parse("500kbit:1s")?.bitsPerSecond == 5e5)
        #expect(try LinkProfile.parse("lan") == nil)
        for bad in ["100mbit", "fast:40ms", "0mbit:40ms", "100mbit:40", "100mbit:-1ms", "100mbit:40ms:1"] {
            #expect(throws: LinkProfileError.self, "\(bad)") { _ = try LinkProfile.parse(bad) }
        }
    }

    /// Each one-byte message arrives half a round trip after it left: n round trips take ≥ n·RTT.
    @Test func latencyIsPaidPerRoundTrip() throws {
        let link = EmulatedLink(try #require(try LinkProfile.parse("1gbit:40ms")))
        let (vendor, hospital) = link.pair(timeout: 10)
        let start = Date()
        let echo = Thread {
            for _ in 0..<5 { if let b = try? vendor.receive(UInt8.self) { try? vendor.send(value: b &+ 1); try? vendor.flush() } }
        }
        echo.start()
        var value: UInt8 = 0
        for _ in 0..<5 {
            try hospital.send(value: value)
            try hospital.flush()
            value = try hospital.receive(UInt8.self)
        }
        let elapsed = Date().timeIntervalSince(start)
        #expect(value == 5)
        #expect(elapsed >= 5 * 0.04 - 0.001, "\(elapsed) s for 5 round trips of 40 ms")
        #expect(elapsed < 5 * 0.04 * 10)
    }

    /// Bytes queue behind each other at the link's rate: 1.25 MB at 100 Mbit/s take ≥ 0.1 s, and
    /// arrive intact.
    @Test func bandwidthPacesTheBytes() throws {
        let link = EmulatedLink(try #require(try LinkProfile.parse("100mbit:0ms")))
        let (vendor, hospital) = link.pair(timeout: 10)
        let payload = (0..<1_250_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let start = Date()
        for chunk in stride(from: 0, to: payload.count, by: 50_000) {
            try vendor.send(Array(payload[chunk..<min(chunk + 50_000, payload.count)]))
        }
        try vendor.flush()
        let got: [UInt8] = try hospital.receive(count: payload.count)
        let elapsed = Date().timeIntervalSince(start)
        #expect(got == payload)
        #expect(elapsed >= 0.1 - 0.001, "\(elapsed) s for 10 Mbit at 100 Mbit/s")
        #expect(hospital.statistics.bytesReceived == payload.count)
    }
}

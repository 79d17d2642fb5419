import Foundation
import Testing
@testable import Transport

@Suite struct MemoryChannelTests {
    @Test func bytesArriveInOrderAndCountersAddUp() throws {
        let (a, b) = MemoryChannel.pair(timeout: 10)
        let values = (0..<100_000).map { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }
        let thread = Thread {
            try? a.send(values)
            try? a.flush()
            _ = try? a.receive(UInt64.self)
        }
        thread.start()
        let received = try b.receive(UInt64.self, count: values.count)
        #expect(received == values)
        try b.send(value: UInt64(7))
        #expect(b.statistics.bytesReceived == values.count * 8)
        #expect(b.statistics.bytesSent == 8)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(a.statistics.bytesSent == values.count * 8)
        #expect(a.statistics.rounds == 1)
    }

    @Test func closingThePeerFailsAPendingReceive() {
        let (a, b) = MemoryChannel.pair(timeout: 10)
        try? a.send([UInt8](repeating: 1, count: 3))
        a.close()
        #expect(throws: TransportError.peerClosed(expected: 8, received: 3)) { _ = try b.receive(UInt8.self, count: 8) }
    }

    @Test func aSilentPeerTimesOut() {
        let (a, b) = MemoryChannel.pair(timeout: 0.2)
        // Keep the silent end alive: a released end closes, which is `peerClosed`, not a timeout.
        _ = withExtendedLifetime(a) {
            #expect(throws: TransportError.timeout(seconds: 0.2)) { _ = try b.receive(UInt8.self, count: 1) }
        }
    }

    @Test func anOversizedMessageIsAProtocolViolation() throws {
        let (a, b) = MemoryChannel.pair(timeout: 10)
        try a.sendMessage([UInt8](repeating: 0, count: 100))
        #expect(throws: TransportError.self) { _ = try b.receiveMessage(limit: 10) }
    }
}

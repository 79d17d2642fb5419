import Foundation

/// Runs the vendor's and the hospital's halves of a two-party computation on two threads over an
/// in-memory channel pair: the one two-party runner of the tests and benchmarks. If one side
/// throws, its channel end is closed so the other side fails instead of waiting, and the first
/// error is rethrown. When both succeed, both channel ends must be drained (`requireDrained`): a
/// message one party sent and the other never read is a protocol error, reported as
/// `TransportError.protocolViolation` naming the bytes left on each end.
public enum TwoPartyRunner {
    public static func run<V: Sendable, H: Sendable>(
        on pair: (MemoryChannel, MemoryChannel)? = nil, timeout: Double = 600, requireDrained: Bool = true,
        vendor: @escaping @Sendable (MemoryChannel) throws -> V,
        hospital: @escaping @Sendable (MemoryChannel) throws -> H
    ) throws -> (vendor: V, hospital: H, vendorChannel: ChannelStatistics, hospitalChannel: ChannelStatistics) {
        let (a, b) = pair ?? MemoryChannel.pair(timeout: timeout)
        let box = ResultBox<V, H>()
        let group = DispatchGroup()
        group.enter()
        let vendorThread = Thread {
            defer { group.leave() }
            do { box.setVendor(try vendor(a)) } catch { box.fail(error); a.close() }
        }
        group.enter()
        let hospitalThread = Thread {
            defer { group.leave() }
            do { box.setHospital(try hospital(b)) } catch { box.fail(error); b.close() }
        }
        for thread in [vendorThread, hospitalThread] {
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
        if let error = box.error { throw error }
        if requireDrained, a.unreadBytes != 0 || b.unreadBytes != 0 {
            throw TransportError.protocolViolation(
                "a two-party run ended with \(a.unreadBytes) unread bytes at the vendor's end and \(b.unreadBytes) at the hospital's")
        }
        return (box.vendor!, box.hospital!, a.statistics, b.statistics)
    }

    private final class ResultBox<V, H>: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var vendor: V?
        private(set) var hospital: H?
        private(set) var error: (any Error)?
        func setVendor(_ v: V) { lock.withLock { vendor = v } }
        func setHospital(_ h: H) { lock.withLock { hospital = h } }
        func fail(_ e: any Error) { lock.withLock { if error == nil { error = e } } }
    }
}

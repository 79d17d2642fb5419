import Foundation

/// Runs the vendor's and the hospital's halves of a two-party computation on two threads over an
/// in-memory channel pair: the one two-party runner of the tests and benchmarks. If one side
/// throws, its channel end is closed so the other side fails instead of waiting.
public enum TwoPartyRunner {
    /// Both results and both ends' statistics; rethrows the first error. When both succeed, both
    /// channel ends must be drained (`requireDrained`): a message one party sent and the other
    /// never read is a protocol error, reported as `TransportError.protocolViolation` naming the
    /// bytes left on each end.
    public static func run<V: Sendable, H: Sendable>(
        on pair: (MemoryChannel, MemoryChannel)? = nil, timeout: Double = 600, requireDrained: Bool = true,
        vendor: @escaping @Sendable (MemoryChannel) throws -> V,
        hospital: @escaping @Sendable (MemoryChannel) throws -> H
    ) throws -> (vendor: V, hospital: H, vendorChannel: ChannelStatistics, hospitalChannel: ChannelStatistics) {
        let (a, b) = pair ?? MemoryChannel.pair(timeout: timeout)
        let r = outcomes(on: (a, b), vendor: vendor, hospital: hospital)
        if let error = r.firstError { throw error }
        let v = try r.vendor.get(), h = try r.hospital.get()
        if requireDrained, a.unreadBytes != 0 || b.unreadBytes != 0 {
            throw TransportError.protocolViolation(
                "a two-party run ended with \(a.unreadBytes) unread bytes at the vendor's end and \(b.unreadBytes) at the hospital's")
        }
        return (v, h, a.statistics, b.statistics)
    }

    /// Each side's own outcome, for tests in which one side is meant to fail (a refusal, a cut
    /// connection) and the other side's error matters too. `firstError` is the error thrown first.
    public static func outcomes<V: Sendable, H: Sendable>(
        on pair: (MemoryChannel, MemoryChannel)? = nil, timeout: Double = 600,
        vendor: @escaping @Sendable (MemoryChannel) throws -> V,
        hospital: @escaping @Sendable (MemoryChannel) throws -> H
    ) -> (vendor: Result<V, any Error>, hospital: Result<H, any Error>, firstError: (any Error)?) {
        let (a, b) = pair ?? MemoryChannel.pair(timeout: timeout)
        let box = ResultBox<V, H>()
        let group = DispatchGroup()
        group.enter()
        let vendorThread = Thread {
            defer { group.leave() }
            let result = Result { try vendor(a) }
            box.setVendor(result)
            if case .failure = result { a.close() }
        }
        group.enter()
        let hospitalThread = Thread {
            defer { group.leave() }
            let result = Result { try hospital(b) }
            box.setHospital(result)
            if case .failure = result { b.close() }
        }
        for thread in [vendorThread, hospitalThread] {
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
        return box.outcome()
    }

    private final class ResultBox<V, H>: @unchecked Sendable {
        private let lock = NSLock()
        private var vendor: Result<V, any Error>?
        private var hospital: Result<H, any Error>?
        private var first: (any Error)?
        func setVendor(_ v: Result<V, any Error>) {
            lock.withLock { vendor = v; if case .failure(let e) = v, first == nil { first = e } }
        }
        func setHospital(_ h: Result<H, any Error>) {
            lock.withLock { hospital = h; if case .failure(let e) = h, first == nil { first = e } }
        }
        func outcome() -> (vendor: Result<V, any Error>, hospital: Result<H, any Error>, firstError: (any Error)?) {
            lock.withLock { (vendor!, hospital!, first) }
        }
    }
}

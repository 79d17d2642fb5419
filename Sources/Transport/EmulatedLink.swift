import Foundation

/// A network link's two public figures, for benchmarks that run both parties in one process: its
/// rate (bits per second, each direction) and its round-trip time.
///
/// Written `RATE:RTT`, e.g. `1gbit:10ms`, `100mbit:40ms`, `500kbit:250ms`; rates take `bit`,
/// `kbit`, `mbit`, `gbit` (powers of 1000), times `us`, `ms`, `s`. `lan` (or nothing) means no
/// emulation: the in-memory channel as it is.
public struct LinkProfile: Sendable, Equatable, CustomStringConvertible {
    /// Bits per second in each direction.
    public let bitsPerSecond: Double
    /// Round-trip time in seconds: every message arrives half of it after it left the link.
    public let roundTripSeconds: Double
    /// The text it was parsed from (or an equivalent one).
    public let text: String

    public init(bitsPerSecond: Double, roundTripSeconds: Double, text: String? = nil) {
        self.bitsPerSecond = bitsPerSecond
        self.roundTripSeconds = roundTripSeconds
        self.text = text ?? "\(bitsPerSecond / 1e6)mbit:\(roundTripSeconds * 1000)ms"
    }

    public var description: String { text }

    /// Parses `RATE:RTT`; nil for `lan`. Throws a message naming what is wrong.
    public static func parse(_ text: String) throws(LinkProfileError) -> LinkProfile? {
        let lowered = text.lowercased()
        if lowered == "lan" || lowered == "none" { return nil }
        let parts = lowered.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw LinkProfileError(text: text, reason: "expected RATE:RTT such as 100mbit:40ms, or lan") }
        guard let rate = number(String(parts[0]), units: [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1)]), rate > 0 else {
            throw LinkProfileError(text: text, reason: "the rate '\(parts[0])' must be a positive number with bit, kbit, mbit or gbit")
        }
        guard let rtt = number(String(parts[1]), units: [("ms", 1e-3), ("us", 1e-6), ("s", 1)]), rtt >= 0, rtt <= 10 else {
            throw LinkProfileError(text: text, reason: "the round trip '\(parts[1])' must be between 0 and 10 s, with us, ms or s")
        }
        return LinkProfile(bitsPerSecond: rate, roundTripSeconds: rtt, text: lowered)
    }

    private static func number(_ text: String, units: [(String, Double)]) -> Double? {
        for (unit, factor) in units where text.hasSuffix(unit) {
            guard let value = Double(text.dropLast(unit.count)), value.isFinite else { return nil }
            return value * factor
        }
        return nil
    }
}

/// A `LinkProfile` that does not parse.
public struct LinkProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public let reason: String
    public var description: String { "--link \(text): \(reason)" }
}

/// Emulates a network link between two in-process parties: every byte leaves its sender's end no
/// faster than the link's rate (bytes queue behind each other, per direction, shared by every
/// channel pair on the link, as lanes share one real link) and arrives half the round trip later.
/// The receiver waits until the last byte it asked for has arrived.
///
/// Measured, not computed afterwards: a protocol that overlaps computation with transfer, or that
/// needs fewer round trips, gets the benefit in the wall time. Only for benchmarks; the wrapped
/// channels are `MemoryChannel`s.
public final class EmulatedLink: @unchecked Sendable {
    public let profile: LinkProfile
    /// One direction's transmitter: when its link is next free.
    final class Direction: @unchecked Sendable {
        private let lock = NSLock()
        private var busyUntil = 0.0
        let profile: LinkProfile

        init(profile: LinkProfile) { self.profile = profile }

        /// `bytes` leave now (or when the link is free) and arrive this many seconds after boot.
        func transmit(_ bytes: Int, at now: Double) -> Double {
            lock.withLock {
                let start = max(now, busyUntil)
                busyUntil = start + Double(bytes) * 8 / profile.bitsPerSecond
                return busyUntil + profile.roundTripSeconds / 2
            }
        }
    }

    private let toHospital: Direction
    private let toVendor: Direction

    public init(_ profile: LinkProfile) {
        self.profile = profile
        toHospital = Direction(profile: profile)
        toVendor = Direction(profile: profile)
    }

    /// A connected pair over this link: (the vendor's end, the hospital's end).
    public func pair(timeout: Double) -> (vendor: EmulatedLinkChannel, hospital: EmulatedLinkChannel) {
        let (a, b) = MemoryChannel.pair(timeout: timeout)
        let vendorBound = EmulatedLinkChannel.Arrivals(), hospitalBound = EmulatedLinkChannel.Arrivals()
        return (EmulatedLinkChannel(inner: a, outgoing: toHospital, sent: hospitalBound, received: vendorBound),
                EmulatedLinkChannel(inner: b, outgoing: toVendor, sent: vendorBound, received: hospitalBound))
    }

    static func now() -> Double { ProcessInfo.processInfo.systemUptime }
}

/// One end of a channel pair on an `EmulatedLink`.
public final class EmulatedLinkChannel: Channel, @unchecked Sendable {
    /// The arrival times of the bytes in flight towards one end, in order.
    final class Arrivals: @unchecked Sendable {
        private let lock = NSLock()
        private var segments: [(arrival: Double, bytes: Int)] = []
        private var head = 0

        func append(_ bytes: Int, arrival: Double) {
            lock.withLock { segments.append((arrival, bytes)) }
        }

        /// Removes `count` bytes from the front and returns when the last of them arrives.
        func take(_ count: Int) -> Double {
            lock.withLock {
                var remaining = count
                var latest = 0.0
                while remaining > 0 && head < segments.count {
                    latest = max(latest, segments[head].arrival)
                    let used = min(remaining, segments[head].bytes)
                    segments[head].bytes -= used
                    remaining -= used
                    if segments[head].bytes == 0 { head += 1 }
                }
                if head > 1024 && head * 2 > segments.count {
                    segments.removeFirst(head)
                    head = 0
                }
                return latest
            }
        }
    }

    private let inner: MemoryChannel
    private let outgoing: EmulatedLink.Direction
    private let sent: Arrivals
    private let received: Arrivals

    init(inner: MemoryChannel, outgoing: EmulatedLink.Direction, sent: Arrivals, received: Arrivals) {
        self.inner = inner
        self.outgoing = outgoing
        self.sent = sent
        self.received = received
    }

    /// The bytes leave on the link at once (it never waits for `flush`): their arrival time is
    /// recorded before the peer can read them.
    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        sent.append(bytes.count, arrival: outgoing.transmit(bytes.count, at: EmulatedLink.now()))
        try inner.send(bytes)
    }

    /// Reads the bytes (which exist once sent), then waits until the last of them has arrived.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws {
        try inner.receive(into: buffer)
        Self.wait(until: received.take(buffer.count))
    }

    /// Waits until `deadline` (seconds since boot) to within a few microseconds. A sleep overshoots
    /// by the kernel's timer slack (about 80 µs measured here for a 10 µs sleep), which over the
    /// millions of small receives of a large model would add minutes that no real link costs; so
    /// the last 200 µs are waited by yielding the core in a loop instead.
    static func wait(until deadline: Double) {
        let spin = 200e-6
        var remaining = deadline - EmulatedLink.now()
        if remaining > spin { Thread.sleep(forTimeInterval: remaining - spin) }
        remaining = deadline - EmulatedLink.now()
        while remaining > 0 {
            sched_yield()
            remaining = deadline - EmulatedLink.now()
        }
    }

    public func flush() throws { try inner.flush() }
    public var statistics: ChannelStatistics { inner.statistics }
    public func close() { inner.close() }
}

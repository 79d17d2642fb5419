import Foundation

/// Pre-made channel pairs for a session's extra lanes when both parties run in one process (the
/// model benchmark, tests): lane i's vendor end goes to the i-th vendor that asks, its hospital end
/// to the i-th hospital that asks, so `ValidationServer.serve(acceptLane:)` and
/// `ValidationClient.run(connectLane:)` meet on the same pair. Thread-safe.
public final class LaneChannelPairs: @unchecked Sendable {
    private let pairs: [(vendor: any Channel & Sendable, hospital: any Channel & Sendable)]
    private var taken: [Party: Int] = [:]
    private let lock = NSLock()

    /// Pairs as (vendor end, hospital end), in lane order.
    public init(_ pairs: [(any Channel & Sendable, any Channel & Sendable)]) {
        self.pairs = pairs.map { (vendor: $0.0, hospital: $0.1) }
    }

    /// `party`'s end of the next lane; throws once every lane was handed out to that party.
    public func next(for party: Party) throws -> any Channel {
        lock.lock()
        defer { lock.unlock() }
        let index = taken[party, default: 0]
        guard index < pairs.count else { throw TransportError.protocolViolation("no more lanes") }
        taken[party] = index + 1
        if party == .vendor { return pairs[index].vendor }
        return pairs[index].hospital
    }

    /// Closes both ends of every lane (to unblock the peer after a failure).
    public func closeAll() { for pair in pairs { pair.vendor.close(); pair.hospital.close() } }
}

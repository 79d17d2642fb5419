import Foundation

/// A pair of in-memory channels for running both parties in one process on two threads (tests,
/// benchmarks). Bytes sent on one end are received on the other, in order; `receive` blocks until
/// they arrive or the peer end is closed (then `TransportError.peerClosed`) or the timeout passes.
public final class MemoryChannel: Channel, @unchecked Sendable {
    /// The shared state of one direction.
    final class Pipe: @unchecked Sendable {
        let condition = NSCondition()
        var buffer = [UInt8]()
        var readOffset = 0
        var closed = false
    }

    private let outgoing: Pipe
    private let incoming: Pipe
    private let timeout: Double
    private var lastWasSend = false
    public private(set) var statistics = ChannelStatistics()

    private init(outgoing: Pipe, incoming: Pipe, timeout: Double) {
        self.outgoing = outgoing
        self.incoming = incoming
        self.timeout = timeout
    }

    /// Two connected ends. `timeout` bounds every wait (seconds).
    public static func pair(timeout: Double = 120) -> (MemoryChannel, MemoryChannel) {
        let ab = Pipe(), ba = Pipe()
        return (MemoryChannel(outgoing: ab, incoming: ba, timeout: timeout),
                MemoryChannel(outgoing: ba, incoming: ab, timeout: timeout))
    }

    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        outgoing.condition.lock()
        defer { outgoing.condition.unlock() }
        if outgoing.closed { throw TransportError.peerClosed(expected: 0, received: 0) }
        outgoing.buffer.append(contentsOf: bytes)
        outgoing.condition.broadcast()
        statistics.bytesSent += bytes.count
        lastWasSend = true
    }

    public func flush() throws {}

    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws {
        if lastWasSend { statistics.rounds += 1 }
        lastWasSend = false
        var copied = 0
        var deadline = Date().addingTimeInterval(timeout)
        incoming.condition.lock()
        defer { incoming.condition.unlock() }
        while copied < buffer.count {
            let available = incoming.buffer.count - incoming.readOffset
            if available > 0 {
                let n = min(available, buffer.count - copied)
                incoming.buffer.withUnsafeBytes { src in
                    buffer.baseAddress!.advanced(by: copied).copyMemory(from: src.baseAddress!.advanced(by: incoming.readOffset), byteCount: n)
                }
                incoming.readOffset += n
                copied += n
                deadline = Date().addingTimeInterval(timeout)
                // Drop consumed bytes now and then so memory stays bounded.
                if incoming.readOffset > (1 << 22) && incoming.readOffset * 2 > incoming.buffer.count {
                    incoming.buffer.removeFirst(incoming.readOffset)
                    incoming.readOffset = 0
                }
                continue
            }
            if incoming.closed { throw TransportError.peerClosed(expected: buffer.count, received: copied) }
            let waitStart = Date()
            let signalled = incoming.condition.wait(until: deadline)
            statistics.waitSeconds += Date().timeIntervalSince(waitStart)
            if !signalled && incoming.buffer.count - incoming.readOffset == 0 && !incoming.closed {
                throw TransportError.timeout(seconds: timeout)
            }
        }
        statistics.bytesReceived += buffer.count
    }

    /// Closes this end: the peer's pending and future receives fail with `peerClosed`.
    public func close() {
        for pipe in [outgoing, incoming] {
            pipe.condition.lock()
            pipe.closed = true
            pipe.condition.broadcast()
            pipe.condition.unlock()
        }
    }

    deinit { close() }
}

import Foundation

/// A pair of in-memory channels for running both parties in one process on two threads (tests,
/// benchmarks). Bytes sent on one end are received on the other, in order; `receive` blocks until
/// they arrive or the peer end is closed (then `TransportError.peerClosed`) or the timeout passes.
///
/// Each direction is a queue of chunks: `send` copies the caller's bytes into one chunk (no
/// growing array, so no re-copying of queued data), `receive` copies out of the front chunks and
/// recycles each one as soon as it is consumed (up to four are kept for reuse), so memory is
/// bounded by what is in flight.
public final class MemoryChannel: Channel, @unchecked Sendable {
    /// One queued send: `count` bytes at `bytes` (room for `capacity`), of which `offset` were
    /// already consumed.
    final class Chunk {
        let bytes: UnsafeMutableRawPointer
        let capacity: Int
        var count = 0
        var offset = 0

        init(capacity: Int) {
            self.capacity = max(capacity, 16)
            bytes = .allocate(byteCount: self.capacity, alignment: 16)
        }

        deinit { bytes.deallocate() }
    }

    /// The shared state of one direction: chunks from `head` on are unread; `spare` holds a few
    /// consumed chunks for reuse, so that large sends do not fault in fresh pages every time.
    final class Pipe: @unchecked Sendable {
        let condition = NSCondition()
        var chunks: [Chunk] = []
        var head = 0
        var closed = false
        var spare: [Chunk] = []
        static let maxSpare = 4

        /// Drops consumed chunks from the front of the array once they are the majority.
        func compact() {
            if head > 64 && head * 2 > chunks.count {
                chunks.removeFirst(head)
                head = 0
            }
        }

        /// A spare chunk of at least `capacity` bytes, if there is one (call under the lock).
        func takeSpare(capacity: Int) -> Chunk? {
            guard let index = spare.firstIndex(where: { $0.capacity >= capacity }) else { return nil }
            return spare.remove(at: index)
        }

        /// Keeps a consumed chunk for reuse, or lets it go (call under the lock).
        func recycle(_ chunk: Chunk) {
            if spare.count < Self.maxSpare {
                spare.append(chunk)
            } else if let smallest = spare.indices.min(by: { spare[$0].capacity < spare[$1].capacity }),
                      spare[smallest].capacity < chunk.capacity {
                spare[smallest] = chunk
            }
        }
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
        guard bytes.count > 0 else {
            lastWasSend = true
            return
        }
        outgoing.condition.lock()
        let reused = outgoing.takeSpare(capacity: bytes.count)
        outgoing.condition.unlock()
        let chunk = reused ?? Chunk(capacity: bytes.count)
        chunk.bytes.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)   // outside the lock
        chunk.count = bytes.count
        chunk.offset = 0
        outgoing.condition.lock()
        defer { outgoing.condition.unlock() }
        if outgoing.closed { throw TransportError.peerClosed(expected: 0, received: 0) }
        outgoing.chunks.append(chunk)
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
            if incoming.head < incoming.chunks.count {
                let chunk = incoming.chunks[incoming.head]
                let n = min(chunk.count - chunk.offset, buffer.count - copied)
                (buffer.baseAddress! + copied).copyMemory(from: chunk.bytes + chunk.offset, byteCount: n)
                chunk.offset += n
                copied += n
                if chunk.offset == chunk.count {
                    incoming.head += 1
                    incoming.recycle(chunk)
                    incoming.compact()
                }
                deadline = Date().addingTimeInterval(timeout)
                continue
            }
            if incoming.closed { throw TransportError.peerClosed(expected: buffer.count, received: copied) }
            let waitStart = Date()
            let signalled = incoming.condition.wait(until: deadline)
            statistics.waitSeconds += Date().timeIntervalSince(waitStart)
            if !signalled && incoming.head == incoming.chunks.count && !incoming.closed {
                throw TransportError.timeout(seconds: timeout)
            }
        }
        statistics.bytesReceived += buffer.count
    }

    /// Bytes the peer sent that this end has not received yet.
    public var unreadBytes: Int {
        incoming.condition.lock()
        defer { incoming.condition.unlock() }
        return incoming.chunks[incoming.head...].reduce(0) { $0 + $1.count - $1.offset }
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

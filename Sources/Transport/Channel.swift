import Foundation

/// Counters every channel keeps: what crossed it and how often the direction changed.
public struct ChannelStatistics: Sendable, Equatable, Codable {
    public var bytesSent: Int = 0
    public var bytesReceived: Int = 0
    /// Direction changes seen by this party: a receive that follows a send counts one round.
    public var rounds: Int = 0
    /// Seconds spent blocked waiting for the peer's data.
    public var waitSeconds: Double = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case bytesSent = "bytes_sent", bytesReceived = "bytes_received", rounds, waitSeconds = "wait_seconds"
    }
}

/// A reliable, ordered, blocking byte channel between the two parties.
///
/// Contract: `send` may buffer; `flush` (and any `receive`) pushes buffered bytes to the peer;
/// `receive` blocks until exactly the requested number of bytes arrived, or throws a
/// `TransportError` (peer closed, timeout, TLS failure) — it never hangs past the channel's timeout
/// and never returns short. A channel is used by one thread at a time.
public protocol Channel: AnyObject {
    /// Queues bytes for the peer.
    func send(_ bytes: UnsafeRawBufferPointer) throws
    /// Reads exactly `buffer.count` bytes.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws
    /// Pushes queued bytes to the peer.
    func flush() throws
    /// Counters so far.
    var statistics: ChannelStatistics { get }
    /// Ends the connection: the peer's pending and later receives fail with `peerClosed`. Idempotent.
    func close()
}

extension Channel {
    /// For channels with nothing to release (wrappers in tests).
    public func close() {}

    /// Sends the raw bytes of an array of plain values.
    public func send<T: BitwiseCopyable>(_ values: [T]) throws {
        try values.withUnsafeBytes { try send($0) }
    }

    /// Receives `count` plain values.
    public func receive<T: BitwiseCopyable>(_ type: T.Type = T.self, count: Int) throws -> [T] {
        try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try receive(into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Sends one plain value.
    public func send<T: BitwiseCopyable>(value: T) throws {
        try send([value])
    }

    /// Receives one plain value.
    public func receive<T: BitwiseCopyable>(_ type: T.Type) throws -> T {
        try receive(type, count: 1)[0]
    }

    /// Sends a length-prefixed byte string (length as a little-endian UInt64).
    public func sendMessage(_ bytes: [UInt8]) throws {
        try send(value: UInt64(bytes.count).littleEndian)
        try send(bytes)
    }

    /// Receives a length-prefixed byte string of at most `limit` bytes (a larger length means the
    /// peer is broken or hostile: `TransportError.protocolViolation`).
    public func receiveMessage(limit: Int) throws -> [UInt8] {
        let length = UInt64(littleEndian: try receive(UInt64.self))
        guard length <= UInt64(limit) else {
            throw TransportError.protocolViolation("the peer announced a \(length)-byte message; at most \(limit) were expected")
        }
        return try receive(UInt8.self, count: Int(length))
    }
}

/// Errors of the transport layer. Messages never contain payload bytes.
public enum TransportError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// The peer closed the connection (or died) before the expected bytes arrived.
    case peerClosed(expected: Int, received: Int)
    /// No data arrived within the timeout.
    case timeout(seconds: Double)
    /// The peer sent something that does not follow the protocol.
    case protocolViolation(String)
    /// The peers' handshakes disagree (protocol version, roles, session).
    case handshakeMismatch(String)
    /// TLS set-up or I/O failed (certificate problems included); `detail` from OpenSSL.
    case tls(String)
    /// The peer's certificate is valid but is not the one this side expects: it does not name the
    /// host this side connected to, or its fingerprint is not the pinned one. Refused before any
    /// application byte is sent.
    case wrongPeer(String)
    /// A socket call failed.
    case socket(String)
    /// A file (certificate, key) could not be read or written.
    case file(path: String, reason: String)

    public var description: String {
        switch self {
        case let .peerClosed(expected, received):
            expected > 0
                ? "the peer closed the connection (or its process ended): expected \(expected) more bytes, received \(received)"
                : "the peer closed the connection (or its process ended)"
        case let .timeout(seconds):
            "no data from the peer for \(String(format: "%.0f", seconds)) s: giving up"
        case let .protocolViolation(reason):
            "the peer broke the protocol: \(reason)"
        case let .handshakeMismatch(reason):
            "handshake failed: \(reason)"
        case let .tls(detail):
            "TLS: \(detail)"
        case let .wrongPeer(detail):
            "wrong peer: \(detail)"
        case let .socket(detail):
            "network: \(detail)"
        case let .file(path, reason):
            "\(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

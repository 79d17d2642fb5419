import Transport
import Foundation

/// TLS loopback throughput: both parties in one process on two threads, over 127.0.0.1, with
/// throwaway certificates in a temporary directory (removed afterwards).
///
/// Contract: reports what the receiver saw — application bytes received divided by the seconds
/// from the first to the last received byte — for `megabytes` writes of 1 MiB each. The figure
/// depends on the machine's load; it asserts nothing.
public enum TLSBenchmark {
    /// One measurement.
    public struct Report: Sendable, Codable, Equatable {
        /// Application bytes transferred.
        public var bytes: Int
        /// Receiver-side seconds from the first to the last byte.
        public var seconds: Double
        /// Bytes per second / 10⁹.
        public var gigabytesPerSecond: Double
        /// The negotiated TLS 1.3 suite.
        public var cipher: String

        enum CodingKeys: String, CodingKey {
            case bytes, seconds, cipher, gigabytesPerSecond = "gigabytes_per_second"
        }
    }

    /// GB/s (10⁹ bytes per second) received over TLS on loopback for `megabytes` MiB.
    public static func loopbackThroughput(megabytes: Int) throws -> Double {
        try loopback(megabytes: megabytes).gigabytesPerSecond
    }

    /// The full measurement: bytes, seconds, GB/s and the negotiated cipher.
    public static func loopback(megabytes: Int, timeout: Double = 30) throws -> Report {
        guard megabytes >= 1 else { throw TransportError.socket("the benchmark needs at least 1 MiB, not \(megabytes)") }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sv-tls-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try CertificateAuthority.writeTestCertificates(to: directory, days: 1)
        let listener = try TLSListener(host: "127.0.0.1", port: 0, identity: try files.identity(for: .vendor))
        let hospitalIdentity = try files.identity(for: .hospital)

        let chunk = 1 << 20
        let sender = SenderOutcome()
        let finished = DispatchSemaphore(value: 0)
        let port = listener.port
        let thread = Thread {
            defer { finished.signal() }
            do {
                let channel = try TLSChannel.connect(host: "127.0.0.1", port: port, identity: hospitalIdentity, timeout: timeout)
                let data = [UInt8](repeating: 0xA5, count: chunk)
                try data.withUnsafeBytes { bytes in
                    for _ in 0..<megabytes { try channel.send(bytes) }
                }
                try channel.flush()
                _ = try channel.receive(UInt8.self)  // the receiver's acknowledgement
                channel.close()
            } catch {
                sender.record(error)
            }
        }
        thread.start()

        let channel: TLSChannel
        do {
            channel = try listener.accept(timeout: timeout)
        } catch {
            finished.wait()
            throw sender.error ?? error
        }
        var buffer = [UInt8](repeating: 0, count: chunk)
        var start = 0.0
        do {
            try buffer.withUnsafeMutableBytes { raw in
                try channel.receive(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<1]))
                start = TCPSocket.now()
                try channel.receive(into: UnsafeMutableRawBufferPointer(rebasing: raw[1...]))
                for _ in 1..<megabytes { try channel.receive(into: raw) }
            }
        } catch {
            channel.close()
            finished.wait()
            throw sender.error ?? error
        }
        let seconds = TCPSocket.now() - start
        try? channel.send(value: UInt8(1))
        try? channel.flush()
        finished.wait()
        channel.close()
        if let error = sender.error { throw error }
        let bytes = megabytes * chunk
        return Report(bytes: bytes, seconds: seconds, gigabytesPerSecond: Double(bytes) / seconds / 1e9, cipher: channel.cipherName)
    }

    /// The sending thread's failure, if any.
    private final class SenderOutcome: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: Error?
        func record(_ error: Error) { lock.withLock { stored = error } }
        var error: Error? { lock.withLock { stored } }
    }
}

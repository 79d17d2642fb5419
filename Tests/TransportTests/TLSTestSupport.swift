import CryptoPrimitives
import Foundation
import Testing
@testable import Transport

/// A temporary directory of fresh certificates from one throwaway CA, removed on deinit.
final class TestPKI: @unchecked Sendable {
    let directory: String
    let files: CertificateFiles
    let authority: CertificateAuthority

    /// A CA and a vendor and hospital certificate; the validities override the default period
    /// (from five minutes ago to 30 days from now), e.g. to make an expired certificate.
    /// `vendorNames`: the vendor certificate's subject alternative names.
    init(hospitalValidity: (Date, Date)? = nil, vendorValidity: (Date, Date)? = nil,
         vendorNames: [String] = CertificateAuthority.localNames) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sv-tls-test-\(UUID().uuidString)").path
        let ca = try CertificateAuthority()
        authority = ca
        let vendor = try vendorValidity.map { try ca.issue(for: .vendor, names: vendorNames, notBefore: $0.0, notAfter: $0.1) }
            ?? ca.issue(for: .vendor, names: vendorNames)
        let hospital = try hospitalValidity.map { try ca.issue(for: .hospital, notBefore: $0.0, notAfter: $0.1) }
            ?? ca.issue(for: .hospital)
        files = try ca.write(vendor: vendor, hospital: hospital, to: directory)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var vendor: TLSIdentity { get throws { try files.identity(for: .vendor) } }
    var hospital: TLSIdentity { get throws { try files.identity(for: .hospital) } }
}

/// Runs a closure on its own thread; `wait` returns its result, or nil if it did not finish in time.
final class Background<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> T) {
        Thread.detachNewThread { [self] in
            let outcome = Result { try body() }
            lock.withLock { result = outcome }
            done.signal()
        }
    }

    func wait(seconds: Double = 15) -> Result<T, Error>? {
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        return lock.withLock { result }
    }
}

/// The outcome of one connection attempt, seen from both sides.
struct ConnectionAttempt {
    var vendor: Result<TLSChannel, Error>
    var hospital: Result<TLSChannel, Error>

    var vendorError: TransportError? { Self.error(vendor) }
    var hospitalError: TransportError? { Self.error(hospital) }

    static func error(_ result: Result<TLSChannel, Error>) -> TransportError? {
        if case let .failure(error) = result { return error as? TransportError }
        return nil
    }
}

/// Listens on 127.0.0.1 (ephemeral port) as the vendor, connects as the hospital from another
/// thread; both bounded by `timeout`.
func attemptConnection(vendor: TLSIdentity, hospital: TLSIdentity, timeout: Double = 5, host: String = "127.0.0.1",
                       expectedFingerprint: String? = nil) throws -> ConnectionAttempt {
    let listener = try TLSListener(host: "127.0.0.1", port: 0, identity: vendor)
    let port = listener.port
    let client = Background {
        try TLSChannel.connect(host: host, port: port, identity: hospital, timeout: timeout, expectedFingerprint: expectedFingerprint)
    }
    let server = Result { try listener.accept(timeout: timeout) }
    let clientResult = try #require(client.wait(seconds: timeout * 3), "the hospital's connect hung")
    return ConnectionAttempt(vendor: server, hospital: clientResult)
}

/// A connected pair over TLS on loopback, or a test failure.
func connectedPair(_ pki: TestPKI, timeout: Double = 10) throws -> (vendor: TLSChannel, hospital: TLSChannel) {
    let attempt = try attemptConnection(vendor: try pki.vendor, hospital: try pki.hospital, timeout: timeout)
    return (try attempt.vendor.get(), try attempt.hospital.get())
}

/// Whether `error` is the TransportError case `expected` names, with all `words` in its message.
func isTLSError(_ error: TransportError?, containing words: [String]) -> Bool {
    guard case let .tls(message)? = error else { return false }
    return words.allSatisfy { message.localizedCaseInsensitiveContains($0) }
}

/// Sends `count` bytes of the PRG stream under `seed`, in sizes cycling through `pieces`.
func sendStream(_ channel: Channel, seed: Block, count: Int, pieces: [Int]) throws {
    let prg = AESPRG(seed: seed)
    var buffer = [UInt8](repeating: 0, count: pieces.max()!)
    var sent = 0
    var index = 0
    while sent < count {
        let n = min(pieces[index % pieces.count], count - sent)
        index += 1
        try buffer.withUnsafeMutableBytes { raw in
            let slice = UnsafeMutableRawBufferPointer(rebasing: raw[0..<n])
            prg.fill(slice)
            try channel.send(UnsafeRawBufferPointer(slice))
        }
        sent += n
    }
    try channel.flush()
}

/// Receives `count` bytes in sizes cycling through `pieces` and checks them against the PRG
/// stream under `seed`. Returns whether every byte matched.
func receiveStream(_ channel: Channel, seed: Block, count: Int, pieces: [Int]) throws -> Bool {
    let prg = AESPRG(seed: seed)
    let largest = pieces.max()!
    var buffer = [UInt8](repeating: 0, count: largest)
    var expected = [UInt8](repeating: 0, count: largest)
    var received = 0
    var index = 0
    var intact = true
    while received < count {
        let n = min(pieces[index % pieces.count], count - received)
        index += 1
        try buffer.withUnsafeMutableBytes { raw in
            try channel.receive(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<n]))
        }
        expected.withUnsafeMutableBytes { prg.fill(UnsafeMutableRawBufferPointer(rebasing: $0[0..<n])) }
        if memcmp(buffer, expected, n) != 0 { intact = false }
        received += n
    }
    return intact
}

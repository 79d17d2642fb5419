import COpenSSL
import Foundation

/// A `Channel` over TCP and TLS 1.3 (OpenSSL), mutually authenticated: each side presents its
/// certificate and verifies the peer's against its CA file before any byte of the protocol flows.
///
/// Contract:
/// - The hospital (client) opens it with `connect`, the vendor (server) with `TLSListener.accept`.
///   Either returns only after the TLS handshake succeeded on both sides; any certificate problem
///   throws `TransportError.tls` with a message naming the problem in user terms.
/// - `send` copies into a 1 MiB buffer that is written when full, on `flush()` and before every
///   `receive`; sends of 1 MiB or more go straight to OpenSSL without the copy.
/// - Every wait for the peer (to read, or to write while the peer's buffers are full) is bounded by
///   `timeout` seconds: past it, `TransportError.timeout`. A peer that closes or dies gives
///   `TransportError.peerClosed`; bytes that are not valid TLS give `TransportError.tls`. After an
///   error, the channel is unusable: close it.
/// - `statistics` counts application bytes (not TLS overhead), rounds (a receive after a send) and
///   seconds spent waiting for the peer's data.
/// - Writing to a dead peer never kills the process: SIGPIPE is ignored process-wide (once).
/// - Used by one thread at a time (it may be handed from one thread to another).
public final class TLSChannel: Channel, @unchecked Sendable {
    /// Size of the user-space write buffer.
    public static let writeBufferSize = 1 << 20

    /// `SSL *`, owned.
    private let ssl: OpaquePointer
    private var fd: Int32
    private let caPath: String
    private let writeBuffer: UnsafeMutableRawPointer
    private var pending = 0
    private var lastWasSend = false
    /// Bytes already read and given back (`unread`), returned first by the next receives.
    private var pushedBack: [UInt8] = []
    /// Set after an OpenSSL failure: OpenSSL forbids a close_notify then.
    private var failed = false
    private var closed = false

    /// Seconds any single wait for the peer may last.
    public var timeout: Double
    public private(set) var statistics = ChannelStatistics()
    /// SHA-256 of the peer's certificate (DER), lowercase hex: pin it or log it.
    public let peerCertificateFingerprint: String
    /// The common name (CN) in the peer's certificate.
    public let peerCommonName: String?
    /// The peer's certificate, PEM: what its signature on a validation statement is checked against.
    public let peerCertificatePEM: String
    /// The negotiated TLS 1.3 cipher suite, e.g. "TLS_AES_128_GCM_SHA256".
    public let cipherName: String
    /// The negotiated protocol version, "TLSv1.3".
    public let tlsVersion: String

    /// Wraps an established connection. Takes ownership of `ssl` and `fd`.
    private init(ssl: OpaquePointer, fd: Int32, caPath: String, timeout: Double) throws {
        self.ssl = ssl
        self.fd = fd
        self.caPath = caPath
        self.timeout = timeout
        writeBuffer = UnsafeMutableRawPointer.allocate(byteCount: Self.writeBufferSize, alignment: 64)
        guard let peer = SSL_get1_peer_certificate(ssl) else {
            // Unreachable with SSL_VERIFY_PEER on both sides; checked anyway rather than trusted.
            peerCertificateFingerprint = ""
            peerCommonName = nil
            peerCertificatePEM = ""
            cipherName = ""
            tlsVersion = ""
            throw TransportError.tls("the peer sent no certificate")
        }
        defer { X509_free(peer) }
        peerCertificateFingerprint = OpenSSLSupport.fingerprint(of: peer)
        peerCommonName = OpenSSLSupport.commonName(of: peer)
        peerCertificatePEM = OpenSSLSupport.pemText { PEM_write_bio_X509($0, peer) } ?? ""
        cipherName = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)).map { String(cString: $0) } ?? "unknown"
        tlsVersion = SSL_get_version(ssl).map { String(cString: $0) } ?? "unknown"
    }

    deinit {
        close()
        SSL_free(ssl)
        writeBuffer.deallocate()
    }

    // MARK: Opening

    /// Connects to the vendor at `host:port` as the hospital and runs the TLS handshake, verifying
    /// the vendor's certificate against `identity.caPath` and presenting `identity`'s certificate.
    ///
    /// Identity checks, all before any application byte is sent:
    /// - the vendor's certificate must chain to the CA **and** name `host` in its subject
    ///   alternative names (a DNS name, or an IP address when `host` is an IP literal; OpenSSL's
    ///   RFC 6125 matching, no partial wildcards); the name is also sent as SNI when it is not an IP
    ///   address. A certificate for another name from the same CA is refused with
    ///   `TransportError.wrongPeer`;
    /// - with `expectedFingerprint` (SHA-256 of the certificate's DER, hex, any case), the
    ///   certificate must be exactly that one (a pin), else `TransportError.wrongPeer`.
    ///
    /// Returns once the vendor has accepted this side's certificate too. `timeout` bounds the TCP
    /// connect, the handshake, and afterwards every single wait of the channel. TLS sessions are
    /// never resumed: every connection runs the full handshake with both certificates.
    public static func connect(host: String, port: Int, identity: TLSIdentity, timeout: Double,
                               expectedFingerprint: String? = nil) throws -> TLSChannel {
        let deadline = TCPSocket.now() + timeout
        let fd = try TCPSocket.connect(host: host, port: port, timeout: timeout)
        let context: OpaquePointer
        do {
            context = try TLSContext.make(identity: identity, server: false)
        } catch {
            _ = Foundation.close(fd)
            throw error
        }
        defer { SSL_CTX_free(context) }
        let channel = try establish(context: context, fd: fd, server: false, caPath: identity.caPath, deadline: deadline,
                                    timeout: timeout, expectedHost: host)
        if let expectedFingerprint, channel.peerCertificateFingerprint.lowercased() != expectedFingerprint.lowercased() {
            channel.close()
            throw TransportError.wrongPeer("the vendor at \(host):\(port) presented the certificate \(channel.peerCertificateFingerprint), not the expected (pinned) \(expectedFingerprint.lowercased()): refusing to send anything")
        }
        return channel
    }

    /// Runs the handshake on a connected socket (taking ownership of it) and wraps the result.
    /// `expectedHost` (clients only): the name the peer's certificate must carry.
    static func establish(context: OpaquePointer, fd: Int32, server: Bool, caPath: String, deadline: Double,
                          timeout: Double, expectedHost: String? = nil) throws -> TLSChannel {
        ERR_clear_error()
        guard let ssl = SSL_new(context) else {
            _ = Foundation.close(fd)
            throw TransportError.tls("cannot create a TLS session: \(OpenSSLSupport.drainErrors())")
        }
        var sslOwned = true
        defer { if sslOwned { SSL_free(ssl) } }
        guard SSL_set_fd(ssl, fd) == 1 else {
            _ = Foundation.close(fd)
            throw TransportError.tls("cannot attach the socket to TLS: \(OpenSSLSupport.drainErrors())")
        }
        if let expectedHost {
            do {
                try expectName(expectedHost, ssl: ssl)
            } catch {
                _ = Foundation.close(fd)
                throw error
            }
        }
        do {
            try runHandshake(ssl: ssl, fd: fd, server: server, caPath: caPath, deadline: deadline, timeout: timeout,
                             expectedHost: expectedHost)
            if !server {
                try awaitAcceptance(ssl: ssl, fd: fd, caPath: caPath, deadline: deadline, timeout: timeout)
            }
        } catch {
            // Let the peer read our alert rather than a connection reset.
            TCPSocket.closeGracefully(fd, seconds: min(0.2, max(0, deadline - TCPSocket.now())))
            throw error
        }
        sslOwned = false
        do {
            return try TLSChannel(ssl: ssl, fd: fd, caPath: caPath, timeout: timeout)
        } catch {
            // The half-built channel's deinit closed the socket and freed `ssl`.
            throw error
        }
    }

    /// Makes the handshake fail unless the peer's certificate names `host`, and sends `host` as
    /// SNI when it is a DNS name.
    private static func expectName(_ host: String, ssl: OpaquePointer) throws {
        ERR_clear_error()
        SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        if OpenSSLSupport.isIPAddress(host) {
            guard let parameters = SSL_get0_param(ssl), X509_VERIFY_PARAM_set1_ip_asc(parameters, host) == 1 else {
                throw TransportError.tls("cannot set the expected IP address \(host): \(OpenSSLSupport.drainErrors())")
            }
        } else {
            guard SSL_set1_host(ssl, host) == 1 else {
                throw TransportError.tls("cannot set the expected host name \(host): \(OpenSSLSupport.drainErrors())")
            }
            // SSL_set_tlsext_host_name is a macro: call SSL_ctrl directly.
            _ = host.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
        }
    }

    private static func runHandshake(ssl: OpaquePointer, fd: Int32, server: Bool, caPath: String, deadline: Double,
                                     timeout: Double, expectedHost: String?) throws {
        while true {
            ERR_clear_error()
            let result = server ? SSL_accept(ssl) : SSL_connect(ssl)
            if result == 1 { return }
            let savedErrno = errno
            let code = SSL_get_error(ssl, result)
            switch code {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                let events = Int16(code == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)
                guard try TCPSocket.wait(fd, for: events, seconds: deadline - TCPSocket.now()) else {
                    throw TransportError.timeout(seconds: timeout)
                }
            default:
                throw TLSFailure.error(ssl: ssl, code: code, savedErrno: savedErrno, phase: .handshake(server: server), caPath: caPath,
                                       expectedHost: expectedHost)
            }
        }
    }

    /// In TLS 1.3 the client finishes its handshake before the server has checked the client's
    /// certificate. The vendor's listener sends a session ticket once it accepted the certificate,
    /// or an alert if it did not: wait for either, so that a rejection surfaces here, in `connect`,
    /// and not later in the first receive. Peeks: application data that follows stays unread.
    private static func awaitAcceptance(ssl: OpaquePointer, fd: Int32, caPath: String, deadline: Double,
                                        timeout: Double) throws {
        var probe: UInt8 = 0
        while true {
            ERR_clear_error()
            var count = 0
            let result = SSL_peek_ex(ssl, &probe, 1, &count)
            if result == 1 { return }
            let savedErrno = errno
            let code = SSL_get_error(ssl, result)
            switch code {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                // Processing the ticket replaces the session with one that carries it.
                if let session = SSL_get_session(ssl), SSL_SESSION_has_ticket(session) == 1 { return }
                let events = Int16(code == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)
                guard try TCPSocket.wait(fd, for: events, seconds: deadline - TCPSocket.now()) else {
                    throw TransportError.timeout(seconds: timeout)
                }
            default:
                throw TLSFailure.error(ssl: ssl, code: code, savedErrno: savedErrno, phase: .handshake(server: false), caPath: caPath)
            }
        }
    }

    // MARK: Channel

    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        try checkOpen()
        lastWasSend = true
        statistics.bytesSent += bytes.count
        guard var source = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        if remaining >= Self.writeBufferSize {
            try flushBuffer()
            try writeAll(source, remaining)
            return
        }
        while remaining > 0 {
            let n = min(remaining, Self.writeBufferSize - pending)
            (writeBuffer + pending).copyMemory(from: source, byteCount: n)
            pending += n
            source += n
            remaining -= n
            if pending == Self.writeBufferSize { try flushBuffer() }
        }
    }

    public func flush() throws {
        try checkOpen()
        try flushBuffer()
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws {
        try checkOpen()
        try flushBuffer()
        if lastWasSend { statistics.rounds += 1 }
        lastWasSend = false
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        var received = 0
        if !pushedBack.isEmpty {
            received = min(pushedBack.count, buffer.count)
            pushedBack.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: received) }
            pushedBack.removeFirst(received)
        }
        while received < buffer.count {
            ERR_clear_error()
            var count = 0
            let result = SSL_read_ex(ssl, base + received, buffer.count - received, &count)
            if result == 1 {
                received += count
                continue
            }
            let savedErrno = errno
            let code = SSL_get_error(ssl, result)
            switch code {
            case SSL_ERROR_WANT_READ:
                let start = TCPSocket.now()
                let ready = try TCPSocket.wait(fd, for: Int16(POLLIN), seconds: timeout)
                statistics.waitSeconds += TCPSocket.now() - start
                guard ready else { throw fail(.timeout(seconds: timeout)) }
            case SSL_ERROR_WANT_WRITE:
                guard try TCPSocket.wait(fd, for: Int16(POLLOUT), seconds: timeout) else { throw fail(.timeout(seconds: timeout)) }
            default:
                throw fail(TLSFailure.error(ssl: ssl, code: code, savedErrno: savedErrno, phase: .receive, caPath: caPath,
                                            expected: buffer.count, received: received))
            }
        }
        statistics.bytesReceived += buffer.count
    }

    /// Gives back `bytes` just received: the next receives return them first, in order (the
    /// vendor's router reads a connection's handshake to route it, then hands the channel to the
    /// session that runs the handshake). The counters forget them, so they are counted once.
    public func unread(_ bytes: [UInt8]) {
        pushedBack = bytes + pushedBack
        statistics.bytesReceived -= bytes.count
    }

    /// True when the peer has sent something not yet read, or closed the connection, without
    /// waiting. For a party that expects silence on this connection (the vendor while the
    /// hospital opens its extra lanes): then anything readable means the peer gave up.
    public func peerSentDataOrClosed() -> Bool {
        guard !closed else { return true }
        if !pushedBack.isEmpty || SSL_pending(ssl) > 0 { return true }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) != 0
    }

    // MARK: Closing

    /// Sends TLS close_notify (when the connection is healthy) and closes the socket. Buffered,
    /// unflushed bytes are dropped: call `flush()` first. Idempotent; later calls of the channel
    /// throw.
    public func close() {
        guard !closed else { return }
        closed = true
        if !failed {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
            ERR_clear_error()
        }
        _ = Foundation.close(fd)
        fd = -1
    }

    /// Closes the socket without close_notify, as a crashed peer would (tests).
    func closeAbruptly() {
        guard !closed else { return }
        closed = true
        failed = true
        _ = Foundation.close(fd)
        fd = -1
    }

    // MARK: Internals

    private func checkOpen() throws {
        if closed { throw TransportError.socket("this TLS channel is closed") }
        if failed { throw TransportError.socket("this TLS channel failed earlier and cannot be used any more") }
    }

    private func fail(_ error: TransportError) -> TransportError {
        failed = true
        return error
    }

    private func flushBuffer() throws {
        guard pending > 0 else { return }
        let count = pending
        pending = 0
        try writeAll(UnsafeRawPointer(writeBuffer), count)
    }

    private func writeAll(_ source: UnsafeRawPointer, _ count: Int) throws {
        var written = 0
        while written < count {
            ERR_clear_error()
            var n = 0
            let result = SSL_write_ex(ssl, source + written, count - written, &n)
            if result == 1 {
                written += n
                continue
            }
            let savedErrno = errno
            let code = SSL_get_error(ssl, result)
            switch code {
            case SSL_ERROR_WANT_WRITE, SSL_ERROR_WANT_READ:
                let events = Int16(code == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)
                guard try TCPSocket.wait(fd, for: events, seconds: timeout) else { throw fail(.timeout(seconds: timeout)) }
            default:
                throw fail(TLSFailure.error(ssl: ssl, code: code, savedErrno: savedErrno, phase: .send, caPath: caPath))
            }
        }
    }
}

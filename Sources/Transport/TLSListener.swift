import COpenSSL
import Foundation

/// The vendor's side of the TLS connection: a TCP listening socket plus the TLS settings (the
/// vendor's certificate and key, the CA that hospital certificates must be signed by).
///
/// Contract: `accept` waits for one hospital, runs the TLS 1.3 handshake with mutual
/// authentication (a client without a certificate, or with one the CA did not sign, is refused),
/// and returns the channel. A failure concerns that one connection only — a port scanner, a
/// client with the wrong certificate, garbage bytes: `accept` throws for it, closes its socket,
/// and the listener stays usable for the next `accept`. Use it from one thread at a time.
public final class TLSListener: @unchecked Sendable {
    /// The port it listens on (the system-chosen one when created with port 0).
    public let port: Int
    /// The address it is bound to.
    public let host: String
    private var fd: Int32
    /// `SSL_CTX *`, owned; shared by every accepted connection.
    private let context: OpaquePointer
    private let identity: TLSIdentity

    /// Listens on `host:port` (port 0: an ephemeral port, see `port`). Bind tests to "127.0.0.1".
    public init(host: String, port: Int, identity: TLSIdentity) throws {
        guard identity.certificate != nil else {
            throw TransportError.tls("the vendor's listener needs a certificate and key, not only a CA file")
        }
        context = try TLSContext.make(identity: identity, server: true)
        do {
            (fd, self.port) = try TCPSocket.listen(host: host, port: port)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.host = host
        self.identity = identity
    }

    deinit {
        close()
        SSL_CTX_free(context)
    }

    /// Waits at most `timeout` seconds for a client and its TLS handshake (each bounded by
    /// `timeout`), and returns the authenticated channel, whose waits are bounded by `timeout` too.
    ///
    /// Throws `TransportError.timeout` when no client comes or it stalls; `.tls` when its
    /// certificate or its bytes are wrong (the message says which); the listener survives both.
    public func accept(timeout: Double) throws -> TLSChannel {
        guard fd >= 0 else { throw TransportError.socket("this listener is closed") }
        let client = try TCPSocket.accept(fd, timeout: timeout)
        let deadline = TCPSocket.now() + timeout
        return try TLSChannel.establish(context: context, fd: client, server: true, caPath: identity.caPath,
                                        deadline: deadline, timeout: timeout)
    }

    /// Stops listening. Channels already accepted stay open.
    public func close() {
        guard fd >= 0 else { return }
        _ = Foundation.close(fd)
        fd = -1
    }
}

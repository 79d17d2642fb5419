import COpenSSL

/// The OpenSSL `SSL_CTX` both parties use: TLS 1.3 only, mutual certificate verification against
/// the identity's CA, read-ahead, partial writes for non-blocking I/O. Internal.
enum TLSContext {
    /// AES-128-GCM first: 128-bit security is the target, and it is the fastest suite on AES-NI.
    static let cipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    /// `SSL_OP_NO_TICKET` = `SSL_OP_BIT(14)` in OpenSSL 3's ssl.h.
    static let noTicketOption: UInt64 = 1 << 14

    /// A new `SSL_CTX` (owned by the caller: `SSL_CTX_free`).
    static func make(identity: TLSIdentity, server: Bool) throws -> OpaquePointer {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_method()) else {
            throw TransportError.tls("cannot create a TLS context: \(OpenSSLSupport.drainErrors())")
        }
        do {
            try configure(context, identity: identity, server: server)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        return context
    }

    private static func configure(_ context: OpaquePointer, identity: TLSIdentity, server: Bool) throws {
        func check(_ ok: Bool, _ what: String) throws {
            guard ok else { throw TransportError.tls("\(what): \(OpenSSLSupport.drainErrors())") }
        }
        // Function-like macros are not imported: call SSL_CTX_ctrl directly.
        try check(SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_3_VERSION), nil) == 1, "cannot require TLS 1.3")
        try check(SSL_CTX_ctrl(context, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(TLS1_3_VERSION), nil) == 1, "cannot require TLS 1.3")
        try check(SSL_CTX_set_ciphersuites(context, cipherSuites) == 1, "cannot set the TLS 1.3 cipher suites")
        let mode = Int(SSL_MODE_ENABLE_PARTIAL_WRITE) | Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)
        _ = SSL_CTX_ctrl(context, SSL_CTRL_MODE, mode, nil)
        // Read-ahead: one recv() fills OpenSSL's buffer with as many records as have arrived.
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_READ_AHEAD, 1, nil)
        // 64 KiB: measured on loopback, 256 KiB–1 MiB read buffers were 1.5–2.5× slower (cache).
        SSL_CTX_set_default_read_buffer_len(context, 1 << 16)
        // No TLS session resumption, on either side: a resumed handshake skips certificate
        // verification, so a client holding a ticket could pose as the hospital without its key.
        // No session cache; SSL_OP_NO_TICKET (`SSL_OP_BIT(14)`, a macro Swift does not import)
        // makes the server's TLS 1.3 tickets stateful, i.e. look-ups in the cache that is off, so a
        // presented ticket always falls back to a full handshake with both certificates. The client
        // never offers a session (it never calls SSL_set_session).
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_SESS_CACHE_MODE, Int(SSL_SESS_CACHE_OFF), nil)
        _ = SSL_CTX_set_options(context, Self.noTicketOption)

        if let certificate = identity.certificate, let key = identity.privateKey {
            try check(SSL_CTX_use_certificate(context, certificate) == 1, "cannot use the certificate \(identity.certificatePath ?? "")")
            try check(SSL_CTX_use_PrivateKey(context, key) == 1, "cannot use the private key \(identity.keyPath ?? "")")
            try check(SSL_CTX_check_private_key(context) == 1, "the private key does not match the certificate")
        }
        guard let store = SSL_CTX_get_cert_store(context) else {
            throw TransportError.tls("the TLS context has no certificate store")
        }
        for authority in identity.authorities {
            try check(X509_STORE_add_cert(store, authority) == 1, "cannot trust the CA certificate in \(identity.caPath)")
        }
        SSL_CTX_set_verify_depth(context, 4)
        if server {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            // One session ticket right after the handshake: the client waits for it (or for an
            // alert) to learn whether the vendor accepted its certificate. It can never resume a
            // session (stateful, and the cache is off: see above).
            _ = SSL_CTX_set_num_tickets(context, 1)
            let sessionContext = Array("SecureValidation".utf8)
            _ = SSL_CTX_set_session_id_context(context, sessionContext, UInt32(sessionContext.count))
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        }
    }
}

/// Turns an OpenSSL failure into a `TransportError` whose message says, in user terms, what is
/// wrong: whose certificate, which check, what to do. Internal.
enum TLSFailure {
    enum Phase: Equatable {
        /// The vendor's side of the handshake (`accept`) or the hospital's (`connect`).
        case handshake(server: Bool)
        case receive, send

        var words: String {
            switch self {
            case .handshake: "during the TLS handshake"
            case .receive: "while receiving"
            case .send: "while sending"
            }
        }
    }

    /// The error for `SSL_get_error(ssl, …) == code` right after a failed call. Reads (and
    /// empties) the thread's OpenSSL error queue; `savedErrno` is errno captured right after the call.
    static func error(ssl: OpaquePointer, code: Int32, savedErrno: Int32, phase: Phase, caPath: String,
                      expected: Int = 0, received: Int = 0, expectedHost: String? = nil) -> TransportError {
        defer { ERR_clear_error() }
        let peerGone: TransportError
        switch phase {
        case .handshake(server: true):
            peerGone = .tls("the client closed the connection during the TLS handshake (it gave up, rejected this side's certificate, or is not a SecureValidation client)")
        case .handshake(server: false):
            peerGone = .tls("the vendor closed the connection during the TLS handshake: it probably rejected this side's certificate (see its log)")
        default:
            peerGone = .peerClosed(expected: expected, received: received)
        }
        switch code {
        case SSL_ERROR_ZERO_RETURN:
            return peerGone
        case SSL_ERROR_SYSCALL:
            if ERR_peek_error() == 0 {
                if savedErrno == 0 || savedErrno == EPIPE || savedErrno == ECONNRESET { return peerGone }
                return .socket("\(phase.words): \(TCPSocket.errorText(savedErrno))")
            }
            return .tls("\(phase.words): \(OpenSSLSupport.drainErrors())")
        case SSL_ERROR_SSL:
            let reason = OpenSSLSupport.firstReason()
            if reason == SSL_R_UNEXPECTED_EOF_WHILE_READING { return peerGone }
            let detail = OpenSSLSupport.drainErrors()
            let verify = SSL_get_verify_result(ssl)
            if reason == SSL_R_CERTIFICATE_VERIFY_FAILED && verify != X509_V_OK {
                if verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH {
                    return .wrongPeer(nameMismatchMessage(ssl: ssl, host: expectedHost ?? "?"))
                }
                return .tls(verificationMessage(Int32(verify), caPath: caPath))
            }
            if let message = reasonMessage(reason) {
                return .tls("\(message) (OpenSSL: \(detail))")
            }
            return .tls("\(phase.words): \(detail)")
        default:
            return .tls("\(phase.words): unexpected OpenSSL state \(code): \(OpenSSLSupport.drainErrors())")
        }
    }

    /// The vendor's certificate chains to the CA but does not name the host this side connected to.
    static func nameMismatchMessage(ssl: OpaquePointer, host: String) -> String {
        var names = ""
        // A failed verification leaves no verified peer; the chain as received (leaf first) is kept.
        if let chain = SSL_get_peer_cert_chain(ssl), OPENSSL_sk_num(chain) > 0,
           let leaf = OPENSSL_sk_value(chain, 0) {
            let peer = OpaquePointer(leaf)
            let cn = OpenSSLSupport.commonName(of: peer).map { "CN \($0)" }
            let san = OpenSSLSupport.subjectAlternativeNames(of: peer)
            let listed = [cn, san].compactMap { $0 }.joined(separator: "; ")
            if !listed.isEmpty { names = " (it names \(listed))" }
        }
        return "the vendor's certificate is signed by the CA but is not issued for \(host)\(names): refusing to send anything. Connect with the vendor's name as its certificate gives it, or ask the vendor for a certificate that names \(host)"
    }

    /// This side checked the peer's certificate and it failed.
    static func verificationMessage(_ code: Int32, caPath: String) -> String {
        let openSSLText = String(cString: X509_verify_cert_error_string(Int(code)))
        switch code {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
             X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
             X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_V_ERR_CERT_SIGNATURE_FAILURE:
            return "the peer's certificate is not signed by the CA in \(caPath): both sides must use certificates from the same CA (\(openSSLText))"
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return "the peer's certificate has expired: create new certificates (\(openSSLText))"
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return "the peer's certificate is not valid yet: check both machines' clocks (\(openSSLText))"
        case X509_V_ERR_INVALID_PURPOSE:
            return "the peer's certificate is not meant for its role: the vendor needs a server (serverAuth) certificate, the hospital a client (clientAuth) one (\(openSSLText))"
        case X509_V_ERR_CERT_REVOKED:
            return "the peer's certificate has been revoked (\(openSSLText))"
        default:
            return "the peer's certificate was rejected: \(openSSLText)"
        }
    }

    /// Reasons worth explaining; nil for the rest (reported with OpenSSL's own words).
    static func reasonMessage(_ reason: Int32) -> String? {
        switch reason {
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
            "the peer sent no certificate: the hospital must present its certificate and key"
        case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
            "the peer requires a certificate and this side sent none"
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
            "the peer rejected this side's certificate: it is not signed by the CA the peer trusts (both sides must use the same ca.crt)"
        case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
            "the peer rejected this side's certificate: certificate has expired (create new certificates)"
        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE,
             SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN, SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
            "the peer rejected this side's certificate"
        case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
            "the peer rejected this side's certificate: it has been revoked"
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_NO_PROTOCOLS_AVAILABLE:
            "the peer does not speak TLS 1.3"
        case SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST:
            "the peer sent an HTTP request, not a TLS handshake: it is not a SecureValidation client"
        case SSL_R_WRONG_VERSION_NUMBER, SSL_R_PACKET_LENGTH_TOO_LONG,
             SSL_R_UNEXPECTED_MESSAGE, SSL_R_UNEXPECTED_RECORD, SSL_R_LENGTH_MISMATCH, SSL_R_BAD_PACKET_LENGTH:
            "the peer sent bytes that are not TLS"
        case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
            "a TLS record failed its integrity check: the connection was tampered with or corrupted"
        default:
            nil
        }
    }
}

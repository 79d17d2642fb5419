import COpenSSL
import CryptoPrimitives
import Foundation

/// Small helpers around the OpenSSL C API shared by the TLS channel, the identities and the
/// certificate authority. Internal: nothing here is part of the module's contract.
enum OpenSSLSupport {
    /// Drains OpenSSL's thread-local error queue into one line ("error:…:reason; …").
    static func drainErrors() -> String {
        var lines = [String]()
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            lines.append(text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        return lines.isEmpty ? "no detail from OpenSSL" : lines.joined(separator: "; ")
    }

    /// The reason code of the oldest queued error (0 when the queue is empty), without removing it.
    static func firstReason() -> Int32 {
        let code = ERR_peek_error()
        return code == 0 ? 0 : ERR_GET_REASON(code)
    }

    /// Runs `write` against a fresh memory BIO and returns what it wrote, as text.
    /// `secure` uses OpenSSL's secure-heap BIO, which wipes its buffer when freed (private keys).
    static func pemText(secure: Bool = false, _ write: (OpaquePointer) -> Int32) -> String? {
        guard let bio = BIO_new(secure ? BIO_s_secmem() : BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { return nil }
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = withUnsafeMutablePointer(to: &data) { BIO_ctrl(bio, BIO_CTRL_INFO, 0, $0) }
        guard length > 0, let data else { return nil }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    /// Runs `write` against a secure memory BIO and hands the bytes to `consume` before the BIO
    /// wipes them (private keys never become Swift strings).
    static func withSecurePEM<R>(_ write: (OpaquePointer) -> Int32,
                                 _ consume: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        guard let bio = BIO_new(BIO_s_secmem()) else { return nil }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { return nil }
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = withUnsafeMutablePointer(to: &data) { BIO_ctrl(bio, BIO_CTRL_INFO, 0, $0) }
        guard length > 0, let data else { return nil }
        return try consume(UnsafeRawBufferPointer(start: data, count: length))
    }

    /// SHA-256 of the certificate's DER encoding, lowercase hex.
    static func fingerprint(of certificate: OpaquePointer) -> String {
        let length = i2d_X509(certificate, nil)
        guard length > 0 else { return "" }
        var der = [UInt8](repeating: 0, count: Int(length))
        der.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_X509(certificate, &cursor)
        }
        return hex(SHA256Hasher().digest(der))
    }

    /// The subject's common name (CN), if the certificate has one.
    static func commonName(of certificate: OpaquePointer) -> String? {
        guard let name = X509_get_subject_name(certificate) else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
              let value = X509_NAME_ENTRY_get_data(entry) else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>? = nil
        let length = ASN1_STRING_to_UTF8(&utf8, value)
        guard length >= 0, let utf8 else { return nil }
        defer { CRYPTO_free(utf8, nil, 0) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    /// The certificate's subject alternative names as OpenSSL prints them
    /// ("DNS:localhost, IP Address:127.0.0.1"), or nil when it has none.
    static func subjectAlternativeNames(of certificate: OpaquePointer) -> String? {
        let index = X509_get_ext_by_NID(certificate, NID_subject_alt_name, -1)
        guard index >= 0, let ext = X509_get_ext(certificate, index) else { return nil }
        return pemText { X509V3_EXT_print($0, ext, 0, 0) }
    }

    /// True when `host` is an IPv4 or IPv6 address literal (then it is checked against the
    /// certificate's IP SANs and sent without SNI, as RFC 6066 asks).
    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Reading and writing the small PEM files of an identity, with errors that name the file.
enum PEMFiles {
    /// Certificates and keys are a few kilobytes; anything far larger is the wrong file.
    static let sizeLimit = 1 << 20

    /// The file's bytes, or `TransportError.file` saying why not (missing, unreadable, too large).
    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ENOENT: throw TransportError.file(path: path, reason: "no such file")
            case EACCES: throw TransportError.file(path: path, reason: "permission denied: this user cannot read the file")
            default: throw TransportError.file(path: path, reason: "cannot open the file: \(String(cString: strerror(code)))")
            }
        }
        defer { _ = close(fd) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                let reason = code == EISDIR ? "is a directory, not a PEM file" : "cannot read the file: \(String(cString: strerror(code)))"
                throw TransportError.file(path: path, reason: reason)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            guard bytes.count <= sizeLimit else {
                throw TransportError.file(path: path, reason: "larger than 1 MiB: not a certificate or key file")
            }
        }
        if bytes.isEmpty { throw TransportError.file(path: path, reason: "the file is empty") }
        return bytes
    }

    /// Runs `body` on a read-only memory BIO over `bytes`.
    static func withBIO<R>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> R) throws -> R {
        try bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
                throw TransportError.tls("OpenSSL could not allocate a memory BIO: \(OpenSSLSupport.drainErrors())")
            }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Whether something (file, directory, link) already exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Writes `bytes` to `path` with permissions `mode` (applied even when the file existed or the
    /// umask is stricter or looser). Without `overwrite`, an existing file is an error naming it.
    static func write(_ bytes: UnsafeRawBufferPointer, to path: String, mode: mode_t, overwrite: Bool) throws {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (overwrite ? O_TRUNC : O_EXCL)
        let fd = open(path, flags, mode)
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST {
                throw TransportError.file(path: path, reason: "already exists: refusing to overwrite it (pass overwrite / --force to replace it)")
            }
            throw TransportError.file(path: path, reason: "cannot create the file: \(String(cString: strerror(code)))")
        }
        defer { _ = close(fd) }
        guard fchmod(fd, mode) == 0 else {
            throw TransportError.file(path: path, reason: "cannot set its permissions: \(String(cString: strerror(errno)))")
        }
        var offset = 0
        while offset < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw TransportError.file(path: path, reason: "cannot write the file: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain TCP plumbing under the TLS channel: non-blocking sockets, waits bounded by poll(), and
/// errors as `TransportError`. Internal; every function either succeeds or throws, and none waits
/// longer than the time it is given.
package enum TCPSocket {
    #if canImport(Glibc)
    static let streamType = Int32(SOCK_STREAM.rawValue)
    #else
    static let streamType = SOCK_STREAM
    #endif

    /// Seconds on a monotonic clock (immune to wall-clock changes).
    package static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    /// Writing to a socket whose peer has gone raises SIGPIPE, which kills the process by default.
    /// OpenSSL writes with write(2), which takes no MSG_NOSIGNAL, so the signal is ignored for the
    /// whole process, once (the failed write then reports EPIPE, which becomes `peerClosed`).
    static let sigpipeIgnored: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return true
    }()

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// Resolves `host:port` for TCP; `passive` for binding.
    static func withAddresses<R>(host: String, port: Int, passive: Bool,
                                 _ body: (UnsafeMutablePointer<addrinfo>) throws -> R) throws -> R {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamType
        hints.ai_flags = passive ? AI_PASSIVE : 0
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            throw TransportError.socket("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        return try body(list)
    }

    /// Non-blocking, close-on-exec, no Nagle delay (the protocols exchange many small messages
    /// whose latency matters), no SIGPIPE where the platform allows it per socket.
    static func configure(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        #if canImport(Darwin)
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    /// Waits until `fd` is ready for `events` (POLLIN / POLLOUT) or `seconds` pass. Returns false
    /// on timeout; true when ready, or when the socket has an error or hang-up to report (the next
    /// read or write then says which).
    static func wait(_ fd: Int32, for events: Int16, seconds: Double) throws -> Bool {
        let deadline = now() + seconds
        while true {
            let remaining = deadline - now()
            if remaining <= 0 { return false }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let milliseconds = Int32(min(remaining * 1000, Double(Int32.max)).rounded(.up))
            let result = poll(&entry, 1, milliseconds)
            if result > 0 { return true }
            if result < 0 {
                let code = errno
                if code == EINTR { continue }
                throw TransportError.socket("poll failed: \(errorText(code))")
            }
        }
    }

    /// A connected, configured socket to `host:port`, trying each resolved address in turn.
    static func connect(host: String, port: Int, timeout: Double) throws -> Int32 {
        _ = sigpipeIgnored
        let deadline = now() + timeout
        return try withAddresses(host: host, port: port, passive: false) { list in
            var failure = TransportError.socket("cannot connect to \(host):\(port): no address")
            var entry: UnsafeMutablePointer<addrinfo>? = list
            while let address = entry {
                entry = address.pointee.ai_next
                let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
                guard fd >= 0 else {
                    failure = .socket("cannot create a socket: \(errorText(errno))")
                    continue
                }
                configure(fd)
                if Foundation.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return fd }
                var code = errno
                if code == EINPROGRESS {
                    let ready = try wait(fd, for: Int16(POLLOUT), seconds: max(0, deadline - now()))
                    if !ready {
                        _ = close(fd)
                        failure = .timeout(seconds: timeout)
                        continue
                    }
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
                    if code == 0 { return fd }
                }
                _ = close(fd)
                let hint = code == ECONNREFUSED ? " (is the vendor's server running on that port?)" : ""
                failure = .socket("cannot connect to \(host):\(port): \(errorText(code))\(hint)")
            }
            throw failure
        }
    }

    /// A listening socket bound to `host:port` (port 0: the system picks one) and its port.
    static func listen(host: String, port: Int) throws -> (fd: Int32, port: Int) {
        _ = sigpipeIgnored
        guard (0...65535).contains(port) else { throw TransportError.socket("port \(port) is not in 0…65535") }
        return try withAddresses(host: host, port: port, passive: true) { list in
            let address = list.pointee
            let fd = socket(address.ai_family, address.ai_socktype, address.ai_protocol)
            guard fd >= 0 else { throw TransportError.socket("cannot create a socket: \(errorText(errno))") }
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard bind(fd, address.ai_addr, address.ai_addrlen) == 0 else {
                let code = errno
                _ = close(fd)
                let hint = code == EADDRINUSE ? " (another program uses that port; pick another or stop it)" : ""
                throw TransportError.socket("cannot listen on \(host):\(port): \(errorText(code))\(hint)")
            }
            guard Foundation.listen(fd, 64) == 0 else {
                let code = errno
                _ = close(fd)
                throw TransportError.socket("cannot listen on \(host):\(port): \(errorText(code))")
            }
            configure(fd)
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let bound = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard bound == 0 else {
                let code = errno
                _ = close(fd)
                throw TransportError.socket("getsockname failed: \(errorText(code))")
            }
            let family = Int32(storage.ss_family)
            let actualPort: Int = withUnsafePointer(to: &storage) { pointer in
                if family == AF_INET6 {
                    return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
                }
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
            return (fd, actualPort)
        }
    }

    /// The next connection on a listening socket, configured, or `TransportError.timeout`.
    static func accept(_ listener: Int32, timeout: Double) throws -> Int32 {
        let deadline = now() + timeout
        while true {
            guard try wait(listener, for: Int16(POLLIN), seconds: deadline - now()) else {
                throw TransportError.timeout(seconds: timeout)
            }
            let fd = Foundation.accept(listener, nil, nil)
            if fd >= 0 {
                configure(fd)
                return fd
            }
            let code = errno
            // The client gave up between poll and accept, or a signal interrupted: wait again.
            if code == EAGAIN || code == EWOULDBLOCK || code == ECONNABORTED || code == EINTR || code == EPROTO { continue }
            throw TransportError.socket("accept failed: \(errorText(code))")
        }
    }

    /// Closes after a failed handshake so that the peer reads our alert instead of a reset: stop
    /// sending, discard what the peer still sends for at most `seconds`, then close.
    static func closeGracefully(_ fd: Int32, seconds: Double) {
        _ = shutdown(fd, Int32(SHUT_WR))
        let deadline = now() + seconds
        var sink = [UInt8](repeating: 0, count: 4096)
        while let ready = try? wait(fd, for: Int16(POLLIN), seconds: deadline - now()), ready {
            let n = sink.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)) { break }
        }
        _ = close(fd)
    }
}

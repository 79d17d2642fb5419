import Foundation

/// The vendor's side of a listener that serves several sessions at once: one thread accepts every
/// connection (TLS with mutual authentication), reads the hospital's handshake message without
/// answering it (`Handshake.peekContext`), and routes the connection by the context it names —
/// `.zero` starts a new session (`nextSession`), anything else is an extra lane of a running
/// session, whose lane context binds its session id (`nextLane`). The session then runs the
/// handshake itself on the routed channel, which gives the peeked bytes back.
///
/// Contract: a lane goes only to the session whose lane context it names, and only if it presents
/// the session's certificate (others are closed and reported); a connection that fails its TLS
/// handshake, or whose first bytes cannot be read, is closed, and the router keeps serving; such failures arrive in `nextSession` as `.failed`, for the caller to record.
/// Lanes nobody claims within `timeout` seconds are closed. Thread-safe.
public final class SessionRouter: @unchecked Sendable {
    private let listener: TLSListener
    private let timeout: Double
    private let note: @Sendable (String) -> Void
    private let condition = NSCondition()
    private var sessions: [Arrival] = []
    private var lanes: [SessionContext: [(channel: TLSChannel, arrived: Date)]] = [:]
    private var stopped = false

    /// Routes the connections of `listener`; `timeout` bounds each connection's handshake and how
    /// long an unclaimed lane is kept; `note` reports refused or failed connections.
    public init(listener: TLSListener, timeout: Double, note: @escaping @Sendable (String) -> Void) {
        self.listener = listener
        self.timeout = timeout
        self.note = note
    }

    /// Starts the accepting thread.
    public func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "securevalidation-router"
        thread.start()
    }

    /// Stops accepting and closes every connection not handed out yet.
    public func stop() {
        condition.lock()
        stopped = true
        for case .session(let channel) in sessions { channel.close() }
        for (_, waiting) in lanes { for lane in waiting { lane.channel.close() } }
        sessions = []
        lanes = [:]
        condition.broadcast()
        condition.unlock()
        listener.close()
    }

    /// What arrives for a new session: its connection, or a connection that failed before it
    /// could start one (its TLS handshake, or its first bytes), with the connection when TLS
    /// succeeded (to name the peer in the ledger).
    public enum Arrival {
        case session(TLSChannel)
        case failed(any Error, TLSChannel?)
    }

    /// The next arrival for a new session, waiting at most `timeout` seconds (nil: until one comes).
    /// Throws `TransportError.timeout`, or `.socket` once stopped.
    public func nextSession(timeout: Double?) throws -> Arrival {
        let deadline = Date().addingTimeInterval(timeout ?? 365 * 86_400)  // NSCondition traps on .distantFuture
        condition.lock()
        defer { condition.unlock() }
        while sessions.isEmpty {
            if stopped { throw TransportError.socket("the vendor's listener was stopped") }
            if !condition.wait(until: deadline) && sessions.isEmpty { throw TransportError.timeout(seconds: timeout ?? 0) }
        }
        return sessions.removeFirst()
    }

    /// The next lane of the session on `session` (certificate `session.peerCertificateFingerprint`)
    /// whose handshake names `context`, within `timeout` seconds. The hospital says nothing on the
    /// session's own connection while it opens its lanes: anything arriving there (or its closing)
    /// means it ended the session, and this throws `TransportError.peerClosed` at once.
    public func nextLane(context: SessionContext, of session: TLSChannel, timeout: Double) throws -> TLSChannel {
        let fingerprint = session.peerCertificateFingerprint.lowercased()
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            while var waiting = lanes[context], !waiting.isEmpty {
                let lane = waiting.removeFirst().channel
                lanes[context] = waiting.isEmpty ? nil : waiting
                if lane.peerCertificateFingerprint.lowercased() == fingerprint { return lane }
                note("refused a lane from \(lane.peerCommonName ?? "?"): it names a session of another hospital's certificate")
                lane.close()
            }
            if stopped { throw TransportError.socket("the vendor's listener was stopped") }
            if Date() >= deadline { throw TransportError.timeout(seconds: timeout) }
            if session.peerSentDataOrClosed() { throw TransportError.peerClosed(expected: 0, received: 0) }
            _ = condition.wait(until: min(deadline, Date().addingTimeInterval(0.5)))
        }
    }

    private func acceptLoop() {
        while true {
            condition.lock()
            let done = stopped
            condition.unlock()
            if done { return }
            let channel: TLSChannel
            do {
                channel = try listener.accept(timeout: 1)
            } catch {
                if case TransportError.timeout = error { purgeStaleLanes(); continue }
                condition.lock()
                if !stopped { sessions.append(.failed(error, nil)) }
                condition.broadcast()
                let done = stopped
                condition.unlock()
                if done { return }
                continue
            }
            channel.timeout = timeout
            // Reading the handshake may wait for a slow peer: on its own thread.
            let router = Thread { [self] in route(channel) }
            router.start()
        }
    }

    private func route(_ channel: TLSChannel) {
        let context: SessionContext
        do {
            context = try Handshake.peekContext(on: channel)
        } catch {
            channel.close()
            condition.lock()
            if !stopped { sessions.append(.failed(error, channel)) }
            condition.broadcast()
            condition.unlock()
            return
        }
        condition.lock()
        defer { condition.unlock() }
        if stopped { channel.close(); return }
        if context == .zero {
            sessions.append(.session(channel))
        } else {
            lanes[context, default: []].append((channel, Date()))
        }
        condition.broadcast()
    }

    private func purgeStaleLanes() {
        condition.lock()
        defer { condition.unlock() }
        let limit = Date().addingTimeInterval(-timeout)
        for (context, waiting) in lanes {
            let (stale, fresh) = (waiting.filter { $0.arrived < limit }, waiting.filter { $0.arrived >= limit })
            for lane in stale {
                note("closed a lane from \(lane.channel.peerCommonName ?? "?") that no running session claimed")
                lane.channel.close()
            }
            lanes[context] = fresh.isEmpty ? nil : fresh
        }
    }
}

import CryptoPrimitives
import Foundation

/// The 32-byte digest both parties must agree on before computing: later the SHA-256 of the
/// public model plan, so that the two programs provably run the same computation. Public data:
/// it may appear in error messages (abbreviated).
public struct SessionContext: Sendable, Hashable, CustomStringConvertible {
    /// Exactly 32 bytes.
    public let bytes: [UInt8]

    /// All zeros: "no context yet" (both sides must still pass the same value).
    public static let zero = SessionContext(uncheckedBytes: [UInt8](repeating: 0, count: 32))

    /// A context from a 32-byte digest; nil for any other length.
    public init?(digest: [UInt8]) {
        guard digest.count == 32 else { return nil }
        bytes = digest
    }

    /// The SHA-256 of `data` (e.g. the canonical encoding of the public plan).
    public init(hashing data: [UInt8]) {
        bytes = SHA256Hasher().digest(data)
    }

    private init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }

    /// Hex, all 64 digits.
    public var hex: String { OpenSSLSupport.hex(bytes) }

    /// The first 8 bytes in hex and an ellipsis: enough to tell two contexts apart in a message.
    public var description: String { String(hex.prefix(16)) + "…" }
}

/// What the application handshake established.
///
/// Contract: `sessionID` is identical on both sides (it binds the protocol version, both parties'
/// fresh nonces and the agreed context), fresh for every session, and public: log it on both sides
/// and in the ledger to match the two records of one validation.
public struct HandshakeResult: Sendable, Equatable {
    /// This side's role.
    public let role: Party
    /// The peer's role (always `role.peer` after a successful handshake).
    public let peerRole: Party
    /// The peer's protocol version (always `Handshake.protocolVersion` after a successful handshake).
    public let peerVersion: UInt32
    /// The context both sides agreed on.
    public let context: SessionContext
    /// SHA-256(version ‖ vendor nonce ‖ hospital nonce ‖ context), 32 bytes.
    public let sessionID: [UInt8]

    /// `sessionID` in lowercase hex.
    public var sessionIDHex: String { OpenSSLSupport.hex(sessionID) }
}

/// The application handshake that runs right after the TLS handshake (or on a `MemoryChannel` in
/// tests), before any protocol message.
///
/// Each side sends one message and reads the peer's:
///
///     "SVAL" (4 bytes) ‖ version (UInt32 LE) ‖ body length (UInt32 LE) ‖ body
///     body (version 1, 49 bytes) = role (1 byte: 0 vendor, 1 hospital) ‖ nonce (16) ‖ context (32)
///
/// Magic and version come first and the body is length-prefixed, so a later version with a
/// different body is still recognised and reported as a version mismatch, not garbage. The body
/// length is bounded (`maximumBodyLength`): a hostile peer cannot make this side allocate much.
///
/// Steps, in order, with the error each failed check throws:
/// 1. both sides send their message and flush (so neither waits for the other to go first);
/// 2. wrong magic → `TransportError.protocolViolation` ("the peer does not speak the
///    SecureValidation protocol");
/// 3. different version → `.handshakeMismatch` naming both versions and what to do;
/// 4. oversized or malformed body → `.protocolViolation`;
/// 5. same role on both sides → `.handshakeMismatch`;
/// 6. different context → `.handshakeMismatch` showing both (abbreviated) digests;
/// 7. sessionID = SHA-256(version ‖ vendor nonce ‖ hospital nonce ‖ context).
///
/// Reveals nothing secret: roles, versions, random nonces and the public context digest.
public enum Handshake {
    /// The version of the SecureValidation wire protocol this program speaks: the one version of
    /// everything sent after the handshake (session messages, protocol rounds, HE linear messages,
    /// the program encoding whose digest both parties compare). Version 2: typed session messages
    /// (one kind byte per frame, a separate abort), lanes that run the handshake with the program's
    /// digest as context, HE messages without their own version byte, program format 3. Version 4:
    /// the request may ask for a signed report, and the statement and countersignature messages
    /// that follow the opening then. Version 5: the hospital's `checking` messages between the
    /// announcement and the request, while it checks its whole test set.
    public static let protocolVersion: UInt32 = 5
    /// The first four bytes of every handshake: "SVAL".
    public static let magic: [UInt8] = Array("SVAL".utf8)
    /// The largest body accepted from the peer (any version).
    public static let maximumBodyLength = 4096
    /// Length of each party's random nonce.
    public static let nonceLength = 16

    /// Runs the handshake as `role` and returns what both sides agreed on, or throws (see the
    /// steps above). Transport failures (timeout, peer closed, TLS) pass through unchanged.
    public static func run(on channel: Channel, role: Party, context: SessionContext = .zero) throws -> HandshakeResult {
        try run(on: channel, role: role, context: context, version: protocolVersion)
    }

    /// Reads the hospital's handshake message from `channel` without answering it, gives the bytes
    /// back (`TLSChannel.unread`) so that `run` reads them again, and returns the context it names:
    /// `.zero` for a new session (and for anything that is not a handshake of this version, which
    /// the session's `run` then refuses), else the lane context of a running one. Throws only when
    /// the channel fails (timeout, closed).
    public static func peekContext(on channel: TLSChannel) throws -> SessionContext {
        let header = try channel.receive(UInt8.self, count: 12)
        let peerVersion = readLittleEndian(header, at: 4)
        let bodyLength = Int(readLittleEndian(header, at: 8))
        guard Array(header[0..<4]) == magic, peerVersion == protocolVersion, bodyLength == 1 + nonceLength + 32 else {
            // Not a handshake of this version: the session's own handshake reads these bytes again
            // and reports what is wrong, to the peer and in the ledger.
            channel.unread(header)
            return .zero
        }
        let body = try channel.receive(UInt8.self, count: bodyLength)
        channel.unread(header + body)
        return SessionContext(digest: Array(body[(1 + nonceLength)...]))!
    }

    /// The same, claiming `version` (tests use it to play an older or newer peer).
    static func run(on channel: Channel, role: Party, context: SessionContext, version: UInt32) throws -> HandshakeResult {
        let nonce = SecureRandom.bytes(nonceLength)

        // Step 1: send.
        var body = [UInt8]()
        body.append(role == .vendor ? 0 : 1)
        body += nonce
        body += context.bytes
        var message = magic
        appendLittleEndian(version, to: &message)
        appendLittleEndian(UInt32(body.count), to: &message)
        message += body
        try channel.send(message)
        try channel.flush()

        // Step 2: magic.
        let header = try channel.receive(UInt8.self, count: 12)
        guard Array(header[0..<4]) == magic else {
            throw TransportError.protocolViolation("the peer does not speak the SecureValidation protocol (its first bytes are not \"SVAL\")")
        }
        // Step 3: version.
        let peerVersion = readLittleEndian(header, at: 4)
        guard peerVersion == version else {
            throw TransportError.handshakeMismatch(
                "the peer speaks protocol version \(peerVersion), this program speaks version \(version): upgrade the older side")
        }
        // Step 4: body.
        let bodyLength = Int(readLittleEndian(header, at: 8))
        let expectedLength = 1 + nonceLength + 32
        guard bodyLength <= maximumBodyLength else {
            throw TransportError.protocolViolation("the peer announced a \(bodyLength)-byte handshake; at most \(maximumBodyLength) are allowed")
        }
        guard bodyLength == expectedLength else {
            throw TransportError.protocolViolation("the peer's version-\(version) handshake has \(bodyLength) bytes instead of \(expectedLength)")
        }
        let peerBody = try channel.receive(UInt8.self, count: bodyLength)
        let peerRole: Party
        switch peerBody[0] {
        case 0: peerRole = .vendor
        case 1: peerRole = .hospital
        default: throw TransportError.protocolViolation("the peer claims an unknown role (\(peerBody[0]))")
        }
        let peerNonce = Array(peerBody[1..<(1 + nonceLength)])
        let peerContext = SessionContext(digest: Array(peerBody[(1 + nonceLength)...]))!

        // Step 5: roles.
        guard peerRole == role.peer else {
            throw TransportError.handshakeMismatch(
                "both sides claim to be the \(role): one side must run as the vendor (validate-serve), the other as the hospital (validate-client)")
        }
        // Step 6: context.
        guard peerContext == context else {
            throw TransportError.handshakeMismatch(
                "the two sides disagree on the session context (the hash of the public model plan): this side has \(context), the peer has \(peerContext); both must use the same model plan and parameters")
        }

        // Step 7: session ID.
        let (vendorNonce, hospitalNonce) = role == .vendor ? (nonce, peerNonce) : (peerNonce, nonce)
        var transcript = [UInt8]()
        appendLittleEndian(version, to: &transcript)
        transcript += vendorNonce
        transcript += hospitalNonce
        transcript += context.bytes
        let sessionID = SHA256Hasher().digest(transcript)
        return HandshakeResult(role: role, peerRole: peerRole, peerVersion: peerVersion, context: context, sessionID: sessionID)
    }

    private static func appendLittleEndian(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    private static func readLittleEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << UInt32(8 * $1) }
    }
}

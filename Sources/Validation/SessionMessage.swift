import Compiler
import CryptoPrimitives
import Foundation
import IR
import Transport

/// The application messages between `validate-serve` (vendor) and `validate-client` (hospital),
/// exchanged after the TLS and the application handshake (`Handshake`, which carries the one wire
/// version: `Handshake.protocolVersion`). Every field is public by design; none carries a weight,
/// an input, a label or a share.
///
/// One frame codec: each message is one channel frame (`Channel.sendMessage`, length-prefixed)
/// holding a one-byte kind and the message as JSON with sorted keys. A frame of another kind than
/// the one the protocol expects at that point is a protocol violation naming both.
///
/// The order, on the session's connection:
/// 1. vendor → hospital `admission` (before anything about the model is shown);
/// 2. vendor → hospital `announcement` (the public model);
/// 3. hospital → vendor `request`, or `abort` with its reason (then nothing else follows), after
///    zero or more `checking` messages while it checks its whole test set against the announced
///    model (an image folder of full-size radiographs takes minutes: `CheckingProgress`);
/// 4. vendor → hospital `decision`;
/// 5. after the opening, only when the request asked for a signed report (`report`): hospital →
///    vendor `statement` (the statement it signed, and its signature), vendor → hospital
///    `countersignature` (its signature of the same bytes, or why it refuses); see `ReportExchange`;
/// and on each extra lane's connection, after its own handshake (whose context is the agreed
/// program's digest), hospital → vendor `laneJoin`.
public enum SessionMessage: Sendable {
    case admission(Admission)
    case announcement(ModelAnnouncement)
    case request(ValidationRequest)
    case abort(Abort)
    case decision(ValidationDecision)
    case laneJoin(LaneJoin)
    case statement(ReportStatement)
    case countersignature(ReportCountersignature)
    case checking(CheckingProgress)

    /// The frame's first byte.
    public enum Kind: UInt8, Sendable, CustomStringConvertible {
        case admission = 1, announcement, request, abort, decision, laneJoin, statement, countersignature, checking

        public var description: String {
            switch self {
            case .admission: "admission"
            case .announcement: "model announcement"
            case .request: "validation request"
            case .abort: "abort"
            case .decision: "decision"
            case .laneJoin: "lane join"
            case .statement: "signed statement"
            case .countersignature: "countersignature"
            case .checking: "check progress"
            }
        }

        /// "an admission", "a decision", …
        var withArticle: String { (description.first.map { "aeiou".contains($0) } ?? false ? "an " : "a ") + description }
    }

    public var kind: Kind {
        switch self {
        case .admission: .admission
        case .announcement: .announcement
        case .request: .request
        case .abort: .abort
        case .decision: .decision
        case .laneJoin: .laneJoin
        case .statement: .statement
        case .countersignature: .countersignature
        case .checking: .checking
        }
    }

    /// Largest frame accepted (the weight-stripped graph of a large model is a few MB).
    static let limit = 64 << 20

    /// Vendor → hospital, first: whether this peer may start a session at all (certificate
    /// allow-list, daily cap), decided before anything about the model is shown.
    public struct Admission: Codable, Sendable {
        public var admitted: Bool
        public var reason: String
    }

    /// Vendor → hospital, after admission: the public model.
    public struct ModelAnnouncement: Codable, Sendable {
        public var modelName: String
        /// The IR with every weight removed (shapes kept).
        public var graph: Graph
        /// Public weight bounds per linear node.
        public var weightBits: [String: Int]
        public var ringBits: Int
        public var scale: Int
        public var formatReason: String
        /// The metrics the vendor allows (`MetricPermission`: "accuracy", "threshold", "top5", …).
        public var allowedMetrics: [String]
        public var minimumImages: Int
        /// Salted SHA-256 commitment to the compiled program and the weight store (`Commitment.model`).
        public var modelCommitment: String
        /// The OT engine the vendor runs ("silent" or "iknp"); the hospital must run the same (it is
        /// also part of the program digest).
        public var otEngine: String
    }

    /// Hospital → vendor: what it asks for, and the digest of the program it compiled itself (with
    /// that metric as its last stage).
    public struct ValidationRequest: Codable, Sendable {
        public var programDigest: String
        /// What counts as correct and what is opened (its text form, e.g. "top5 threshold:0.9").
        public var metric: Metric
        public var images: Int
        public var batch: Int
        /// Salted SHA-256 commitment to the test set (`Commitment.dataset`).
        public var datasetCommitment: String
        /// Set to continue an interrupted validation instead of starting one.
        public var resume: ResumeOffer?
        /// How many batches the hospital would run at once, each on its own connection (nil: 1).
        public var lanes: Int?
        /// Set when this session is one part of a pool: it ends without opening anything, each party
        /// keeping its share of the part's statistic.
        public var part: PoolPart?
        /// Set (instead of running the model) to open a pool's metric over its completed parts; the
        /// hospital is then the pool's aggregator and `images` the parts' total.
        public var poolOpening: PoolOpening?
        /// True when the hospital wants a report both parties sign after the opening (then a
        /// `statement` and a `countersignature` follow it); nil or false: the session ends with the
        /// opening, as before.
        public var report: Bool?
    }

    /// Hospital → vendor, instead of a request: the hospital ends the session before any
    /// computation (its dataset does not fit, the model is not the one it expects, …), with a
    /// reason that names only the kind of problem.
    public struct Abort: Codable, Sendable {
        public var reason: String
    }

    /// Hospital → vendor, inside a request: the validation to continue (the session id of its
    /// first run) and the batches the hospital holds a checkpoint after. Indices only; the shares
    /// themselves never leave their party.
    public struct ResumeOffer: Codable, Sendable, Equatable {
        public var validation: String
        public var checkpoints: [Int]
    }

    /// Hospital → vendor, between the announcement and the request, while the hospital checks its
    /// whole test set against the announced model (for an image folder: decodes and preprocesses
    /// every image, about 70 ms per full-size radiograph). The vendor waits for the request at most
    /// its timeout per message (`--timeout`, 600 s by default), which a folder of some 8,000
    /// radiographs would outlast; this message, sent at most once per `interval`, shows the check is
    /// still moving. It reveals how far the check has got and the number of images, which the
    /// request names anyway; nothing about any image. `checked` must grow with every message and
    /// stay within `images`, and the request must then name the same `images` (`CheckingWatch`).
    public struct CheckingProgress: Codable, Sendable, Equatable {
        public var checked: Int
        public var images: Int

        public init(checked: Int, images: Int) {
            self.checked = checked
            self.images = images
        }

        /// The hospital's default spacing of these messages: well inside any sensible vendor timeout.
        public static let interval: Double = 10
    }

    /// Vendor → hospital: accepted, or refused with a reason.
    public struct ValidationDecision: Codable, Sendable {
        public var accepted: Bool
        public var reason: String
        /// For an accepted resume: the last batch both parties hold a checkpoint after (the run
        /// continues with the next one), or nil to start again from the first batch.
        public var resumeAfterBatch: Int?
        /// How many lanes the session uses (nil: 1); the hospital opens the extra connections.
        public var lanes: Int?
    }

    /// Hospital → vendor, after the opening of a session whose request asked for a report: the
    /// statement the hospital built from its own view and signed (`ValidationStatement`, its exact
    /// canonical text), with its signature (base64) and the signature's algorithm.
    public struct ReportStatement: Codable, Sendable {
        public var statement: String
        public var algorithm: String
        public var signature: String
    }

    /// Vendor → hospital, the answer to `statement`: the vendor's signature over the same bytes
    /// (`signed`), or why it does not sign (`reason`: the statement differs from its own view, the
    /// date is too far from its clock, the hospital's signature does not verify).
    public struct ReportCountersignature: Codable, Sendable {
        public var signed: Bool
        public var reason: String
        public var algorithm: String?
        public var signature: String?
    }

    /// Hospital → vendor, first message on each extra connection (lane ≥ 1) of an agreed session.
    public struct LaneJoin: Codable, Sendable {
        public var sessionID: String
        public var lane: Int
    }

    /// Sends one message as one frame and flushes.
    public static func send(_ message: SessionMessage, on channel: any Channel) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body: Data
        switch message {
        case .admission(let m): body = try encoder.encode(m)
        case .announcement(let m): body = try encoder.encode(m)
        case .request(let m): body = try encoder.encode(m)
        case .abort(let m): body = try encoder.encode(m)
        case .decision(let m): body = try encoder.encode(m)
        case .laneJoin(let m): body = try encoder.encode(m)
        case .statement(let m): body = try encoder.encode(m)
        case .countersignature(let m): body = try encoder.encode(m)
        case .checking(let m): body = try encoder.encode(m)
        }
        try channel.sendMessage([message.kind.rawValue] + [UInt8](body))
        try channel.flush()
    }

    /// Receives one frame and decodes it; a kind outside `expected` is a protocol violation.
    public static func receive(on channel: any Channel, expecting expected: Set<Kind>) throws -> SessionMessage {
        let bytes = try channel.receiveMessage(limit: limit)
        let wanted = expected.map(\.withArticle).sorted().joined(separator: " or ")
        guard let first = bytes.first, let kind = Kind(rawValue: first) else {
            throw TransportError.protocolViolation("the peer sent a frame of unknown kind \(bytes.first.map(String.init) ?? "(empty)") where \(wanted) was due")
        }
        guard expected.contains(kind) else {
            throw TransportError.protocolViolation("the peer sent \(kind.withArticle) where \(wanted) was due")
        }
        let body = Data(bytes.dropFirst())
        do {
            let decoder = JSONDecoder()
            switch kind {
            case .admission: return .admission(try decoder.decode(Admission.self, from: body))
            case .announcement: return .announcement(try decoder.decode(ModelAnnouncement.self, from: body))
            case .request: return .request(try decoder.decode(ValidationRequest.self, from: body))
            case .abort: return .abort(try decoder.decode(Abort.self, from: body))
            case .decision: return .decision(try decoder.decode(ValidationDecision.self, from: body))
            case .laneJoin: return .laneJoin(try decoder.decode(LaneJoin.self, from: body))
            case .statement: return .statement(try decoder.decode(ReportStatement.self, from: body))
            case .countersignature: return .countersignature(try decoder.decode(ReportCountersignature.self, from: body))
            case .checking: return .checking(try decoder.decode(CheckingProgress.self, from: body))
            }
        } catch {
            throw TransportError.protocolViolation("the peer's \(kind) message is not valid: \(error.localizedDescription)")
        }
    }

    /// Typed receivers for the messages that have only one possible kind at their point.
    static func receiveAdmission(on channel: any Channel) throws -> Admission {
        try receive(.admission, on: channel) { if case .admission(let m) = $0 { m } else { nil } }
    }

    static func receiveAnnouncement(on channel: any Channel) throws -> ModelAnnouncement {
        try receive(.announcement, on: channel) { if case .announcement(let m) = $0 { m } else { nil } }
    }

    static func receiveDecision(on channel: any Channel) throws -> ValidationDecision {
        try receive(.decision, on: channel) { if case .decision(let m) = $0 { m } else { nil } }
    }

    static func receiveLaneJoin(on channel: any Channel) throws -> LaneJoin {
        try receive(.laneJoin, on: channel) { if case .laneJoin(let m) = $0 { m } else { nil } }
    }

    static func receiveStatement(on channel: any Channel) throws -> ReportStatement {
        try receive(.statement, on: channel) { if case .statement(let m) = $0 { m } else { nil } }
    }

    static func receiveCountersignature(on channel: any Channel) throws -> ReportCountersignature {
        try receive(.countersignature, on: channel) { if case .countersignature(let m) = $0 { m } else { nil } }
    }

    private static func receive<T>(_ kind: Kind, on channel: any Channel, _ payload: (SessionMessage) -> T?) throws -> T {
        guard let message = payload(try receive(on: channel, expecting: [kind])) else {
            throw TransportError.protocolViolation("the peer's \(kind) message is not valid")
        }
        return message
    }
}

extension MPCProgram {
    /// The handshake context of session `sessionID`'s extra lanes: SHA-256 over the program's digest
    /// and the session id. A lane of a session that agreed on another program fails before its
    /// first message, and a vendor serving several sessions at once routes each lane to its
    /// session by this context alone (`SessionRouter`).
    public func laneContext(sessionID: String) -> SessionContext {
        let bytes = SHA256Hasher().digest(Array("securevalidation lane v1\n".utf8) + digest() + Array(sessionID.utf8))
        guard let context = SessionContext(digest: bytes) else { preconditionFailure("SHA-256 digests are 32 bytes") }
        return context
    }
}

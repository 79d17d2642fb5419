import Compiler
import Foundation
import IR
import Transport

/// The application messages between `validate-serve` (vendor) and `validate-client` (hospital),
/// exchanged after the TLS and version handshake, as length-prefixed JSON. Every field is public
/// by design; none carries a weight, an input, a label or a share.
public enum WireMessages {
    /// Bumped whenever a message changes shape; checked in `ModelAnnouncement`.
    /// Version 2: resume (`ValidationRequest.resume`, `ValidationDecision.resumeAfterBatch`) and
    /// lanes (`ValidationRequest.lanes`, `ValidationDecision.lanes`, `LaneJoin`).
    /// Version 3: the OT engine (`ModelAnnouncement.otEngine`).
    /// Version 4: the typed metric (`ValidationRequest.metric`, one text form), the program digest
    /// over the canonical binary program encoding with its metric stage.
    public static let version = 4
    /// Largest JSON message accepted (the weight-stripped graph of a large model is a few MB).
    static let limit = 64 << 20

    /// Vendor → hospital, first: whether this peer may start a session at all (certificate
    /// allow-list, daily cap), decided before anything about the model is shown.
    public struct Admission: Codable, Sendable {
        public var admitted: Bool
        public var reason: String
    }

    /// Vendor → hospital, after admission: the public model.
    public struct ModelAnnouncement: Codable, Sendable {
        public var version: Int
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
        /// SHA-256 commitment to the IR and the fixed-point weights (`Commitment.model`).
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
        /// SHA-256 commitment to the test set (`Commitment.dataset`).
        public var datasetCommitment: String
        /// Set when the hospital ends the session instead of asking (its reason, e.g. the dataset
        /// does not fit or the model is not the expected one); nothing else is meaningful then.
        public var abort: String?
        /// Set to continue an interrupted validation instead of starting one.
        public var resume: ResumeOffer?
        /// How many batches the hospital would run at once, each on its own connection (nil: 1).
        public var lanes: Int?
    }

    /// Hospital → vendor, inside a request: the validation to continue (the session id of its
    /// first run) and the batches the hospital holds a checkpoint after. Indices only; the shares
    /// themselves never leave their party.
    public struct ResumeOffer: Codable, Sendable, Equatable {
        public var validation: String
        public var checkpoints: [Int]
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

    /// Hospital → vendor, first message on each extra connection (lane ≥ 1) of an agreed session.
    public struct LaneJoin: Codable, Sendable {
        public var sessionID: String
        public var lane: Int
    }

    static func send<T: Encodable>(_ message: T, on channel: any Channel) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try channel.sendMessage([UInt8](try encoder.encode(message)))
        try channel.flush()
    }

    static func receive<T: Decodable>(_ type: T.Type, on channel: any Channel, what: String) throws -> T {
        let bytes = try channel.receiveMessage(limit: limit)
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw TransportError.protocolViolation("the peer's \(what) message is not valid: \(error.localizedDescription)")
        }
    }
}

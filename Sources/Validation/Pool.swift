import Compiler
import CryptoPrimitives
import Foundation
import Protocols
import RingArithmetic
import Transport

/// Which part of which pool a session is: a pooled validation is split into `parts` sessions (one
/// per site, or one per shard of a site's set) that end *without opening anything*, and one final
/// session (`PoolOpening`) that opens the agreed metric of their union.
///
/// Pool names are chosen by the hospitals and must be unique at the vendor (e.g. a study name and
/// a date): a vendor keeps at most one completed part per (pool, index).
public struct PoolPart: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The pool's name: 1–64 characters of letters, digits, '.', '_' and '-'.
    public var pool: String
    /// 0-based (the command line says "part 1/K" for index 0).
    public var index: Int
    /// How many parts the pool has.
    public var parts: Int

    public init(pool: String, index: Int, parts: Int) throws {
        guard let reason = Self.invalidPoolName(pool) else {
            guard parts >= 1, parts <= 10_000, (0..<parts).contains(index) else {
                throw ValidationError.invalidPool("part \(index + 1) of \(parts) does not exist (a pool has 1 to 10000 parts, numbered from 1)")
            }
            self.pool = pool
            self.index = index
            self.parts = parts
            return
        }
        throw ValidationError.invalidPool(reason)
    }

    /// Why `name` is not a pool name, or nil.
    public static func invalidPoolName(_ name: String) -> String? {
        guard (1...64).contains(name.count) else { return "a pool name has 1 to 64 characters, '\(name.prefix(80))' has \(name.count)" }
        guard name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }) else {
            return "a pool name may hold only letters, digits, '.', '_' and '-', not '\(name)'"
        }
        return nil
    }

    /// "pool NAME, part I/K" (1-based).
    public var description: String { "pool \(pool), part \(index + 1)/\(parts)" }
}

/// A completed part as a party keeps it: what was agreed, and this party's share of the part's
/// statistic (a count of correct predictions, or a threshold's count), re-randomised at the end of
/// the part (`SecureRun.finishPart`) so that the hospital's share alone is uniformly random even to
/// someone who knows everything else about the session.
///
/// Contract: `share` is one party's half of a secret and never appears in an error, a log line or a
/// JSON output. The hospital may send its shares to the pool's aggregator (`PoolTransfer`), which
/// learns nothing from them unless it also holds the vendor's (the stated trust assumption: vendor
/// and aggregator do not collude).
public struct PoolPartRecord: Codable, Sendable, Equatable {
    public var part: PoolPart
    /// The part's session id (the id of its first run when it was resumed).
    public var validation: String
    public var programDigest: String
    public var modelCommitment: String
    public var datasetCommitment: String
    /// The metric's text form (`Metric`), the same for every part of a pool.
    public var metric: String
    public var images: Int
    /// `CheckpointShare` encoding of this party's share (ℓ, then the values).
    public var share: [UInt8]
    /// The certificate fingerprint of the site that ran the part (the vendor's peer; for the hospital,
    /// its own certificate when known).
    public var site: String?
    /// The vendor's certificate fingerprint, as the hospital saw it (nil in the vendor's own records).
    public var vendor: String?

    public init(part: PoolPart, validation: String, programDigest: String, modelCommitment: String, datasetCommitment: String,
                metric: String, images: Int, share: [UInt8], site: String? = nil, vendor: String? = nil) {
        self.part = part
        self.validation = validation
        self.programDigest = programDigest
        self.modelCommitment = modelCommitment
        self.datasetCommitment = datasetCommitment
        self.metric = metric
        self.images = images
        self.share = share
        self.site = site
        self.vendor = vendor
    }

    /// Why `records` cannot be the parts of one pool (they disagree on the pool, its size, the model,
    /// the program or the metric, or two differ for one index), or nil. Missing parts are allowed
    /// (see `missingParts`).
    public static func inconsistency(_ records: [PoolPartRecord]) -> String? {
        guard let first = records.first else { return nil }
        var byIndex: [Int: PoolPartRecord] = [:]
        for record in records {
            func differs(_ what: String, _ a: String, _ b: String) -> String {
                "part \(record.part.index + 1) of pool \(first.part.pool) has \(what) \(b.prefix(16)), part \(first.part.index + 1) \(a.prefix(16))"
            }
            if record.part.pool != first.part.pool { return "parts of two pools, \(first.part.pool) and \(record.part.pool)" }
            if record.part.parts != first.part.parts {
                return "part \(record.part.index + 1) of pool \(first.part.pool) says the pool has \(record.part.parts) parts, part \(first.part.index + 1) says \(first.part.parts)"
            }
            if record.modelCommitment != first.modelCommitment { return differs("model commitment", first.modelCommitment, record.modelCommitment) + "…: a pool has one model" }
            if record.programDigest != first.programDigest { return differs("program digest", first.programDigest, record.programDigest) + "…: a pool runs one program" }
            if record.metric != first.metric { return "part \(record.part.index + 1) of pool \(first.part.pool) asked for '\(record.metric)', part \(first.part.index + 1) for '\(first.metric)'" }
            if let other = byIndex[record.part.index], other.validation != record.validation {
                return "two different sessions (\(other.validation.prefix(16))…, \(record.validation.prefix(16))…) claim part \(record.part.index + 1) of pool \(first.part.pool)"
            }
            byIndex[record.part.index] = record
        }
        return nil
    }

    /// The 0-based indices of the pool's parts not among `records`.
    public static func missingParts(_ records: [PoolPartRecord]) -> [Int] {
        guard let parts = records.first?.part.parts else { return [] }
        let have = Set(records.map(\.part.index))
        return (0..<parts).filter { !have.contains($0) }
    }

    /// "1, 3 and 4" (1-based).
    public static func describe(indices: [Int]) -> String {
        let names = indices.map { String($0 + 1) }
        return names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
    }
}

/// What a part keeps of its statistic, the same for every part of a pool: for a count metric the
/// count (one value in the program's ring); for `sens-spec` the 4C counts of
/// `operatingPointCounts` (TP, TN, P, N per finding) in a ring wide enough for any pool; for
/// `auroc` every image's scores, then shares of its positive and its negative bits per finding
/// (3·N·C values in the program's ring: the labels are secret-shared too, since the sites' images
/// are sorted together at the opening).
public enum PoolStatistic {
    /// Whether a pool can pool `metric`: the count metrics, `sens-spec` (counts of disjoint sets of
    /// images add up) and `auroc` (the parts' scores and shared labels are sorted together); not
    /// confusion or predictions.
    public static func canPool(_ metric: Metric) -> Bool {
        switch metric.scores {
        case nil, .auroc?: true
        case .sensSpec?: metric.openingThreshold == nil
        default: false
        }
    }

    /// "pooled validation covers …" for refusals.
    public static let coverage = "pooled validation covers the count metrics (accuracy, topK, threshold), sens-spec and auroc"

    /// The ring and the number of values of the share of a part of `images` images.
    public static func shape(metric: Metric, ringBits: Int, classes: Int, images: Int) -> (bits: Int, count: Int) {
        switch metric.scores {
        case .sensSpec?: (max(ringBits, 48), 4 * classes)
        case .auroc?: (ringBits, 3 * images * classes)
        default: (ringBits, 1)
        }
    }
}

/// Hospital (the aggregator) → vendor, inside a `ValidationRequest`: open the pool's metric over the
/// union of these parts. Indices, session ids and sizes only; the shares never travel.
public struct PoolOpening: Codable, Sendable, Equatable {
    public var pool: String
    public var parts: Int
    public var members: [Member]

    public struct Member: Codable, Sendable, Equatable {
        public var index: Int
        public var validation: String
        public var images: Int
    }

    public init(records: [PoolPartRecord]) {
        pool = records.first?.part.pool ?? ""
        parts = records.first?.part.parts ?? 0
        members = records.sorted { $0.part.index < $1.part.index }
            .map { Member(index: $0.part.index, validation: $0.validation, images: $0.images) }
    }

    /// The commitment the pool-open session records as its dataset commitment: SHA-256 over the parts'
    /// dataset commitments in part order, so an auditor holding them can recompute it.
    public static func datasetCommitment(_ records: [PoolPartRecord]) -> String {
        let text = records.sorted { $0.part.index < $1.part.index }.map(\.datasetCommitment).joined(separator: "\n")
        return SHA256Hasher().hexDigest(Array("securevalidation pool datasets v1\n\(text)".utf8))
    }
}

extension PoolPartRecord {
    /// This party's share of the part, decoded; nil if it is not `count` values of `bits` bits.
    func decodedShare(bits: Int, count: Int) -> ArithmeticShare? {
        CheckpointShare.decode(share, bits: bits, count: count)
    }
}

/// The last step of a pool's part: re-randomises the two shares of the part's statistic so that
/// the hospital's share alone is uniformly random, whatever the protocol's own output shares look
/// like. The hospital draws r uniformly (OpenSSL) and sends it to the vendor; the hospital keeps
/// s − r, the vendor v + r (the sum is unchanged). The vendor learns r, which says nothing without
/// s; the pool's aggregator, who later receives s − r, never sees r.
enum PoolMask {
    static func apply(_ statistic: ArithmeticShare, party: Party, channel: any Channel) throws -> ArithmeticShare {
        let bits = statistic.bits
        let count = statistic.values.count
        if party == .hospital {
            let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
            let bytes = SecureRandom.bytes(8 * count)
            let r = ArithmeticShare(bits: bits, values: (0..<count).map { i in
                (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[8 * i + $1]) << UInt64(8 * $1) } & mask
            })
            try channel.sendMessage(CheckpointShare.encode(r))
            try channel.flush()
            return try statistic.subtracting(r)
        }
        let received = try channel.receiveMessage(limit: 1 + 8 * count)
        guard let r = CheckpointShare.decode(received, bits: bits, count: count) else {
            throw TransportError.protocolViolation("the hospital's mask at the end of a pool part is not \(count) values of \(bits) bits")
        }
        return try statistic.adding(r)
    }
}

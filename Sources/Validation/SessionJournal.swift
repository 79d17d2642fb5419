import Foundation
import Protocols

/// Where a party keeps what lets a validation survive a lost connection: the record of each
/// session's start and this party's checkpoints. The commands implement it over the SQLite ledger;
/// tests keep it in memory.
///
/// Contract: a checkpoint is this party's own additive share of the running count of correct
/// predictions after a batch. A share alone is uniformly random and reveals nothing about the
/// count; it never leaves the party (only batch *indices* are exchanged when resuming).
/// Checkpoints are keyed by the *validation*: the session id of its first run, which every resumed
/// run names in `SessionStart.resumes`.
public protocol SessionJournal: AnyObject {
    /// The computation is agreed and about to start (record it; throwing stops the session
    /// before any secure computation).
    func started(_ start: SessionStart) throws
    /// Why this party will not continue `validation` as `start` describes it (unknown, already
    /// completed, another model, dataset, program, metric, size or peer), or nil to continue.
    func refusalToResume(_ validation: String, as start: SessionStart) throws -> String?
    /// This party's checkpoints of `validation`: batch index → serialised share (`CheckpointShare`).
    func checkpoints(of validation: String) throws -> [Int: [UInt8]]
    /// Saves this party's share after batch `batchIndex` of `validation`. Throwing stops the session.
    func saveCheckpoint(of validation: String, batchIndex: Int, share: [UInt8]) throws
    /// `validation` completed: its checkpoints are no longer needed.
    func finished(_ validation: String) throws
    /// A part of a pool completed: keep this party's share of its statistic. Throwing fails the
    /// session (a part whose share is lost cannot be pooled).
    func partCompleted(_ record: PoolPartRecord) throws
    /// The completed parts of `pool` this party holds (the aggregator: its own and those the sites
    /// sent it), in part order.
    func poolParts(_ pool: String) throws -> [PoolPartRecord]
    /// The session that opened `pool`, or nil if it has not been opened.
    func poolOpened(_ pool: String) throws -> String?
    /// `pool` was opened by session `sessionID`: it is not opened again.
    func markPoolOpened(_ pool: String, by sessionID: String) throws
}

extension SessionJournal {
    public func partCompleted(_ record: PoolPartRecord) throws {
        throw ValidationError.invalidPool("this party keeps no ledger of pooled validations")
    }
    public func poolParts(_ pool: String) throws -> [PoolPartRecord] { [] }
    public func poolOpened(_ pool: String) throws -> String? { nil }
    public func markPoolOpened(_ pool: String, by sessionID: String) throws {
        throw ValidationError.invalidPool("this party keeps no ledger of pooled validations")
    }
}

/// The serialised form of a party's share of the running count: ℓ (1 byte), then each value as
/// 8 bytes little-endian.
enum CheckpointShare {
    static func encode(_ share: ArithmeticShare) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(share.bits)]
        for value in share.values { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        return bytes
    }

    /// Nil unless the bytes hold `count` values of exactly `bits` bits.
    static func decode(_ bytes: [UInt8], bits: Int, count: Int) -> ArithmeticShare? {
        guard bytes.count == 1 + 8 * count, Int(bytes[0]) == bits else { return nil }
        let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        var values: [UInt64] = []
        for i in 0..<count {
            var value: UInt64 = 0
            for b in 0..<8 { value |= UInt64(bytes[1 + 8 * i + b]) << UInt64(8 * b) }
            guard value & ~mask == 0 else { return nil }
            values.append(value)
        }
        return ArithmeticShare(bits: bits, values: values)
    }
}

/// The batch both parties completed last, from the indices each holds a checkpoint for: the
/// largest common one, or nil (start from the first batch).
func commonCheckpoint(_ ours: some Collection<Int>, _ theirs: some Collection<Int>) -> Int? {
    Set(ours).intersection(theirs).max()
}

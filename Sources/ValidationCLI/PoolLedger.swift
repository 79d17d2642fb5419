import Foundation
import Ledger
import Validation

// A party's pool parts live in its ledger (`pool_parts`, `pool_openings`); the session sees them
// through its journal.

extension PoolPartRecord {
    /// The ledger's row for this record.
    func row(receivedFrom: String? = nil) -> PoolPartRow {
        PoolPartRow(pool: part.pool, partIndex: part.index, parts: part.parts, validation: validation, programDigest: programDigest,
                    modelCommitment: modelCommitment, datasetCommitment: datasetCommitment, metric: metric, images: images,
                    share: share, siteFingerprint: site, vendorFingerprint: vendor, receivedFrom: receivedFrom)
    }

    /// The record of a ledger row; throws if the row does not name a valid part.
    init(row: PoolPartRow) throws {
        self.init(part: try PoolPart(pool: row.pool, index: row.partIndex, parts: row.parts), validation: row.validation,
                  programDigest: row.programDigest, modelCommitment: row.modelCommitment, datasetCommitment: row.datasetCommitment,
                  metric: row.metric, images: row.images, share: row.share, site: row.siteFingerprint, vendor: row.vendorFingerprint)
    }
}

extension SessionRecorder {
    /// Keeps this party's share of a completed part. The hospital records its own certificate as the
    /// part's site and the vendor's as its vendor; the vendor, the hospital's certificate (the
    /// session passes it as `site`).
    func partCompleted(_ record: PoolPartRecord) throws {
        var kept = record
        if party == .hospital {
            kept.site = kept.site ?? ownFingerprint
            kept.vendor = record.vendor ?? self.record.peerFingerprint
        } else {
            kept.site = kept.site ?? self.record.peerFingerprint
        }
        try ledger.savePoolPart(kept.row())
    }

    func poolParts(_ pool: String) throws -> [PoolPartRecord] {
        try ledger.poolParts(pool: pool).map(PoolPartRecord.init(row:))
    }

    func poolOpened(_ pool: String) throws -> String? {
        try ledger.poolOpening(pool: pool)
    }

    func markPoolOpened(_ pool: String, by sessionID: String) throws {
        try ledger.markPoolOpened(pool: pool, sessionID: sessionID)
    }
}

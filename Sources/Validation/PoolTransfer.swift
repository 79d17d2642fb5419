import CryptoPrimitives
import Foundation
import Transport

/// How a site hands its pool shares to the pool's aggregator, over mutually authenticated TLS: one
/// application handshake (with its own context, so it cannot be mistaken for a validation session),
/// the site's `Shares`, the aggregator's `Receipt`.
///
/// Contract: a site sends only parts it ran itself (each record names the site's certificate, and
/// the aggregator refuses records that name another); a hospital share alone is uniformly random
/// (`PoolMask`), so the aggregator learns nothing from it unless it also holds the vendor's share.
public enum PoolTransfer {
    /// Site → aggregator: the site's completed parts of one pool.
    public struct Shares: Codable, Sendable {
        public var pool: String
        public var records: [PoolPartRecord]
    }

    /// Aggregator → site: whether the parts were kept, and how many of the pool's parts the
    /// aggregator now holds.
    public struct Receipt: Codable, Sendable, Equatable {
        public var accepted: Bool
        public var reason: String
        public var held: Int
        public var parts: Int
    }

    /// The handshake context of a share transfer: SHA-256 of a fixed label.
    static let context = SessionContext(digest: SHA256Hasher().digest(Array("securevalidation pool-share transfer v1".utf8)))!

    /// The site's side: sends `records` (all of one pool) and returns the aggregator's receipt;
    /// throws `ValidationError.invalidPool` when the aggregator refuses them.
    public static func send(_ records: [PoolPartRecord], on channel: any Channel) throws -> Receipt {
        guard let pool = records.first?.part.pool else { throw ValidationError.invalidPool("no parts to send") }
        _ = try Handshake.run(on: channel, role: .hospital, context: context)
        try channel.sendMessage(try encode(Shares(pool: pool, records: records)))
        try channel.flush()
        let receipt = try decode(Receipt.self, try channel.receiveMessage(limit: 1 << 16), what: "receipt")
        guard receipt.accepted else { throw ValidationError.invalidPool("the aggregator refused the shares: \(receipt.reason)") }
        return receipt
    }

    /// The aggregator's side: receives one site's shares of `pool` from the peer whose certificate
    /// fingerprint is `sender`, lets `keep` check and store them (it throws `ValidationError` to
    /// refuse, and returns how many parts are held and how many the pool has), and answers.
    public static func receive(pool: String, sender: String, on channel: any Channel,
                               keep: ([PoolPartRecord]) throws -> (held: Int, parts: Int)) throws -> [PoolPartRecord] {
        _ = try Handshake.run(on: channel, role: .vendor, context: context)
        let shares = try decode(Shares.self, try channel.receiveMessage(limit: 16 << 20), what: "pool shares")
        var refusal: String?
        var counts = (held: 0, parts: 0)
        if shares.pool != pool || shares.records.contains(where: { $0.part.pool != pool }) {
            refusal = "this aggregator collects pool \(pool), not \(shares.pool)"
        } else if shares.records.isEmpty {
            refusal = "no parts were sent"
        } else if let other = shares.records.first(where: { $0.site?.lowercased() != sender.lowercased() }) {
            refusal = "part \(other.part.index + 1) was run by another site (\((other.site ?? "unknown").prefix(16))…) than the sender (\(sender.prefix(16))…): a site sends only its own parts"
        } else if let bad = shares.records.first(where: { $0.share.count < 9 || ($0.share.count - 1) % 8 != 0 }) {
            refusal = "the share of part \(bad.part.index + 1) is not a list of ring elements"
        } else {
            do { counts = try keep(shares.records) } catch let error as ValidationError {
                refusal = error.description
            }
        }
        let receipt = Receipt(accepted: refusal == nil, reason: refusal ?? "kept", held: counts.held, parts: counts.parts)
        try channel.sendMessage(try encode(receipt))
        try channel.flush()
        if let refusal { throw ValidationError.invalidPool("refused the shares from \(sender.prefix(16))…: \(refusal)") }
        return shares.records
    }

    private static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [UInt8](try encoder.encode(value))
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(bytes)) } catch {
            throw TransportError.protocolViolation("the peer's \(what) message is not valid: \(error.localizedDescription)")
        }
    }
}

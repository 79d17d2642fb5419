import CryptoPrimitives
import Testing
import Transport
@testable import OT

/// The OT engines every protocol test runs on: one generic test body, run once per engine.
///
/// The silent engine runs Ferret at the insecure test sizes (an iteration every 3,456 COTs), so
/// the tests cross many iteration boundaries in milliseconds; `SilentOTTests` runs the 128-bit
/// sets through the public initialiser.
enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case iknp
    case silent

    var testDescription: String { rawValue }

    /// Sets up this engine for `party` (the peer makes the matching call), secrets from the OS.
    func make(_ channel: Channel, _ party: Party) throws -> any ObliviousTransfer {
        switch self {
        case .iknp: try IKNPObliviousTransfer(channel: channel, party: party)
        case .silent: try SilentObliviousTransfer(channel: channel, party: party, secrets: .system(), schedule: .insecureTest)
        }
    }

    /// The same with every secret drawn from a fixed seed (reproducible transcripts).
    func seeded(_ channel: Channel, _ party: Party, seed: UInt64) throws -> any ObliviousTransfer {
        let randomness = AESPRG(seed: Block(low: seed, high: party == .vendor ? 1 : 2))
        switch self {
        case .iknp: return try IKNPObliviousTransfer(channel: channel, party: party, randomness: randomness)
        case .silent: return try SilentObliviousTransfer(channel: channel, party: party, randomness: randomness, schedule: .insecureTest)
        }
    }
}

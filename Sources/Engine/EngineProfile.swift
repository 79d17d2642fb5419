import Foundation
import Transport

/// Where one party's engine spent its time and traffic, by phase: the HE linear layers (with the
/// signed shifts that replace HE per-channel scales), the
/// nonlinear protocols (comparisons, truncations, divisions), local steps, and the metric
/// (argmax, label equality, count). Seconds are wall time of this party's thread; bytes are what
/// this party sent and received in the phase.
public struct EngineProfile: Sendable, Codable, Equatable {
    public struct Phase: Sendable, Codable, Equatable {
        public var seconds: Double = 0
        public var bytesSent: Int = 0
        public var bytesReceived: Int = 0
        public var rounds: Int = 0

        enum CodingKeys: String, CodingKey {
            case seconds, rounds, bytesSent = "bytes_sent", bytesReceived = "bytes_received"
        }
    }

    public var linear = Phase()
    public var nonlinear = Phase()
    public var local = Phase()
    public var metric = Phase()

    /// Both profiles' time and traffic added phase by phase (the lanes of one party).
    public func adding(_ other: EngineProfile) -> EngineProfile {
        func sum(_ a: Phase, _ b: Phase) -> Phase {
            Phase(seconds: a.seconds + b.seconds, bytesSent: a.bytesSent + b.bytesSent,
                  bytesReceived: a.bytesReceived + b.bytesReceived, rounds: a.rounds + b.rounds)
        }
        return EngineProfile(linear: sum(linear, other.linear), nonlinear: sum(nonlinear, other.nonlinear),
                             local: sum(local, other.local), metric: sum(metric, other.metric))
    }

    /// Adds the time and traffic since `start` to `phase`.
    mutating func record(_ phase: WritableKeyPath<EngineProfile, Phase>, since start: (Date, ChannelStatistics),
                         now: ChannelStatistics) {
        self[keyPath: phase].seconds += Date().timeIntervalSince(start.0)
        self[keyPath: phase].bytesSent += now.bytesSent - start.1.bytesSent
        self[keyPath: phase].bytesReceived += now.bytesReceived - start.1.bytesReceived
        self[keyPath: phase].rounds += now.rounds - start.1.rounds
    }
}

/// The two parties of a validation.
public enum Party: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Holds the model (weights); runs `validate-serve`; the server in the two-party protocols.
    case vendor
    /// Holds the test set (inputs, labels); runs `validate-client`; the client.
    case hospital

    /// The other party.
    public var peer: Party { self == .vendor ? .hospital : .vendor }

    public var description: String { rawValue }
}

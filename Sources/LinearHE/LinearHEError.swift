import Foundation
import LatticeHE
import Transport

/// Errors of the HE linear-layer protocols. Messages name the layer and what is wrong; they never
/// contain a share, a weight or a ciphertext.
public enum LinearHEError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// The layer description is inconsistent (a size is zero or negative, a stride is zero, …).
    case invalidShape(detail: String)
    /// No HE parameter set can evaluate this layer without risking a wrong decryption.
    case noFeasibleParameters(layer: String, detail: String)
    /// A share or weight array has the wrong length.
    case wrongLength(what: String, expected: Int, actual: Int)
    /// A weight exceeds the public bound 2^weightBits declared in the plan.
    case weightOutOfBound(index: Int, weightBits: Int)
    /// A share value does not fit in ℓ bits.
    case shareOutOfRange(index: Int, bits: Int)
    /// The peer sent a malformed or unexpected message.
    case malformedMessage(detail: String)
    /// The session was used before its set-up call, or with another plan's parameters.
    case sessionMisuse(detail: String)
    /// An error of the lattice layer.
    case lattice(HEError)
    /// The connection failed (peer gone, timeout, TLS error) while a layer's message was in flight.
    case transport(TransportError)

    public var description: String {
        switch self {
        case let .invalidShape(detail): "invalid linear layer: \(detail)"
        case let .noFeasibleParameters(layer, detail): "no secure HE parameters for \(layer): \(detail)"
        case let .wrongLength(what, expected, actual): "\(what): expected \(expected) values, got \(actual)"
        case let .weightOutOfBound(index, bits): "weight \(index) exceeds the plan's public bound 2^\(bits); plan with a larger weightBits"
        case let .shareOutOfRange(index, bits): "share value \(index) does not fit in \(bits) bits"
        case let .malformedMessage(detail): "malformed linear-layer message: \(detail)"
        case let .sessionMisuse(detail): "linear-layer session misuse: \(detail)"
        case let .lattice(error): "lattice HE: \(error)"
        case let .transport(error): error.description
        }
    }

    public var errorDescription: String? { description }
}

/// Runs `body`, wrapping lattice errors.
@inline(__always)
func lattice<T>(_ body: () throws(HEError) -> T) throws(LinearHEError) -> T {
    do { return try body() } catch { throw .lattice(error) }
}

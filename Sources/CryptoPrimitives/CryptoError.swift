import Foundation

/// Errors of the cryptographic primitives (OpenSSL calls that failed).
public enum CryptoError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// An OpenSSL call failed; `detail` is OpenSSL's error queue text (never secret data).
    case openSSL(operation: String, detail: String)

    public var description: String {
        switch self {
        case let .openSSL(operation, detail): "OpenSSL \(operation) failed: \(detail)"
        }
    }

    public var errorDescription: String? { description }
}

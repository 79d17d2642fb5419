import Foundation

/// Errors of a validation session that are not transport or protocol failures.
public enum ValidationError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// The vendor refused the request (policy), with its reason.
    case refused(String)
    /// The two parties compiled different programs.
    case programMismatch(vendor: String, hospital: String)
    /// The dataset does not fit the vendor's model.
    case datasetMismatch(String)
    /// The peer speaks another message version.
    /// A metric that is not offered.
    case unsupportedMetric(String)
    /// The vendor announced a model other than the one the hospital expects.
    case unexpectedModel(expected: String, announced: String)
    /// The other party ended the session before the computation, with its reason.
    case aborted(String)
    /// An interrupted validation cannot be continued, with the reason.
    case resumeRefused(String)
    /// A pool name or part that cannot be, or parts that do not make one pool.
    case invalidPool(String)
    /// A differentially private validation the dataset's privacy budget does not cover.
    case privacyBudget(String)
    /// The end-of-session statement was not signed by both parties (it differs between them, a
    /// signature does not verify, the peer refused or left); the opened metric stands.
    case reportNotSigned(String)
    /// A report file cannot be written (it exists, the directory cannot be made) or read.
    case reportFile(path: String, reason: String)
    /// A signed report failed a check of `ReportVerifier` (a changed statement or signature, a
    /// certificate that is not the one named, or does not chain to the CA given).
    case reportRejected(path: String, reason: String)

    public var description: String {
        switch self {
        case let .refused(reason): "the vendor refused the validation: \(reason)"
        case let .programMismatch(vendor, hospital):
            "the two parties compiled different secure programs (vendor \(vendor.prefix(16))…, hospital \(hospital.prefix(16))…): run the same SecureValidation version on both sides"
        case let .datasetMismatch(reason): reason
        case let .unsupportedMetric(metric): "metric \(metric) cannot be computed on this model"
        case let .unexpectedModel(expected, announced):
            "the vendor's model commitment is \(announced), not the expected \(expected): refusing to run (ask the vendor which model it serves)"
        case let .aborted(reason): reason
        case let .resumeRefused(reason): "cannot resume: \(reason)"
        case let .invalidPool(reason): reason
        case let .privacyBudget(reason): reason
        case let .reportNotSigned(reason): "no signed report: \(reason)"
        case let .reportFile(path, reason): "\(path): \(reason)"
        case let .reportRejected(path, reason): "\(path): REJECTED: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

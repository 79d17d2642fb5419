/// Every error of the `Preprocessing` module. Messages name the declaration key or the file at
/// fault and never contain a pixel value.
public enum PreprocessingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The vendor's `preprocessing` metadata is not a valid declaration; `reason` names the key.
    case invalidDeclaration(String)
    /// An image cannot be preprocessed as declared (e.g. `window: "file"` on a file without a
    /// window, a crop larger than the resized image); names the file.
    case cannotApply(file: String, reason: String)
    /// The preprocessed image does not have the model's input shape.
    case wrongShape(file: String, produced: [Int], expected: [Int])

    /// The message without the file's name in front (for callers that name the file themselves).
    public var reason: String {
        switch self {
        case .invalidDeclaration(let reason):
            "the model's 'preprocessing' metadata is not a valid declaration: \(reason)"
        case .cannotApply(_, let reason):
            "cannot apply the model's preprocessing: \(reason)"
        case .wrongShape(_, let produced, let expected):
            "after the model's preprocessing the image is \(produced.map(String.init).joined(separator: "×")), but the model takes \(expected.map(String.init).joined(separator: "×")) (check the model's declared resize and crop, or the image)"
        }
    }

    /// The message, naming the file at fault first.
    public var description: String {
        switch self {
        case .invalidDeclaration: reason
        case .cannotApply(let file, _), .wrongShape(let file, _, _): "\(file): \(reason)"
        }
    }
}

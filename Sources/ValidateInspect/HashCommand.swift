import ArgumentParser
import Commitments
import Datasets
import Foundation

/// `validate-inspect hash MODEL|DATASET --salt S`: recomputes the commitments recorded with every
/// session, for an auditor.
struct HashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash",
        abstract: "Recompute the salted SHA-256 commitment of a model or a dataset, as recorded by validation sessions.",
        discussion: """
            Commitments are SHA-256(domain ‖ salt ‖ data) with a 256-bit salt that only the committing \
            party holds: the vendor one per model, the hospital a fresh one per validation. Without the \
            salt nobody can test a guessed model or test set against a commitment, or link two \
            validations of the same test set. To prove to an auditor which model or test set a session \
            used, give the auditor the data and the salt (the commitment_salt of the session's row in \
            validate-serve history --json or validate-client history --json); the auditor runs this \
            command and compares the result with the session's recorded commitment.

            A model's commitment covers its compiled secure program (every step and its public operands) \
            and its weights encoded in fixed point, so it depends on --ring-bits and --scale (use the \
            values the session used, shown in its result), not on the metric or OT engine asked. A dataset's \
            commitment covers its shape, features and labels, and is the same for a .npy folder and a \
            CSV file with the same values.
            """)

    @Argument(help: "An ONNX model (.onnx) or a dataset (folder with inputs.npy and labels.npy, or .csv).")
    var path: String

    @Option(help: ArgumentHelp("The commitment's salt, 64 hex digits (commitment_salt in the committing party's ledger history).",
                               valueName: "hex"))
    var salt: String

    @OptionGroup var fixedPoint: FixedPointOptions

    func validate() throws {
        guard CommitmentSalt(hex: salt) != nil else {
            throw ValidationError("--salt must be 64 hex digits (the commitment_salt of the session's ledger row), not '\(salt)'")
        }
    }

    func run() throws {
        let salt = CommitmentSalt(hex: salt)!
        if path.lowercased().hasSuffix(".onnx") {
            let graph = try loadModel(path)
            let format = try fixedPoint.format()
            print("\(try Commitment.model(graph, format: format, salt: salt))  model \(path) (\(format))")
        } else {
            let data = try openDataset(path: path)
            print("\(try Commitment.dataset(data, salt: salt))  dataset \(path) (\(data.count) examples of shape \(data.featureShape))")
        }
    }
}

import ArgumentParser
import Commitments
import Datasets
import Foundation

/// `validate-inspect hash MODEL|DATASET`: the commitments recorded with every session.
struct HashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash",
        abstract: "Print the SHA-256 commitment of a model or a dataset, as recorded by validation sessions.",
        discussion: """
            A model's commitment covers its IR and its weights encoded in fixed point, so it depends on \
            --ring-bits and --scale (use the values the session used, shown in its result). A dataset's \
            commitment covers its shape, features and labels, and is the same for a .npy folder and a \
            CSV file with the same values. Reveal the model or dataset to an auditor together with this \
            command to prove which one a session used.
            """)

    @Argument(help: "An ONNX model (.onnx) or a dataset (folder with inputs.npy and labels.npy, or .csv).")
    var path: String

    @OptionGroup var fixedPoint: FixedPointOptions

    func run() throws {
        if path.lowercased().hasSuffix(".onnx") {
            let graph = try loadModel(path)
            let format = try fixedPoint.format()
            print("\(try Commitment.model(graph, format: format))  model \(path) (\(format))")
        } else {
            let data = try openDataset(path: path)
            print("\(try Commitment.dataset(data))  dataset \(path) (\(data.count) examples of shape \(data.featureShape))")
        }
    }
}

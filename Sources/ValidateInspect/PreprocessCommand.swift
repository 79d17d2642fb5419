import ArgumentParser
import Datasets
import Foundation
import IR
import Preprocessing
import Reference

/// `validate-inspect preprocess MODEL DIR --output inputs.npy`: what the hospital's client would
/// share of an image folder, written for the hospital to look at first.
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Apply a model's declared preprocessing to an image folder and write the result as .npy.",
        discussion: """
            DIR holds PNG, JPEG or DICOM files and labels.csv (header 'file,label', or 'file' and one \
            column per finding). The model declares its preprocessing in its ONNX metadata \
            ('preprocessing', JSON: modality LUT, window, MONOCHROME1, scale, resize, centre crop, \
            mean/std; `validate-inspect plan MODEL` shows it). This command applies it exactly as \
            validate-client does before sharing anything, checks every file and label against the \
            model, and writes the inputs (float32, N × the model's input shape) so that you can look \
            at what would be shared — e.g. with numpy — before a validation. Nothing is sent anywhere.
            """)

    @Argument(help: "The ONNX model file (its metadata declares the preprocessing).")
    var model: String

    @Argument(help: ArgumentHelp("The image folder (PNG, JPEG, DICOM files and labels.csv).", valueName: "DIR"))
    var folder: String

    @Option(help: ArgumentHelp("Where to write the preprocessed inputs (.npy, float32).", valueName: "inputs.npy"))
    var output: String

    @Option(help: ArgumentHelp("Also write the labels (.npy, int64, N or N × findings), in labels.csv order.", valueName: "labels.npy"))
    var labels: String?

    @Flag(help: "Replace the output files if they exist.")
    var force = false

    func run() throws {
        for path in [output] + (labels.map { [$0] } ?? []) where FileManager.default.fileExists(atPath: path) && !force {
            throw CLIError("\(path) already exists; pass --force to replace it")
        }
        let graph = try loadModel(model)
        guard let preprocessing = graph.preprocessing else {
            throw CLIError("\(model) declares no preprocessing (ONNX metadata '\(Preprocessing.metadataKey)'): there is nothing to apply. Its inputs must be given as inputs.npy, preprocessed as the vendor trained.")
        }
        let opened = try openDataset(path: folder)
        guard opened is ImageFolderDataset else {
            throw CLIError("\(folder) is not an image folder (it needs labels.csv and no inputs.npy)")
        }
        note("preprocessing declared by \((model as NSString).lastPathComponent):")
        for step in preprocessing.steps { note("  \(step)") }
        let data = try opened.preparing(for: graph)
        let progress = ProgressReporter("preprocess")
        // Every file and label is checked before anything is written (as the client does before
        // sharing anything).
        try data.validate(inputShape: graph.inputShape, classCount: graph.classCount,
                          labels: graph.task == .multiLabel ? .findings : .classIndex)
        var features: [Float] = []
        features.reserveCapacity(data.count * data.featuresPerExample)
        var labelValues: [Int64] = []
        try data.forEachBatch(size: 16) { range, batch in
            features += batch.features
            labelValues += batch.labels.map(Int64.init)
            progress.update(done: range.upperBound, total: data.count)
        }
        try NPYWriter.write(float32: features, shape: [data.count] + graph.inputShape, to: output)
        note("wrote \(data.count) input(s) of shape \(Shape.describe(graph.inputShape)) to \(output)")
        if let labels {
            try NPYWriter.write(int64: labelValues, shape: data.labelWidth == 1 ? [data.count] : [data.count, data.labelWidth], to: labels)
            note("wrote their labels to \(labels)")
        }
    }
}

import ArgumentParser
import Benchmarks
import Compiler
import Datasets
import Engine
import Foundation
import IR
import RingArithmetic
import Transport
import Reference
import Validation

/// `validate-inspect bench model MODEL --images N`: a whole secure validation, both parties here.
struct ModelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Run a whole secure validation with both parties in this process and report its cost.",
        discussion: """
            The vendor and the hospital run on two threads over the in-memory channel (real OT and HE, \
            no TLS), on --dataset or on seeded random examples of the model's input shape. Reports per \
            image and in total: wall seconds, CPU seconds per party, bytes, rounds, peak memory, the \
            split into linear / nonlinear / local / metric phases, and the secure correct count next to \
            the plaintext fixed-point reference's count on the same examples (they must be equal).

            --link RATE:RTT runs every message through an emulated network link: each direction \
            sends its bytes no faster than RATE (lanes share it) and every message arrives RTT/2 after \
            it left, so the wall time includes what bandwidth and latency cost, measured rather than \
            computed from the totals. RATE takes bit, kbit, mbit or gbit (per second), RTT us, ms or s: \
            1gbit:10ms for a data-centre link, 100mbit:40ms for a hospital's uplink to a cloud. \
            --link lan (the default) is the bare in-memory channel.
            """)

    @Argument(help: "The ONNX model file.")
    var model: String

    @Option(help: "Number of images.")
    var images: Int = 1

    @Option(help: "A labelled dataset to take the images from (default: seeded random examples).")
    var dataset: String?

    @Option(help: "Images per batch.")
    var batch: Int = 32

    @Option(help: "Batches run at once, each on its own channel and thread pair (1: no pipelining).")
    var lanes: Int = 2

    @Option(help: ArgumentHelp("The metric stage: accuracy (the default), topK, or a clinical metric of every image's scores: auroc, sens-spec (the model's declared thresholds), confusion. Without --dataset a multi-label model gets random 0/1 labels per finding.", valueName: "metric"))
    var metric: String = "accuracy"

    @Option(help: ArgumentHelp("An emulated link RATE:RTT (e.g. 100mbit:40ms), or lan for none.", valueName: "rate:rtt"))
    var link: String = "lan"

    @Option(help: ArgumentHelp("The OT engine: silent (Ferret, the default) or iknp.", valueName: "engine"))
    var ot: String = "silent"

    @OptionGroup var fixedPoint: FixedPointOptions

    @Option(help: "Also write the figures as JSON to this file.")
    var json: String?

    func validate() throws {
        guard images >= 1, batch >= 1, lanes >= 1 else { throw ValidationError("--images, --batch and --lanes must be at least 1") }
        do { _ = try LinkProfile.parse(link) } catch { throw ValidationError(error.description) }
        guard OTEngine(rawValue: ot) != nil else { throw ValidationError("--ot must be silent or iknp, not '\(ot)'") }
    }

    /// `--metric`: accuracy (the default) or a clinical metric of every image's scores.
    func chosenMetric() throws -> Metric {
        guard let chosen = Metric(metric), chosen.scores != .predictions else {
            throw ValidationError("--metric must be accuracy, topK, auroc, sens-spec or confusion, got '\(metric)'")
        }
        return chosen
    }

    func run() throws {
        let graph = try loadModel(model)
        let format = try fixedPoint.format()
        let data: any Dataset
        if let dataset {
            let opened = try openDataset(path: dataset).preparing(for: graph)
            guard opened.count >= images else { throw CLIError("\(dataset) has \(opened.count) examples, fewer than --images \(images)") }
            data = FirstExamples(base: opened, count: images)
        } else {
            data = RandomDataset(count: images, featureShape: graph.inputShape, classes: graph.classCount,
                                 labelWidth: graph.task == .multiLabel ? graph.classCount : 1)
        }
        let progress = ProgressReporter("bench model")
        let report = try ModelBenchmark.run(graph: graph, modelName: (model as NSString).lastPathComponent, format: format,
                                            dataset: data, batch: min(batch, images), lanes: lanes,
                                            link: try LinkProfile.parse(link), otEngine: OTEngine(rawValue: ot)!, metric: try chosenMetric(),
                                            progress: progress.update)
        func phase(_ name: String, _ p: EngineProfile.Phase?) -> String {
            guard let p else { return "" }
            return String(format: "    %-9@ %8.2f s, %8.1f MB sent, %6d rounds", name as NSString, p.seconds, Double(p.bytesSent) / 1e6, p.rounds)
        }
        print("\(report.model): \(report.images) image(s) in batches of \(report.batch) on \(report.lanes) lane(s), ℓ = \(report.ringBits), s = \(report.scale); \(report.ot) OT; link \(report.link)")
        print(String(format: "  wall %.2f s (%.3f s per image); CPU vendor %.2f s, hospital %.2f s", report.seconds, report.secondsPerImage,
                     report.vendorCPUSeconds, report.hospitalCPUSeconds))
        print(String(format: "  traffic %.1f MB (%.2f MB per image), %d rounds; peak memory %.0f MB (both parties)", Double(report.bytes) / 1e6,
                     report.bytesPerImage / 1e6, report.rounds, Double(report.peakRSSBytes) / 1e6))
        print("  vendor's phases:")
        for (name, p) in [("linear", report.vendorProfile?.linear), ("nonlinear", report.vendorProfile?.nonlinear),
                          ("local", report.vendorProfile?.local), ("metric", report.vendorProfile?.metric)] {
            print(phase(name, p))
        }
        if let values = report.metricValues {
            print("  \(report.metric): secure \(values.map { $0.map { String(format: "%.6f", $0) } ?? "undefined" }.joined(separator: " "))"
                  + (report.matchesReference ? " (equal to the plaintext fixed-point reference)" : " (DIFFERENT from the reference)"))
        } else {
            print("  correct: secure \(report.correct), plaintext fixed-point reference \(report.fixedCorrect)"
                  + (report.correct == report.fixedCorrect ? " (equal)" : " (DIFFERENT)"))
        }
        if let json { try writeJSON(report, to: json) }
    }
}

/// The first `count` examples of a dataset.
struct FirstExamples: Dataset {
    let base: any Dataset
    let count: Int
    var source: String { base.source }
    var featureShape: [Int] { base.featureShape }
    var labelWidth: Int { base.labelWidth }
    func batch(_ range: Range<Int>) throws -> DatasetBatch { try base.batch(range) }
    func labels(_ range: Range<Int>) throws -> [Int] { try base.labels(range) }
}

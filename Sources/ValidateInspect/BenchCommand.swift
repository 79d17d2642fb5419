import ArgumentParser
import Benchmarks
import Datasets
import Foundation
import IR
import Reference
import RingArithmetic

/// `validate-inspect bench …`: benchmarks. They report figures; they do not assert speed targets.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: two-party primitives, plaintext reference inference, the ring GEMM kernel.",
        subcommands: [PrimitivesBenchCommand.self, LinearBenchCommand.self, ModelBenchCommand.self, MetricBenchCommand.self, ReferenceBenchCommand.self, KernelBenchCommand.self])
}

/// Times import, float32 inference and fixed-point inference of one model on random inputs.
struct ReferenceBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract: "Time a model's import, float32 inference and fixed-point inference (plaintext, one thread).",
        discussion: """
            Uses seeded pseudo-random inputs in [0, 1) of the model's input shape (no dataset needed), \
            runs each executor --images times with one image per run after one warm-up run, and \
            reports the mean seconds per image. Build with `swift build -c release` for meaningful figures.
            """)

    @Argument(help: "The ONNX model file.")
    var model: String

    @Option(help: "Number of timed images per executor.")
    var images: Int = 3

    @OptionGroup var fixedPoint: FixedPointOptions

    @Option(help: "Also write the figures as JSON to this file.")
    var json: String?

    struct Report: Codable {
        var model: String
        var macs: Int
        var importSeconds: Double
        var floatSecondsPerImage: Double
        var fixedSecondsPerImage: Double
        var fixedGMACPerSecond: Double
        var ringBits: Int
        var scale: Int
        var images: Int

        enum CodingKeys: String, CodingKey {
            case model, macs, images, scale
            case importSeconds = "import_seconds", floatSecondsPerImage = "float_seconds_per_image"
            case fixedSecondsPerImage = "fixed_seconds_per_image", fixedGMACPerSecond = "fixed_gmac_per_second"
            case ringBits = "ring_bits"
        }
    }

    func validate() throws {
        guard images > 0 else { throw ValidationError("--images must be positive") }
    }

    func run() throws {
        let format = try fixedPoint.format()
        let start = Date()
        let graph = try loadModel(model)
        let importSeconds = Date().timeIntervalSince(start)
        let macs = graph.nodeCosts().reduce(0) { $0 + $1.macs }
        let input = try RandomDataset(count: 1, featureShape: graph.inputShape, classes: graph.classCount).batch(0..<1).features

        let float = FloatExecutor(graph: graph)
        let fixed = try FixedPointExecutor(graph: graph, format: format)
        func time(_ label: String, _ body: () throws -> Void) rethrows -> Double {
            try body()  // warm-up
            let t = Date()
            for i in 0..<images {
                try body()
                note("\(label): image \(i + 1)/\(images), \(String(format: "%.3f", Date().timeIntervalSince(t) / Double(i + 1))) s per image")
            }
            return Date().timeIntervalSince(t) / Double(images)
        }
        let floatSeconds = try time("float32") { _ = try float.run(input, batch: 1) }
        let fixedSeconds = try time("fixed point") { _ = try fixed.run(input, batch: 1) }
        let report = Report(model: (model as NSString).lastPathComponent, macs: macs, importSeconds: importSeconds,
                            floatSecondsPerImage: floatSeconds, fixedSecondsPerImage: fixedSeconds,
                            fixedGMACPerSecond: Double(macs) / fixedSeconds / 1e9, ringBits: format.ringBits,
                            scale: format.scale, images: images)
        print("\(report.model): \(macs) MACs per image")
        print(String(format: "  import + passes:      %.3f s", importSeconds))
        print(String(format: "  float32 inference:    %.3f s per image", floatSeconds))
        print(String(format: "  fixed-point inference: %.3f s per image (%.2f GMAC/s, %@)", fixedSeconds,
                     report.fixedGMACPerSecond, format.description))
        if let json { try writeJSON(report, to: json) }
    }
}

/// The ring GEMM kernel's throughput at a few layer-like sizes.
struct KernelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Measure the ring (UInt64) and float GEMM kernels in multiply-accumulates per second.")

    @Option(help: "Minimum seconds per measurement.")
    var seconds: Double = 0.5

    func run() throws {
        let sizes = [(256, 3136, 1152), (128, 3136, 128), (32, 784, 1152), (1, 14, 1024)]
        print("   m      n      k   ring GMAC/s   float GMAC/s")
        for (m, n, k) in sizes {
            let ring = KernelBenchmark.ringGEMM(m: m, n: n, k: k, minimumSeconds: seconds)
            let float = KernelBenchmark.floatGEMM(m: m, n: n, k: k, minimumSeconds: seconds)
            print(String(format: "%4d %6d %6d   %11.2f   %12.2f", m, n, k, ring, float))
        }
    }
}

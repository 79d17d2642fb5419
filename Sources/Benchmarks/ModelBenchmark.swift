import Validation
import Compiler
import Datasets
import Engine
import Foundation
import IR
import Reference
import RingArithmetic
import Transport

/// Benchmarks a whole secure validation: the vendor's server and the hospital's client in this
/// process on two threads over the in-memory channel, on a dataset (or random examples), next to
/// the plaintext fixed-point reference's count on the same examples. Reports, does not assert.
public enum ModelBenchmark {
    public struct Report: Codable, Sendable {
        public var model: String
        public var images: Int
        public var batch: Int
        /// Batches run at once, each on its own channel.
        public var lanes: Int
        public var ringBits: Int
        public var scale: Int
        /// Wall seconds of the whole session (set-up included), and per image.
        public var seconds: Double
        public var secondsPerImage: Double
        /// CPU seconds of each party (all its threads).
        public var vendorCPUSeconds: Double
        public var hospitalCPUSeconds: Double
        /// Bytes both parties sent, in total and per image.
        public var bytes: Int
        public var bytesPerImage: Double
        /// The vendor's direction changes.
        public var rounds: Int
        /// Peak resident memory of this process (both parties together: an upper bound for either).
        public var peakRSSBytes: Int
        public var correct: Int
        public var fixedCorrect: Int
        /// The metric stage asked for (`Metric`'s text form).
        public var metric: String = "accuracy"
        /// A clinical metric's opened values (AUROC per finding; sensitivities then specificities;
        /// confusion counts row by row), nil for a count metric.
        public var metricValues: [Double?]?
        /// Whether the opened values equal the plaintext fixed-point reference's.
        public var matchesReference: Bool = true
        public var vendorProfile: EngineProfile?
        public var hospitalProfile: EngineProfile?
        /// The emulated link (`RATE:RTT`), or "lan" for the bare in-memory channel.
        public var link: String
        /// The OT engine ("silent" or "iknp").
        public var ot: String

        enum CodingKeys: String, CodingKey {
            case model, images, batch, lanes, scale, seconds, bytes, rounds, correct, link, ot
            case ringBits = "ring_bits", secondsPerImage = "seconds_per_image"
            case vendorCPUSeconds = "vendor_cpu_seconds", hospitalCPUSeconds = "hospital_cpu_seconds"
            case bytesPerImage = "bytes_per_image", peakRSSBytes = "peak_rss_bytes", fixedCorrect = "fixed_correct"
            case vendorProfile = "vendor_profile", hospitalProfile = "hospital_profile"
        }
    }

    /// Runs the benchmark. `progress` gets (done, total) images from the hospital's side. With
    /// `link`, every channel pair runs over one `EmulatedLink` (rate and round trip measured in
    /// the wall time, lanes sharing the link's rate).
    public static func run(graph: Graph, modelName: String, format: FixedPointFormat, dataset: any Dataset,
                           batch: Int, lanes: Int = 1, link: LinkProfile? = nil, otEngine: OTEngine = .silent,
                           metric: Metric = .accuracy, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> Report {
        let server = try ValidationServer(modelName: modelName, graph: graph, format: format, formatReason: "benchmark",
                                          policy: .init(minimumImages: 1, allowedMetrics: [metric.permission], maximumLanes: lanes),
                                          otEngine: otEngine)
        let client = try ValidationClient(dataset: dataset, metric: metric, batch: batch, lanes: lanes,
                                          otEngine: otEngine)
        let emulated = link.map(EmulatedLink.init)
        func pair() -> (any Channel & Sendable, any Channel & Sendable) {
            if let emulated { let p = emulated.pair(timeout: 3600); return (p.vendor, p.hospital) }
            let p = MemoryChannel.pair(timeout: 3600)
            return (p.0, p.1)
        }
        let (a, b) = pair()
        // The extra lanes' channel pairs: the hospital "connects" lane i, the vendor "accepts" it.
        let extra = (1..<max(lanes, 1)).map { _ in pair() }
        let lanePairs = LaneChannelPairs(extra)
        final class Outcome: @unchecked Sendable {
            var result: Result<ValidationResult, Error>?
            var cpu = 0.0
        }
        let vendor = Outcome(), hospital = Outcome()
        let group = DispatchGroup()
        let start = Date()
        let bodies: [(Outcome, @Sendable () throws -> ValidationResult)] = [
            (vendor, { try server.serve(channel: a, acceptLane: lanes > 1 ? { _ in try lanePairs.next(for: .vendor) } : nil) }),
            (hospital, { [progress] in try client.run(channel: b, connectLane: lanes > 1 ? { try lanePairs.next(for: .hospital) } : nil,
                                                      progress: progress) }),
        ]
        for (outcome, body) in bodies {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                let cpuStart = threadCPUSeconds()
                outcome.result = Result { try body() }
                outcome.cpu = threadCPUSeconds() - cpuStart
                if case .failure = outcome.result { a.close(); b.close(); lanePairs.closeAll() }
            }
            thread.stackSize = 64 << 20
            thread.start()
        }
        group.wait()
        let seconds = Date().timeIntervalSince(start)
        let v = try vendor.result!.get(), h = try hospital.result!.get()
        // Each party's CPU: its main thread's, plus its lane threads' when it ran several (the run
        // counts those; with one lane everything ran on the main thread).
        if (v.lanes ?? 1) > 1 { vendor.cpu += v.cpuSeconds ?? 0 }
        if (h.lanes ?? 1) > 1 { hospital.cpu += h.cpuSeconds ?? 0 }
        // The plaintext fixed-point reference on the same examples.
        let reference = try FixedPointExecutor(graph: graph, format: format)
        var fixedCorrect = 0
        var metricValues: [Double?]?, matches = true
        if let scores = metric.scores {
            let expected = try Evaluator(graph: graph, format: format).evaluate(dataset, metric: scores, batchSize: batch).fixed
            func flat(_ auroc: [Double?]?, _ sensitivity: [Double?]?, _ specificity: [Double?]?, _ confusion: [[Int]]?) -> [Double?] {
                var values: [Double?] = auroc ?? []
                values += sensitivity ?? []
                values += specificity ?? []
                for row in confusion ?? [] { values += row.map { Double($0) } }
                return values
            }
            func flat(_ r: ValidationResult) -> [Double?] { flat(r.auroc, r.sensitivity, r.specificity, r.confusion) }
            metricValues = flat(h)
            let reference = flat(expected.auroc, expected.sensitivity, expected.specificity, expected.confusion)
            matches = flat(h) == reference && flat(v) == reference
        } else { try dataset.forEachBatch(size: batch) { _, data in
            let logits = try reference.run(data.features, batch: data.count)
            let k = graph.classCount
            fixedCorrect += (0..<data.count).filter { argmax(logits[($0 * k)..<(($0 + 1) * k)]) == data.labels[$0] }.count
        } }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let bytes = v.bytesSent + h.bytesSent
        var report = Report(model: modelName, images: dataset.count, batch: batch, lanes: v.lanes ?? 1, ringBits: format.ringBits, scale: format.scale,
                      seconds: seconds, secondsPerImage: seconds / Double(dataset.count),
                      vendorCPUSeconds: vendor.cpu, hospitalCPUSeconds: hospital.cpu, bytes: bytes,
                      bytesPerImage: Double(bytes) / Double(dataset.count), rounds: v.rounds,
                      peakRSSBytes: Int(usage.ru_maxrss) * 1024, correct: h.correct ?? -1, fixedCorrect: fixedCorrect,
                      vendorProfile: v.profile, hospitalProfile: h.profile, link: link?.text ?? "lan", ot: otEngine.rawValue)
        report.metric = metric.description
        report.metricValues = metricValues
        report.matchesReference = matches
        return report
    }

}

import Compiler
import Datasets
import Foundation
import IR
import ONNX
import RingArithmetic
import Testing
import Transport
@testable import Validation
import TestSupport


/// A channel that records everything its owner receives (sizes of every receive call, and bytes).
final class RecordingChannel: Channel, @unchecked Sendable {
    let inner: MemoryChannel
    var received: [UInt8] = []
    var receiveSizes: [Int] = []

    init(_ inner: MemoryChannel) { self.inner = inner }
    func send(_ bytes: UnsafeRawBufferPointer) throws { try inner.send(bytes) }
    func flush() throws { try inner.flush() }
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws {
        try inner.receive(into: buffer)
        receiveSizes.append(buffer.count)
        received.append(contentsOf: buffer)
    }
    var statistics: ChannelStatistics { inner.statistics }
}

/// The same dataset with other labels.
struct Relabelled: Dataset {
    let base: any Dataset
    let labels: [Int]
    var source: String { base.source }
    var count: Int { base.count }
    var featureShape: [Int] { base.featureShape }
    func batch(_ range: Range<Int>) throws -> DatasetBatch {
        var b = try base.batch(range)
        b.labels = Array(labels[range])
        return b
    }
}

/// Runs a session with both ends recording what they receive.
func recordedSession(graph: Graph, format: FixedPointFormat, dataset: any Dataset, ot: OTEngine = .silent) throws -> (vendor: RecordingChannel, hospital: RecordingChannel, result: ValidationResult) {
    let (a, b) = MemoryChannel.pair(timeout: 300)
    let vendorChannel = RecordingChannel(a), hospitalChannel = RecordingChannel(b)
    let server = try ValidationServer(modelName: "m", graph: graph, format: format, formatReason: "test", policy: .init(minimumImages: 1),
                                      otEngine: ot)
    let client = try ValidationClient(dataset: dataset, batch: 64, otEngine: ot)
    let r = TwoPartyRunner.outcomes(on: (a, b), vendor: { _ in try server.serve(channel: vendorChannel) },
                                    hospital: { _ in try client.run(channel: hospitalChannel) })
    _ = try r.vendor.get()
    return (vendorChannel, hospitalChannel, try r.hospital.get())
}

/// True when `needle` occurs in `haystack` as a contiguous byte string.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count > 0, haystack.count >= needle.count else { return false }
    let first = needle[0]
    var i = 0
    while i <= haystack.count - needle.count {
        if haystack[i] == first && Array(haystack[i..<(i + needle.count)]) == needle { return true }
        i += 1
    }
    return false
}

func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

@Suite("Leakage: what each party receives")
struct LeakageTests {
    @Test("the vendor's transcript has the same sizes and message boundaries for two label vectors; no label vector appears in it",
          arguments: OTEngine.allCases)
    func vendorViewIndependentOfLabels(ot: OTEngine) throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let labels = try data.batch(0..<data.count).labels
        let flipped = labels.map { 1 - $0 }
        let first = try recordedSession(graph: graph, format: format, dataset: data, ot: ot)
        let second = try recordedSession(graph: graph, format: format, dataset: Relabelled(base: data, labels: flipped), ot: ot)
        #expect(first.vendor.receiveSizes == second.vendor.receiveSizes)
        #expect(first.vendor.received.count == second.vendor.received.count)
        #expect(first.vendor.received != second.vendor.received)
        // Positive control: the recording does see public content (the hospital's program digest).
        #expect(contains(first.vendor.received, Array(first.result.programDigest.utf8)))
        // The labels in any plain encoding do not appear in what the vendor received.
        for candidate in [bytes(labels.prefix(16).map { Int64($0) }), bytes(labels.prefix(32).map { UInt8($0) }),
                          bytes(labels.prefix(16).map { Int32($0) })] {
            #expect(!contains(first.vendor.received, candidate))
        }
        // Nor do the inputs (float32 or encoded at scale s).
        let features = try data.batch(0..<4).features
        #expect(!contains(first.vendor.received, bytes(Array(features.prefix(8)))))
        #expect(!contains(first.vendor.received, bytes(features.prefix(4).map { format.unsigned(format.encode(Double($0))!) })))
        // The revealed count is the only difference the labels make.
        #expect(first.result.correct! + second.result.correct! == data.count)
    }

    @Test("no weight appears in what the hospital received (as float32 or encoded at scale s)", arguments: OTEngine.allCases)
    func hospitalViewHasNoWeights(ot: OTEngine) throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let data = try openDataset(path: path("Datasets/breast-cancer-test"))
        let session = try recordedSession(graph: graph, format: format, dataset: data, ot: ot)
        for node in graph.nodes {
            guard case .fullyConnected(let fc) = node.operation else { continue }
            let w = Array(fc.weight.values.prefix(6))
            #expect(!contains(session.hospital.received, bytes(w)), "float weights of \(node.name)")
            #expect(!contains(session.hospital.received, bytes(w.map { format.unsigned(format.encode(Double($0))!) })), "encoded weights of \(node.name)")
            #expect(!contains(session.hospital.received, bytes(w.map { format.encode(Double($0))! })), "signed encoded weights of \(node.name)")
        }
    }
}

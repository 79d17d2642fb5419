import Datasets
import Foundation
import IR
import ONNX
import Reference
import RingArithmetic
import Testing

// MARK: - FixedPointFormat

@Suite("FixedPointFormat")
struct FixedPointFormatTests {
    /// CrypTFlow2's ℓ = 37, s = 12, the format most checks below are written for.
    let standard = try! FixedPointFormat(ringBits: 37, scale: 12)

    @Test("the default is ℓ = 41, s = 15")
    func defaultFormat() {
        #expect(FixedPointFormat.standard.ringBits == 41 && FixedPointFormat.standard.scale == 15)
    }

    @Test("ℓ = 37, s = 12 bounds and mask")
    func standardFormat() {
        #expect(standard.ringBits == 37 && standard.scale == 12)
        #expect(standard.maxSigned == (1 << 36) - 1)
        #expect(standard.minSigned == -(1 << 36))
        #expect(standard.mask == (1 << 37) - 1)
    }

    @Test("encode rounds x·2^s half to even")
    func encodeRoundsHalfToEven() throws {
        let ulp = 1.0 / 4096
        #expect(standard.encode(0) == 0)
        #expect(standard.encode(1) == 4096)
        #expect(standard.encode(-2.5) == -10240)
        #expect(standard.encode(0.5 * ulp) == 0)     // tie → even 0
        #expect(standard.encode(1.5 * ulp) == 2)     // tie → even 2
        #expect(standard.encode(2.5 * ulp) == 2)     // tie → even 2
        #expect(standard.encode(3.5 * ulp) == 4)
        #expect(standard.encode(-0.5 * ulp) == 0)
        #expect(standard.encode(-1.5 * ulp) == -2)
        #expect(standard.encode(-2.5 * ulp) == -2)
        #expect(standard.encode(0.49 * ulp) == 0)
        #expect(standard.encode(0.51 * ulp) == 1)
        #expect(standard.encode(-0.51 * ulp) == -1)
        // power 2: scale 2s (biases).
        #expect(standard.encode(1, power: 2) == 1 << 24)
        #expect(standard.encode(0.1, power: 2) == 1_677_722)  // 0.1·2^24 = 1677721.6
        #expect(standard.decode(1 << 24, power: 2) == 1)
        #expect(standard.decode(-6144) == -1.5)
    }

    @Test("encode refuses values outside the signed ℓ-bit range and non-finite values")
    func encodeRange() {
        // ℓ = 37, s = 12: representable reals are [−2^24, 2^24 − 2^−12].
        #expect(standard.encode(16_777_215.999_755_859_375) == standard.maxSigned)  // (2^36 − 1)/2^12, exact
        #expect(standard.encode(16_777_216) == nil)
        #expect(standard.encode(-16_777_216) == standard.minSigned)
        #expect(standard.encode(-16_777_216.001) == nil)
        #expect(standard.encode(.infinity) == nil)
        #expect(standard.encode(-.infinity) == nil)
        #expect(standard.encode(.nan) == nil)
        #expect(standard.encode(4096, power: 2) == nil)  // 2^12·2^24 = 2^36 is one past the top
    }

    @Test("wrap gives the signed representative mod 2^ℓ")
    func wrap() throws {
        let f = try FixedPointFormat(ringBits: 8, scale: 2)
        #expect(f.wrap(0) == 0)
        #expect(f.wrap(127) == 127)
        #expect(f.wrap(128) == -128)
        #expect(f.wrap(255) == -1)
        #expect(f.wrap(256) == 0)
        #expect(f.wrap(-128) == -128)
        #expect(f.wrap(-129) == 127)
        #expect(f.wrap(1000) == 1000 - 4 * 256)
        #expect(f.unsigned(-1) == 255)
        #expect(f.unsigned(-128) == 128)
        #expect(standard.wrap(1 << 36) == -(1 << 36))
        #expect(standard.wrap(Int64.max) == -1)
        #expect(standard.unsigned(-1) == (1 << 37) - 1)
    }

    @Test("truncate is the floor of v / 2^s, also for negative v")
    func truncateFloors() throws {
        #expect(standard.truncate(4096) == 1)
        #expect(standard.truncate(4095) == 0)
        #expect(standard.truncate(-1) == -1)
        #expect(standard.truncate(-4096) == -1)
        #expect(standard.truncate(-4097) == -2)
        #expect(standard.truncate(-6144) == -2)   // −1.5 → −2 (not −1, as truncation toward zero)
        #expect(standard.truncate(6144) == 1)
        // Truncation of the wrapped value: 2^36 is −2^36 in the ring.
        #expect(standard.truncate(1 << 36) == -(1 << 24))
        let f = try FixedPointFormat(ringBits: 16, scale: 4)
        #expect(f.truncate(-17) == -2)
        #expect(f.truncate(17) == 1)
    }

    @Test("invalid (ℓ, s) throw", arguments: [(1, 0), (0, 0), (65, 16), (-3, 0), (24, 12), (37, 19), (64, 32), (16, -1), (2, 1)])
    func invalidFormats(_ ringBits: Int, _ scale: Int) {
        #expect(throws: FixedPointFormatError.self) { try FixedPointFormat(ringBits: ringBits, scale: scale) }
    }

    @Test("the error names ℓ or s")
    func invalidFormatErrors() {
        #expect(throws: FixedPointFormatError.ringBitsOutOfRange(65)) { try FixedPointFormat(ringBits: 65, scale: 8) }
        #expect(throws: FixedPointFormatError.scaleTooLarge(scale: 12, ringBits: 24)) { try FixedPointFormat(ringBits: 24, scale: 12) }
        #expect(FixedPointFormatError.scaleTooLarge(scale: 12, ringBits: 24).description.contains("2s < ℓ"))
    }

    @Test("valid edge formats", arguments: [(2, 0), (25, 12), (64, 0), (64, 31), (64, 16)])
    func validFormats(_ ringBits: Int, _ scale: Int) throws {
        let f = try FixedPointFormat(ringBits: ringBits, scale: scale)
        #expect(f.ringBits == ringBits && f.scale == scale)
    }

    @Test("ℓ = 64: full-width mask, wrap is the identity, encode bounds are exact")
    func ring64() throws {
        let f = try FixedPointFormat(ringBits: 64, scale: 16)
        #expect(f.mask == .max)
        #expect(f.maxSigned == .max)
        #expect(f.minSigned == .min)
        for v: Int64 in [0, 1, -1, .max, .min, 1 << 40, -(1 << 62)] { #expect(f.wrap(v) == v) }
        #expect(f.unsigned(-1) == .max)
        #expect(f.unsigned(.min) == 1 << 63)
        #expect(f.truncate(-1) == -1)
        #expect(f.truncate(.min) == .min >> 16)
        // 2^47 · 2^16 = 2^63 is one past the top; −2^63 is the bottom.
        #expect(f.encode(140_737_488_355_328) == nil)
        #expect(f.encode(-140_737_488_355_328) == .min)
        #expect(f.encode(140_737_488_355_327) == 9_223_372_036_854_710_272)  // (2^47 − 1)·2^16
        let s0 = try FixedPointFormat(ringBits: 64, scale: 0)
        #expect(s0.encode(9.3e18) == nil)
        #expect(s0.encode(-9_223_372_036_854_775_808) == .min)
        #expect(s0.encode(2.5) == 2)
        #expect(s0.encode(3.5) == 4)
    }
}

// MARK: - FixedPointExecutor

/// A graph built in code: `nodes` in order from input `x` of shape `inputShape`, output `output`,
/// shapes inferred.
func makeGraph(_ inputShape: [Int], _ nodes: [Node], output: String) throws -> Graph {
    var graph = Graph(inputName: "x", inputShape: inputShape, batch: .symbolic("N"), nodes: nodes, outputName: output)
    try graph.inferShapes()
    return graph
}

@Suite("FixedPointExecutor")
struct FixedPointExecutorTests {
    /// ℓ = 16, s = 4: small enough to compute every ring value by hand.
    let ring16 = try! FixedPointFormat(ringBits: 16, scale: 4)

    /// Input [1, 3, 3], multiples of 1/16 (encoded: 8, −20, 32, −12, 24, −40, 4, −1, −16).
    let input: [Float] = [0.5, -1.25, 2.0, -0.75, 1.5, -2.5, 0.25, -0.0625, -1.0]

    /// Conv 2×2, one output channel: weight [0.5, −0.25, 0.75, 1] (encoded 8, −4, 12, 16), bias 0.1
    /// (at scale 2s = 8: round(25.6) = 26).
    var conv: Node {
        Node(name: "conv", operation: .convolution(Convolution(
            weight: Tensor(shape: [1, 1, 2, 2], values: [0.5, -0.25, 0.75, 1.0]), bias: Tensor(shape: [1], values: [0.1]),
            strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0])), inputs: ["x"], output: "c")
    }

    /// The conv output by hand: Σ w·x + 26, then ⌊· / 16⌋:
    ///   (0,0):  64 + 80 − 144 + 384 = 384 → 410 → 25   (25.625)
    ///   (0,1): −160 − 128 + 288 − 640 = −640 → −614 → −39  (−38.375 floors to −39)
    ///   (1,0): −96 − 96 + 48 − 16 = −160 → −134 → −9   (−8.375 floors to −9)
    ///   (1,1): 192 + 160 − 12 − 256 = 84 → 110 → 6     (6.875)
    let convRing: [Int64] = [25, -39, -9, 6]

    func run(_ nodes: [Node], output: String, batch: Int = 1, input: [Float]? = nil) throws -> [Int64] {
        let graph = try makeGraph([1, 3, 3], nodes, output: output)
        return try FixedPointExecutor(graph: graph, format: ring16).run(input ?? self.input, batch: batch)
    }

    @Test("inputs are encoded at scale s")
    func inputEncoding() throws {
        let graph = try makeGraph([1, 3, 3], [Node(name: "r", operation: .reshape, inputs: ["x"], output: "y", outputShape: [9])], output: "y")
        #expect(try FixedPointExecutor(graph: graph, format: ring16).encode(input) == [8, -20, 32, -12, 24, -40, 4, -1, -16])
        #expect(try FixedPointExecutor(graph: graph, format: ring16).run(input, batch: 1) == [8, -20, 32, -12, 24, -40, 4, -1, -16])
    }

    @Test("convolution: wrapping products, bias at 2s, faithful floor truncation")
    func convolution() throws {
        #expect(try run([conv], output: "c") == convRing)
        // A batch of two: the same example twice, and its negation (−x rounds the same way).
        let negated = input.map { -$0 }
        let two = try run([conv], output: "c", batch: 2, input: input + negated)
        #expect(Array(two[..<4]) == convRing)
        // −(Σ w·x) + 26 = [−384, 640, 160, −84] + 26 → ⌊−358/16⌋, ⌊666/16⌋, ⌊186/16⌋, ⌊−58/16⌋
        #expect(Array(two[4...]) == [-23, 41, 11, -4])
    }

    @Test("relu, max pool (padding never wins), average pools with floor division of negative sums")
    func nonlinear() throws {
        #expect(try run([conv, Node(name: "relu", operation: .relu, inputs: ["c"], output: "r")], output: "r") == [25, 0, 0, 6])
        // Max pool 2×1: columns (25, −9) and (−39, 6).
        let max21 = Node(name: "max", operation: .maxPool(Pooling(kernel: [2, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], ceilMode: false)),
                         inputs: ["c"], output: "m")
        #expect(try run([conv, max21], output: "m") == [25, 6])
        // Max pool 1×2 stride 2 with one column of padding on the left: windows {pad, 25} and
        // {pad, −9}; the padding never wins (a zero pad would turn −9 into 0).
        let maxPadded = Node(name: "maxpad", operation: .maxPool(Pooling(kernel: [1, 2], strides: [1, 2], dilations: [1, 1], pads: [0, 1, 0, 0], ceilMode: false)),
                             inputs: ["c"], output: "m")
        #expect(try run([conv, maxPadded], output: "m") == [25, -9])
        // Average 2×1: (25 − 9)/2 = 8 and (−39 + 6)/2 = −16.5 → ⌊·⌋ = −17.
        let avg21 = Node(name: "avg", operation: .averagePool(Pooling(kernel: [2, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], ceilMode: false), countIncludePad: false),
                         inputs: ["c"], output: "a")
        #expect(try run([conv, avg21], output: "a") == [8, -17])
        // Average 2×2, stride 1, pads [0, 0, 1, 1] (bottom, right): 2×2 outputs whose windows hold
        // 4, 2, 2, 1 elements of the input (and 4 each counting the padding):
        //   sums −17, −33, −3, 6.
        let pooling = Pooling(kernel: [2, 2], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 1, 1], ceilMode: false)
        let exclude = Node(name: "avgx", operation: .averagePool(pooling, countIncludePad: false), inputs: ["c"], output: "a")
        #expect(try run([conv, exclude], output: "a") == [-5, -17, -2, 6])    // ⌊−17/4⌋, ⌊−33/2⌋, ⌊−3/2⌋, 6/1
        let include = Node(name: "avgi", operation: .averagePool(pooling, countIncludePad: true), inputs: ["c"], output: "a")
        #expect(try run([conv, include], output: "a") == [-5, -9, -1, 1])     // ⌊−17/4⌋, ⌊−33/4⌋, ⌊−3/4⌋, ⌊6/4⌋
        // Global average pool of the input: (8 − 20 + 32 − 12 + 24 − 40 + 4 − 1 − 16)/9 = −21/9 → −3.
        let gap = Node(name: "gap", operation: .globalAveragePool, inputs: ["x"], output: "g")
        #expect(try run([gap], output: "g") == [-3])
    }

    @Test("affine, add of activations, fully connected, clip")
    func linearAndElementwise() throws {
        // Affine scale −0.5 (encoded −8): 25·−8 = −200 → ⌊−12.5⌋ = −13; −39·−8 = 312 → 19;
        // −9·−8 = 72 → 4; 6·−8 = −48 → −3. Shift 0.25 at 2s = 64 added before truncation:
        // −136 → −9, 376 → 23, 136 → 8, 16 → 1.
        let scaleOnly = Node(name: "aff", operation: .affine(Affine(scale: Tensor(scalar: -0.5), shift: nil)), inputs: ["c"], output: "a")
        #expect(try run([conv, scaleOnly], output: "a") == [-13, 19, 4, -3])
        let scaleShift = Node(name: "aff", operation: .affine(Affine(scale: Tensor(scalar: -0.5), shift: Tensor(scalar: 0.25))), inputs: ["c"], output: "a")
        #expect(try run([conv, scaleShift], output: "a") == [-9, 23, 8, 1])
        // A shift alone is added at scale s: −0.4375 = −7/16.
        let shiftOnly = Node(name: "shift", operation: .affine(Affine(scale: nil, shift: Tensor(scalar: -0.4375))), inputs: ["c"], output: "a")
        #expect(try run([conv, shiftOnly], output: "a") == [18, -46, -16, -1])
        // Add of two activations: c + (−0.5·c).
        let add = Node(name: "add", operation: .add, inputs: ["c", "a"], output: "s")
        #expect(try run([conv, scaleOnly, add], output: "s") == [12, -20, -5, 3])
        // Fully connected on the flattened conv output: W = [0.25, −0.5, 1, 0.125] (4, −8, 16, 2),
        // bias −0.3 at 2s: round(−76.8) = −77. 100 + 312 − 144 + 12 = 280 → 203 → ⌊12.6875⌋ = 12.
        let flat = Node(name: "flat", operation: .reshape, inputs: ["c"], output: "f", outputShape: [4])
        let fc = Node(name: "fc", operation: .fullyConnected(FullyConnected(weight: Tensor(shape: [1, 4], values: [0.25, -0.5, 1, 0.125]),
                                                                              bias: Tensor(shape: [1], values: [-0.3]))),
                      inputs: ["f"], output: "y")
        #expect(try run([conv, flat, fc], output: "y") == [12])
        // Clip to [−1, 1.5] (encoded −16, 24).
        let clip = Node(name: "clip", operation: .clip(lower: -1, upper: 1.5), inputs: ["c"], output: "k")
        #expect(try run([conv, clip], output: "k") == [24, -16, -9, 6])
    }

    @Test("runDecoded decodes the logits and re-applies a final Softmax in float")
    func runDecoded() throws {
        let flat = Node(name: "flat", operation: .reshape, inputs: ["c"], output: "f", outputShape: [4])
        let softmax = Node(name: "softmax", operation: .softmax(axis: 0, coerced: false), inputs: ["f"], output: "p")
        let graph = try makeGraph([1, 3, 3], [conv, flat, softmax], output: "p")
        let executor = try FixedPointExecutor(graph: graph, format: ring16)
        #expect(executor.logitsName == "f")
        #expect(try executor.run(input, batch: 1) == convRing)
        let decoded = try executor.runDecoded(input, batch: 1)
        let logits = convRing.map { Double($0) / 16 }
        let total = logits.map { Foundation.exp($0 - logits.max()!) }.reduce(0, +)
        let expected = logits.map { Float(Foundation.exp($0 - logits.max()!) / total) }
        for (a, b) in zip(decoded, expected) { #expect(abs(a - b) < 1e-6) }
    }
}

// MARK: - Overflow detection

@Suite("Fixed-point overflow detection")
struct OverflowTests {
    /// Runs and expects `.fixedPointOverflow` naming `node`.
    func expectOverflow(_ graph: Graph, _ format: FixedPointFormat, _ input: [Float], batch: Int = 1, node: String,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let executor = try FixedPointExecutor(graph: graph, format: format)
        let error = #expect(throws: ReferenceError.self, sourceLocation: sourceLocation) { _ = try executor.run(input, batch: batch) }
        guard case .fixedPointOverflow(let name, let op, let reported, let bits)? = error else {
            Issue.record("expected fixedPointOverflow at \(node), got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
        #expect(name == node, sourceLocation: sourceLocation)
        #expect(op == graph.nodes.first { $0.name == node }?.operation.name, sourceLocation: sourceLocation)
        #expect(reported == format, sourceLocation: sourceLocation)
        #expect(bits > format.ringBits - 1 || format.ringBits == 64, sourceLocation: sourceLocation)
        #expect(error!.description.contains("'\(node)'"), sourceLocation: sourceLocation)
    }

    @Test("the bundled DenseNet with an overflow-prone format throws naming a node",
          arguments: [(20, 8), (24, 10)])
    func densenetOverflows(_ ringBits: Int, _ scale: Int) throws {
        let graph = try ONNXImporter.loadGraph(path: repositoryPath("Models/densenet-digits.onnx"))
        let dataset = try openDataset(path: repositoryPath("Datasets/digits-test"))
        let batch = try dataset.batch(0..<16)
        let format = try FixedPointFormat(ringBits: ringBits, scale: scale)
        let executor = try FixedPointExecutor(graph: graph, format: format)
        let error = #expect(throws: ReferenceError.self) { _ = try executor.run(batch.features, batch: batch.count) }
        guard case .fixedPointOverflow(let node, let op, _, let bits)? = error else {
            Issue.record("expected fixedPointOverflow, got \(String(describing: error))")
            return
        }
        #expect(graph.nodes.contains { $0.name == node && $0.operation.name == op }, "unknown node '\(node)' (\(op))")
        #expect(bits >= ringBits)
        #expect(error!.description.contains(node) && error!.description.contains("ℓ = \(ringBits)"))
    }

    @Test("a scale whose biases (at 2s) cannot be encoded is refused before running, naming the node",
          arguments: [(37, 18), (30, 14)])
    func densenetUnencodableBias(_ ringBits: Int, _ scale: Int) throws {
        let graph = try ONNXImporter.loadGraph(path: repositoryPath("Models/densenet-digits.onnx"))
        let format = try FixedPointFormat(ringBits: ringBits, scale: scale)
        let error = #expect(throws: ReferenceError.self) { _ = try FixedPointExecutor(graph: graph, format: format) }
        guard case .unencodableWeight(let node, let op, let reported)? = error else {
            Issue.record("expected unencodableWeight, got \(String(describing: error))")
            return
        }
        #expect(graph.nodes.contains { $0.name == node && $0.operation.name == op })
        #expect(reported == format)
        #expect(error!.description.contains(node))
    }

    @Test("the default format does not overflow on the bundled DenseNet")
    func densenetStandardIsFine() throws {
        let graph = try ONNXImporter.loadGraph(path: repositoryPath("Models/densenet-digits.onnx"))
        let dataset = try openDataset(path: repositoryPath("Datasets/digits-test"))
        let batch = try dataset.batch(0..<16)
        _ = try FixedPointExecutor(graph: graph, format: .standard).run(batch.features, batch: batch.count)
    }

    @Test("every op that can leave the ring reports it")
    func eachOpDetects() throws {
        let f = try FixedPointFormat(ringBits: 24, scale: 8)  // values |x| < 2^15 / 2^8 = 128 at scale s; 2^(23−16) = 128 at 2s
        let big: [Float] = [20_000, 20_000, 20_000, 20_000]   // fits at scale s; sums do not
        let ident = Pooling(kernel: [2, 2], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], ceilMode: false)
        try expectOverflow(makeGraph([1, 2, 2], [Node(name: "add", operation: .add, inputs: ["x", "x"], output: "y")], output: "y"), f, big, node: "add")
        try expectOverflow(makeGraph([1, 2, 2], [Node(name: "aff", operation: .affine(Affine(scale: Tensor(scalar: 2), shift: nil)), inputs: ["x"], output: "y")], output: "y"),
                           f, [100, 100, 100, 100], node: "aff")
        try expectOverflow(makeGraph([1, 2, 2], [Node(name: "shift", operation: .affine(Affine(scale: nil, shift: Tensor(scalar: 15_000))), inputs: ["x"], output: "y")], output: "y"),
                           f, big, node: "shift")
        try expectOverflow(makeGraph([1, 2, 2], [Node(name: "avg", operation: .averagePool(ident, countIncludePad: false), inputs: ["x"], output: "y")], output: "y"),
                           f, big, node: "avg")
        try expectOverflow(makeGraph([1, 2, 2], [Node(name: "gap", operation: .globalAveragePool, inputs: ["x"], output: "y")], output: "y"),
                           f, big, node: "gap")
        let conv = Convolution(weight: Tensor(shape: [1, 1, 2, 2], repeating: 1), bias: nil, strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0])
        try expectOverflow(makeGraph([1, 2, 2], [Node(name: "conv", operation: .convolution(conv), inputs: ["x"], output: "y")], output: "y"),
                           f, [50, 50, 50, 50], node: "conv")
        let fc = FullyConnected(weight: Tensor(shape: [1, 4], repeating: 1), bias: nil)
        try expectOverflow(makeGraph([4], [Node(name: "fc", operation: .fullyConnected(fc), inputs: ["x"], output: "y")], output: "y"),
                           f, [50, 50, 50, 50], node: "fc")
        // Just inside: 4·30 = 120 < 128 at scale 2s.
        let ok = try makeGraph([4], [Node(name: "fc", operation: .fullyConnected(fc), inputs: ["x"], output: "y")], output: "y")
        #expect(try FixedPointExecutor(graph: ok, format: f).run([30, 30, 30, 30], batch: 1) == [120 << 8])
    }

    @Test("a product that wraps past 2^64 back into the ring's range is still detected")
    func wrapAround64() throws {
        // ℓ = 37, s = 12: x = w = 2^20 encode to 2^32 each; their product 2^64 is 0 in 64-bit
        // arithmetic, which lies inside the ring's range, but the real value 2^40 does not fit.
        let f = try FixedPointFormat(ringBits: 37, scale: 12)
        let x: [Float] = [1_048_576]
        let fc = FullyConnected(weight: Tensor(shape: [1, 1], values: [1_048_576]), bias: nil)
        try expectOverflow(makeGraph([1], [Node(name: "fc", operation: .fullyConnected(fc), inputs: ["x"], output: "y")], output: "y"), f, x, node: "fc")
        let conv = Convolution(weight: Tensor(shape: [1, 1, 1, 1], values: [1_048_576]), bias: nil, strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0])
        try expectOverflow(makeGraph([1, 1, 1], [Node(name: "conv", operation: .convolution(conv), inputs: ["x"], output: "y")], output: "y"), f, x, node: "conv")
        let affine = Affine(scale: Tensor(scalar: 1_048_576), shift: nil)
        try expectOverflow(makeGraph([1], [Node(name: "aff", operation: .affine(affine), inputs: ["x"], output: "y")], output: "y"), f, x, node: "aff")
    }

    @Test("ℓ = 64 overflows are detected too")
    func ring64() throws {
        let f = try FixedPointFormat(ringBits: 64, scale: 16)
        // 2^30 at scale 16 is 2^46; times 2^20 at scale 16 (2^36) is 2^82.
        let x: [Float] = [1_073_741_824]
        let fc = FullyConnected(weight: Tensor(shape: [1, 1], values: [1_048_576]), bias: nil)
        try expectOverflow(makeGraph([1], [Node(name: "fc", operation: .fullyConnected(fc), inputs: ["x"], output: "y")], output: "y"), f, x, node: "fc")
        let affine = Affine(scale: Tensor(scalar: 1_048_576), shift: nil)
        try expectOverflow(makeGraph([1], [Node(name: "aff", operation: .affine(affine), inputs: ["x"], output: "y")], output: "y"), f, x, node: "aff")
        // 2^46 encodes to 2^62: the sum of two such values does not fit in 64 bits.
        let add = Node(name: "add", operation: .add, inputs: ["x", "x"], output: "y")
        try expectOverflow(makeGraph([1], [add], output: "y"), f, [70_368_744_177_664], node: "add")
        // A product that fits: 2^10 · 2^10 → 2^26 · 2^26 = 2^52 at scale 2s, 2^36 after truncation.
        let small = FullyConnected(weight: Tensor(shape: [1, 1], values: [1024]), bias: nil)
        let ok = try makeGraph([1], [Node(name: "fc", operation: .fullyConnected(small), inputs: ["x"], output: "y")], output: "y")
        #expect(try FixedPointExecutor(graph: ok, format: f).run([1024], batch: 1) == [1 << 36])
    }
}

import Compiler
import CryptoPrimitives
import Datasets
import Foundation
import IR
import ONNX
import OT
import Protocols
import Reference
import RingArithmetic
import Testing
import Transport
@testable import Engine
import TestSupport


/// A linear backend for engine tests only — INSECURE: the hospital sends its share in the clear and
/// the vendor computes W·x + b exactly as the fixed-point reference does, then re-shares it. It
/// isolates the engine's nonlinear and local steps from the HE linear layers, which have their own
/// tests.
final class InsecureRevealingLinearBackend: LinearBackend {
    let session: TwoPartySession
    let format: FixedPointFormat
    /// The vendor's constants (nil for the hospital).
    let weights: WeightStore?

    init(session: TwoPartySession, format: FixedPointFormat, weights: WeightStore?) {
        self.session = session
        self.format = format
        self.weights = weights
    }

    func linear(_ index: Int, _ instruction: Instruction, _ step: LinearStep, input: ArithmeticShare, batch: Int) throws -> ArithmeticShare {
        let outCount = Shape.elementCount(instruction.outputShape) * batch
        if session.party == .hospital {
            try session.channel.send(input.values)
            try session.channel.flush()
            let mask: [UInt64] = try session.channel.receive(UInt64.self, count: outCount)
            return ArithmeticShare(bits: input.bits, values: mask)
        }
        let theirs: [UInt64] = try session.channel.receive(UInt64.self, count: input.count)
        let x = zip(input.values, theirs).map { format.wrap(Int64(bitPattern: $0 &+ $1)) }
        guard case .linear(let w, let bias) = weights?[index] else { throw EngineError.programMismatch("no weights for step \(index)") }
        let y = try Self.product(step, w, bias, x, format: format)
        let mask = session.prg.ringElements(outCount, bits: format.ringBits)
        try session.channel.send(mask)
        try session.channel.flush()
        return ArithmeticShare(bits: input.bits, values: zip(y, mask).map { (UInt64(bitPattern: $0) &- $1) & format.mask })
    }

    /// W·x + b at scale 2s, wrapped (naive loops), from the encoded weights of the vendor's store.
    static func product(_ step: LinearStep, _ w: [Int64], _ bias: [Int64], _ x: [Int64], format f: FixedPointFormat) throws -> [Int64] {
        guard step.shape.kind == .fullyConnected else {
            throw EngineError.programMismatch("the test backend computes fully connected layers only")
        }
        let k = step.shape.inputChannels, n = step.shape.outputChannels
        let rows = x.count / k
        var out: [Int64] = []
        for r in 0..<rows { for o in 0..<n {
            var acc: Int64 = bias.isEmpty ? 0 : bias[o]
            for j in 0..<k { acc = acc &+ w[o * k + j] &* x[r * k + j] }
            out.append(f.wrap(acc))
        } }
        return out
    }
}

/// Runs the vendor's and the hospital's closures on two threads over an in-memory channel with the
/// real OT engine (the shared `TwoPartyRunner`); returns both results.
func runTwoParties<V: Sendable, H: Sendable>(_ vendor: @escaping @Sendable (TwoPartySession) throws -> V,
                                             _ hospital: @escaping @Sendable (TwoPartySession) throws -> H) throws -> (V, H) {
    @Sendable func session(_ channel: MemoryChannel, _ party: Party) throws -> TwoPartySession {
        try TwoPartySession.establish(party: party, channel: channel, ot: try IKNPObliviousTransfer(channel: channel, party: party))
    }
    let r = try TwoPartyRunner.run(timeout: 120, vendor: { try vendor(session($0, .vendor)) },
                                   hospital: { try hospital(session($0, .hospital)) })
    return (r.vendor, r.hospital)
}

@Suite("Secure engine (nonlinear and local steps; test-only linear backend)")
struct EngineTests {
    @Test("the MLP's secure logits and correct count equal the fixed-point reference on the bundled test set")
    func mlpMatchesReference() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let format = try FixedPointFormat(ringBits: 40, scale: 14)
        let program = try ProgramCompiler.compile(graph, format: format)
        let weights = try WeightStore(program: program, graph: graph)
        let data = try openDataset(path: path("Datasets/breast-cancer-test")).batch(0..<64)
        let batch = data.count
        let (vendorResult, hospitalResult) = try runTwoParties({ session in
            let engine = try SecureEngine(program: program, weights: weights, session: session,
                                          linear: InsecureRevealingLinearBackend(session: session, format: format, weights: weights))
            let input = try engine.shareInputs(nil, batch: batch)
            let logits = try engine.logits(input, batch: batch)
            let count = try engine.countCorrect(logits: logits, labels: nil, countBits: 32)
            // Test-only opening of every logit (the executables never do this).
            let opened = try session.open(logits, to: nil)!
            return (opened, try engine.revealCount(count))
        }, { session in
            let engine = try SecureEngine(program: program, weights: nil, session: session,
                                          linear: InsecureRevealingLinearBackend(session: session, format: format, weights: nil))
            let input = try engine.shareInputs(data.features, batch: batch)
            let logits = try engine.logits(input, batch: batch)
            let count = try engine.countCorrect(logits: logits, labels: data.labels, countBits: 32)
            _ = try session.open(logits, to: nil)
            return try engine.revealCount(count)
        })
        let reference = try FixedPointExecutor(graph: graph, format: format).run(data.features, batch: batch)
        #expect(vendorResult.0 == reference)
        let classes = graph.classCount
        let expected = (0..<batch).filter { argmax(reference[($0 * classes)..<(($0 + 1) * classes)]) == data.labels[$0] }.count
        #expect(vendorResult.1 == Int64(expected))
        #expect(hospitalResult == Int64(expected))
    }

    @Test("a Clip with one bound after a Gemm: the secure logits equal the fixed-point reference's",
          arguments: ["gemm_clip_min_only_opset13", "gemm_clip_max_only_opset7"])
    func oneSidedClipMatchesReference(_ fixture: String) throws {
        let folder = path("Tests/Fixtures/importer/ops/\(fixture)")
        let graph = try ONNXImporter.loadGraph(path: folder + "/model.onnx")
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let program = try ProgramCompiler.compile(graph, format: format)
        #expect(program.instructions.contains { $0.kind == .clip })
        let weights = try WeightStore(program: program, graph: graph)
        let input = try NPYReader(path: folder + "/input.npy").readAllFloats()
        let batch = try #require(input.shape.first)
        let (vendorLogits, _) = try runTwoParties({ session in
            let engine = try SecureEngine(program: program, weights: weights, session: session,
                                          linear: InsecureRevealingLinearBackend(session: session, format: format, weights: weights))
            let logits = try engine.logits(try engine.shareInputs(nil, batch: batch), batch: batch)
            return try session.open(logits, to: nil)!
        }, { session in
            let engine = try SecureEngine(program: program, weights: nil, session: session,
                                          linear: InsecureRevealingLinearBackend(session: session, format: format, weights: nil))
            let logits = try engine.logits(try engine.shareInputs(input.elements, batch: batch), batch: batch)
            _ = try session.open(logits, to: nil)
            return 0
        })
        let reference = try FixedPointExecutor(graph: graph, format: format).run(input.elements, batch: batch)
        #expect(vendorLogits == reference)
        // The fixture is chosen so that the bound is reached (and the free side is exceeded) somewhere.
        let bound = try #require(graph.nodes.compactMap { node -> (Float?, Float?)? in
            if case .clip(let lower, let upper) = node.operation { return (lower, upper) } else { return nil }
        }.first)
        let clipped = reference.map { format.decode($0) }
        if let lower = bound.0 { #expect(clipped.contains { abs($0 - Double(lower)) < 1e-9 } && clipped.contains { $0 > 1 }) }
        if let upper = bound.1 { #expect(clipped.contains { abs($0 - Double(upper)) < 1e-9 } && clipped.contains { $0 < -1 }) }
    }

    @Test("engines refuse the wrong party's inputs: the vendor needs weights, the hospital must not have them")
    func wrongGraphs() throws {
        let graph = try ONNXImporter.loadGraph(path: path("Models/mlp-breast-cancer.onnx"))
        let program = try ProgramCompiler.compile(graph, format: .standard)
        let (a, _) = MemoryChannel.pair(timeout: 1)
        let ot = InertOT()
        let vendorSession = TwoPartySession(party: .vendor, channel: a, ot: ot, commonSeed: .zero)
        let hospitalSession = TwoPartySession(party: .hospital, channel: a, ot: ot, commonSeed: .zero)
        final class NoLinear: LinearBackend {
            func linear(_ index: Int, _ instruction: Instruction, _ step: LinearStep, input: ArithmeticShare, batch: Int) throws -> ArithmeticShare { input }
        }
        let weights = try WeightStore(program: program, graph: graph)
        #expect(throws: EngineError.self) { _ = try SecureEngine(program: program, weights: nil, session: vendorSession, linear: NoLinear()) }
        #expect(throws: EngineError.self) { _ = try SecureEngine(program: program, weights: weights, session: hospitalSession, linear: NoLinear()) }
        _ = try SecureEngine(program: program, weights: weights, session: vendorSession, linear: NoLinear())
        _ = try SecureEngine(program: program, weights: nil, session: hospitalSession, linear: NoLinear())
    }
}

/// An OT engine that is never called (for constructor tests).
final class InertOT: ObliviousTransfer {
    func randomSend(count: Int) throws -> (m0: [Block], m1: [Block]) { fatalError() }
    func randomReceive(choices: [Bool]) throws -> [Block] { fatalError() }
    func correlatedSend(deltas: [UInt64], bits: Int) throws -> [UInt64] { fatalError() }
    func correlatedReceive(choices: [Bool], bits: Int) throws -> [UInt64] { fatalError() }
    func chosenSend(m0: [UInt64], m1: [UInt64], bits: Int) throws { fatalError() }
    func chosenReceive(choices: [Bool], bits: Int) throws -> [UInt64] { fatalError() }
    func chosenSend1ofN(messages: [UInt64], n: Int, bits: Int) throws { fatalError() }
    func chosenReceive1ofN(choices: [UInt8], n: Int, bits: Int) throws -> [UInt64] { fatalError() }
}

import Compiler
import CryptoPrimitives
import Engine
import IR
import LinearHE
import Protocols
import RingArithmetic
import Transport

/// The public HE shape of a linear instruction (both parties derive it from the public graph).
func linearShape(_ instruction: Instruction, node: Node, inputShape: [Int]) throws -> (shape: LinearLayerShape, rows: Int) {
    switch node.operation {
    case .convolution(let c):
        return (.convolution(inputChannels: c.inputChannels, height: inputShape[1], width: inputShape[2],
                             outputChannels: c.outputChannels, kernel: c.kernel, strides: c.strides,
                             dilations: c.dilations, pads: c.pads), 1)
    case .fullyConnected(let f):
        // [..., K] per example: every row of K features is one matrix-vector product.
        return (.fullyConnected(inputFeatures: f.inputFeatures, outputFeatures: f.outputFeatures),
                Shape.elementCount(inputShape) / f.inputFeatures)
    case .affine:
        let channels = inputShape.first ?? 1
        let rest = Shape.elementCount(Array(inputShape.dropFirst()))
        return (.channelScale(channels: channels, height: rest, width: 1), 1)
    default:
        throw EngineError.programMismatch("'\(node.name)' is not a linear layer")
    }
}

extension MPCProgram {
    /// Output values per image of the HE linear steps: the coefficients the vendor returns per
    /// image (public; it sets the flooding width, `FloodingSecurity`).
    var linearOutputsPerImage: Int {
        instructions.filter { $0.kind == .linear }.reduce(0) { $0 + Shape.elementCount($1.outputShape) }
    }
}

/// The HE plans of every linear step for the batch sizes a session uses (both parties compute the
/// same list from public data; the client's keys are made for exactly these).
struct LinearPlans {
    /// [instruction index: [batch: plan]].
    var plans: [Int: [Int: LinearLayerPlan]] = [:]

    /// κ, the statistical security of the noise flooding per returned coefficient, chosen from the
    /// session's public size (`FloodingSecurity`: 40 bits for the whole session by the union bound).
    let statisticalBits: Int
    /// Output values the linear layers return per image (public).
    let coefficientsPerImage: Int

    /// Plans for a session of `images` images in batches of the given sizes.
    init(program: MPCProgram, graph: Graph, batchSizes: Set<Int>, images: Int) throws {
        let nodes = Dictionary(graph.nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var shapes: [String: [Int]] = [program.inputName: program.inputShape]
        var layers: [(index: Int, shape: LinearLayerShape, rows: Int, weightBits: Int)] = []
        for (index, instruction) in program.instructions.enumerated() {
            defer { shapes[instruction.output] = instruction.outputShape }
            guard instruction.kind == .linear, let node = nodes[instruction.node] else { continue }
            guard let weightBits = instruction.weightBits else {
                throw EngineError.programMismatch("linear step '\(instruction.node)' has no public weight bound")
            }
            let (shape, rows) = try linearShape(instruction, node: node, inputShape: shapes[instruction.inputs[0]]!)
            layers.append((index, shape, rows, weightBits))
        }
        coefficientsPerImage = program.linearOutputsPerImage
        guard let kappa = FloodingSecurity.statisticalBits(images: images, coefficientsPerImage: coefficientsPerImage) else {
            throw EngineError.programMismatch("a session of \(images) images returns more than 2^60 HE coefficients; split the test set")
        }
        statisticalBits = kappa
        for layer in layers {
            for batch in batchSizes {
                plans[layer.index, default: [:]][batch] = try LinearLayerPlan(shape: layer.shape, batch: batch * layer.rows,
                                                                               plaintextBits: program.ringBits, weightBits: layer.weightBits,
                                                                               statisticalBits: kappa)
            }
        }
    }

    var all: [LinearLayerPlan] { plans.values.flatMap { $0.values } }
}

/// The vendor's linear backend: Cheetah-style HE products with its weights (encoded at scale s),
/// plus its bias at scale 2s.
///
/// A layer's kernels are prepared (encoded and NTT-transformed) when the layer first runs, and kept
/// for the next batches while the kept kernels stay within `preparedBudgetBytes`; beyond it a layer
/// is prepared again each time it runs. A one-image DenseNet-121 would otherwise hold every
/// layer's kernels at once (~15 GB); a small model keeps them all.
final class VendorHELinearBackend: LinearBackend {
    private let session: LinearHEServerSession
    private let channel: any Channel
    private let plans: LinearPlans
    private var weights: [Int: [Int64]] = [:]
    private var servers: [Int: [Int: LinearLayerServer]] = [:]
    private var preparedBytes = 0
    /// Most bytes of prepared kernels kept between batches (tests lower it to exercise re-preparing;
    /// either way the results are the same).
    nonisolated(unsafe) static var preparedBudgetBytes = 2 << 30
    private var biases: [Int: [Int64]] = [:]
    private let indexOfNode: [String: Int]
    private let prg = AESPRG()

    init(program: MPCProgram, graph: Graph, plans: LinearPlans, channel: any Channel) throws {
        self.channel = channel
        self.plans = plans
        let format = try FixedPointFormat(ringBits: program.ringBits, scale: program.scale)
        func encode(_ values: [Float], power: Int, node: String) throws -> [Int64] {
            try values.map {
                guard let v = format.encode(Double($0), power: power) else {
                    throw EngineError.programMismatch("a weight of '\(node)' does not fit \(format)")
                }
                return v
            }
        }
        let nodes = Dictionary(graph.nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var indexOfNode: [String: Int] = [:]
        for index in plans.plans.keys {
            let instruction = program.instructions[index]
            let node = nodes[instruction.node]!
            indexOfNode[instruction.node] = index
            let weights: [Int64]
            switch node.operation {
            case .convolution(let c):
                weights = try encode(c.weight.values, power: 1, node: node.name)
                biases[index] = try encode(c.bias?.values ?? [], power: 2, node: node.name)
            case .fullyConnected(let f):
                weights = try encode(f.weight.values, power: 1, node: node.name)
                biases[index] = try encode(f.bias?.values ?? [], power: 2, node: node.name)
            case .affine(let a):
                let channels = instruction.outputShape.first ?? 1
                let scale = a.scale!.elementCount == 1 ? [Float](repeating: a.scale!.values[0], count: channels) : a.scale!.values
                weights = try encode(scale, power: 1, node: node.name)
                if let shift = a.shift {
                    biases[index] = try encode(shift.elementCount == 1 ? [Float](repeating: shift.values[0], count: channels) : shift.values,
                                               power: 2, node: node.name)
                } else {
                    biases[index] = []
                }
            default:
                throw EngineError.programMismatch("'\(node.name)' is not a linear layer")
            }
            self.weights[index] = weights
        }
        self.indexOfNode = indexOfNode
        session = try LinearHEServerSession(plans: plans.all, channel: channel)
    }

    func linear(_ instruction: Instruction, node: Node, input: ArithmeticShare, batch: Int) throws -> ArithmeticShare {
        guard let index = indexOfNode[instruction.node], let plan = plans.plans[index]?[batch], let layerWeights = weights[index] else {
            throw EngineError.programMismatch("no plan for '\(instruction.node)' at batch \(batch)")
        }
        let server: LinearLayerServer
        if let kept = servers[index]?[batch] {
            server = kept
        } else {
            server = try LinearLayerServer(plan: plan, weights: layerWeights)
            if preparedBytes + server.kernelBytes <= Self.preparedBudgetBytes {
                servers[index, default: [:]][batch] = server
                preparedBytes += server.kernelBytes
            }
        }
        var out = try server.run(share: input.values, session: session, channel: channel, prg: prg)
        let bias = biases[index] ?? []
        if !bias.isEmpty {
            // Bias per output channel (conv, affine: channel = first per-example axis) or per output
            // feature (fully connected: the last axis).
            let perExample = Shape.elementCount(instruction.outputShape)
            let isFullyConnected: Bool = { if case .fullyConnected = node.operation { return true }; return false }()
            let inner = isFullyConnected ? 1 : perExample / bias.count
            for i in out.indices {
                let within = i % perExample
                let channel = isFullyConnected ? within % bias.count : within / inner
                out[i] = (out[i] &+ UInt64(bitPattern: bias[channel])) & input.mask
            }
        }
        return ArithmeticShare(bits: input.bits, values: out)
    }
}

/// The hospital's linear backend: encrypts its share, decrypts its masked share of W·x.
final class HospitalHELinearBackend: LinearBackend {
    private let session: LinearHEClientSession
    private let channel: any Channel
    private let plans: LinearPlans
    private let indexOfNode: [String: Int]
    private let prg = AESPRG()

    init(program: MPCProgram, plans: LinearPlans, channel: any Channel) throws {
        self.channel = channel
        self.plans = plans
        var indexOfNode: [String: Int] = [:]
        for index in plans.plans.keys { indexOfNode[program.instructions[index].node] = index }
        self.indexOfNode = indexOfNode
        session = try LinearHEClientSession(plans: plans.all, channel: channel, prg: prg)
    }

    func linear(_ instruction: Instruction, node: Node, input: ArithmeticShare, batch: Int) throws -> ArithmeticShare {
        guard let index = indexOfNode[instruction.node], let plan = plans.plans[index]?[batch] else {
            throw EngineError.programMismatch("no plan for '\(instruction.node)' at batch \(batch)")
        }
        let out = try LinearLayerClient(plan: plan).run(share: input.values, session: session, channel: channel, prg: prg)
        return ArithmeticShare(bits: input.bits, values: out)
    }
}

import Compiler
import CryptoPrimitives
import Engine
import LinearHE
import Protocols
import RingArithmetic
import Transport

/// The engine's linear backends on Cheetah-style HE (`LinearHE`): the adapter between the secure
/// program's linear steps and the HE layer protocol, for both parties.
///
/// The HE plans of every linear step for the batch sizes a session uses (both parties compute the
/// same list from public data; the client's keys are made for exactly these).
public struct LinearPlans: Sendable {
    /// [instruction index: [batch: plan]].
    public private(set) var plans: [Int: [Int: LinearLayerPlan]] = [:]

    /// κ, the statistical security of the noise flooding per returned coefficient, chosen from the
    /// session's public size (`FloodingSecurity`: 40 bits for the whole session by the union bound).
    public let statisticalBits: Int
    /// Output values the linear layers return per image (public).
    public let coefficientsPerImage: Int
    /// [instruction index: [batch: leading channels whose ciphertexts the vendor already holds]]:
    /// a step's `ChannelReuse` applies at a batch size only when the last per-channel-scale step
    /// before it with the same HE input layout is its source (the HE server session keeps one
    /// call's inputs per layout). Derived from public data alone, the same on both sides.
    public private(set) var reusedChannels: [Int: [Int: Int]] = [:]

    /// Plans for a session of `images` images in batches of the given sizes, from the program's
    /// linear steps alone (the compiler's mapping of model layers to HE layers is the only one).
    public init(program: MPCProgram, batchSizes: Set<Int>, images: Int) throws {
        var layers: [(index: Int, shape: LinearLayerShape, rows: Int, weightBits: Int)] = []
        for (index, instruction) in program.instructions.enumerated() {
            guard let step = instruction.linear else { continue }
            guard let weightBits = step.weightBits else {
                throw EngineError.programMismatch("linear step '\(instruction.node)' has no public weight bound")
            }
            layers.append((index, step.shape, step.rows, weightBits))
        }
        coefficientsPerImage = program.linearOutputsPerImage
        guard let kappa = FloodingSecurity.statisticalBits(images: images, coefficientsPerImage: coefficientsPerImage) else {
            throw EngineError.programMismatch("a session of \(images) images returns more than 2^60 HE coefficients; split the test set")
        }
        statisticalBits = kappa
        for layer in layers {
            for batch in batchSizes {
                plans[layer.index, default: [:]][batch] = try LinearLayerPlan(
                    shape: layer.shape, batch: batch * layer.rows, plaintextBits: program.ringBits, weightBits: layer.weightBits,
                    statisticalBits: kappa, reusableChannels: program.instructions[layer.index].linear?.reuse?.channels ?? 0)
            }
        }
        for batch in batchSizes {
            var lastWithLayout: [String: Int] = [:]
            for layer in layers {
                guard let plan = plans[layer.index]?[batch], plan.isDiagonal else { continue }
                let key = plan.inputLayoutKey
                if let reuse = program.instructions[layer.index].linear?.reuse, lastWithLayout[key] == reuse.source {
                    reusedChannels[layer.index, default: [:]][batch] = reuse.channels
                }
                lastWithLayout[key] = layer.index
            }
        }
    }

    /// Leading channels of step `index` at `batch` not to send again (0: none).
    public func reused(_ index: Int, batch: Int) -> Int { reusedChannels[index]?[batch] ?? 0 }

    /// Every plan (the HE sessions make keys for exactly these).
    public var all: [LinearLayerPlan] { plans.values.flatMap { $0.values } }
}

/// The vendor's linear backend: Cheetah-style HE products with its weights (encoded at scale s),
/// plus its bias at scale 2s. The kernels come from the process's `PreparedModel`, shared with the
/// other lanes and sessions.
public final class VendorHELinearBackend: LinearBackend {
    private let session: LinearHEServerSession
    private let channel: any Channel
    private let plans: LinearPlans
    private let model: PreparedModel
    private let prg = AESPRG()

    public init(model: PreparedModel, plans: LinearPlans, channel: any Channel) throws {
        self.channel = channel
        self.plans = plans
        self.model = model
        session = try LinearHEServerSession(plans: plans.all, channel: channel)
    }

    public func linear(_ index: Int, _ instruction: Instruction, _ step: LinearStep, input: ArithmeticShare, batch: Int) throws -> ArithmeticShare {
        guard let plan = plans.plans[index]?[batch], case .linear(_, let bias) = model.weights[index] else {
            throw EngineError.programMismatch("no plan or weights for step \(index) ('\(instruction.node)') at batch \(batch)")
        }
        let server = try model.layer(index, batch: batch, plan: plan)
        var out = try server.run(share: input.values, session: session, channel: channel, prg: prg,
                                 reusingChannels: plans.reused(index, batch: batch))
        if !bias.isEmpty {
            // Bias per output channel (per-example axis 0) or per output feature (the last axis).
            let perExample = Shape.elementCount(instruction.outputShape)
            let perFeature = step.biasAxis == .lastAxis
            let inner = perFeature ? 1 : perExample / bias.count
            for i in out.indices {
                let within = i % perExample
                let channel = perFeature ? within % bias.count : within / inner
                out[i] = (out[i] &+ UInt64(bitPattern: bias[channel])) & input.mask
            }
        }
        return ArithmeticShare(bits: input.bits, values: out)
    }
}

/// The hospital's linear backend: encrypts its share, decrypts its masked share of W·x.
public final class HospitalHELinearBackend: LinearBackend {
    private let session: LinearHEClientSession
    private let channel: any Channel
    private let plans: LinearPlans
    private let prg = AESPRG()

    public init(plans: LinearPlans, channel: any Channel) throws {
        self.channel = channel
        self.plans = plans
        session = try LinearHEClientSession(plans: plans.all, channel: channel, prg: prg)
    }

    public func linear(_ index: Int, _ instruction: Instruction, _ step: LinearStep, input: ArithmeticShare, batch: Int) throws -> ArithmeticShare {
        guard let plan = plans.plans[index]?[batch] else {
            throw EngineError.programMismatch("no plan for step \(index) ('\(instruction.node)') at batch \(batch)")
        }
        let out = try LinearLayerClient(plan: plan).run(share: input.values, session: session, channel: channel, prg: prg,
                                                        reusingChannels: plans.reused(index, batch: batch))
        return ArithmeticShare(bits: input.bits, values: out)
    }
}

import Compiler
import Engine
import Foundation
import LinearHE

/// The vendor's model, prepared once per process: the compiled secure program, its private
/// `WeightStore`, and the HE kernels of its linear steps (weights encoded and NTT-transformed for a
/// layer's HE plan), shared by every lane of every session.
///
/// Contract: vendor only; nothing in it is sent. Kernels are prepared when a layer first runs under
/// a plan and kept while the kept kernels stay within `kernelBudgetBytes`; beyond the budget a
/// layer is prepared again each time it runs (a one-image DenseNet-121 would otherwise hold ~15 GB
/// of kernels; a small model keeps them all). Either way the results are the same. Thread-safe:
/// lanes and sessions on other threads ask for kernels at the same time.
public final class PreparedModel: @unchecked Sendable {
    /// The program with the default metric stage (a session sets the metric the hospital asks for).
    public let program: MPCProgram
    public let weights: WeightStore
    /// Most bytes of prepared kernels kept between uses.
    public let kernelBudgetBytes: Int

    /// A layer's kernels depend on its plan, which a program fixes up to the batch size and the
    /// session's flooding width κ.
    private struct Key: Hashable {
        var instruction: Int
        var batch: Int
        var statisticalBits: Int
    }

    private let lock = NSLock()
    private var kept: [Key: LinearLayerServer] = [:]
    private var keptBytes = 0
    private var preparationCount = 0

    public init(program: MPCProgram, weights: WeightStore, kernelBudgetBytes: Int = 2 << 30) {
        self.program = program
        self.weights = weights
        self.kernelBudgetBytes = max(0, kernelBudgetBytes)
    }

    /// How many times a layer's kernels were prepared so far (once per layer and plan when they all
    /// fit the budget).
    public var preparations: Int { lock.withLock { preparationCount } }

    /// Bytes of the kernels kept now.
    public var keptKernelBytes: Int { lock.withLock { keptBytes } }

    /// The prepared layer for linear step `index` under `plan` (for batches of `batch` images in a
    /// session flooding with `plan.statisticalBits`).
    func layer(_ index: Int, batch: Int, plan: LinearLayerPlan) throws -> LinearLayerServer {
        guard case .linear(let layerWeights, _) = weights[index] else {
            throw EngineError.programMismatch("the vendor's model has no weights for linear step \(index)")
        }
        let key = Key(instruction: index, batch: batch, statisticalBits: plan.statisticalBits)
        // Preparing under the lock: a lane that needs the same layer would wait for it anyway, and
        // preparation already uses every core.
        return try lock.withLock {
            if let server = kept[key] { return server }
            let server = try LinearLayerServer(plan: plan, weights: layerWeights)
            preparationCount += 1
            if keptBytes + server.kernelBytes <= kernelBudgetBytes {
                kept[key] = server
                keptBytes += server.kernelBytes
            }
            return server
        }
    }
}

import Compiler
import HEBackend
import LinearHE
import ONNX
import RingArithmetic
import Testing
import TestSupport

@Suite("HE plans of a program")
struct LinearPlansTests {
    func digits() throws -> MPCProgram {
        let graph = try ONNXImporter.loadGraph(path: path("Models/densenet-digits.onnx"))
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        return try ProgramCompiler.compile(graph, format: format, weightBits: ProgramCompiler.weightBits(of: graph, format: format))
    }

    @Test("a step's channel reuse applies exactly when its source is the last per-channel scale with the same HE input layout")
    func reuseFollowsTheServerCache() throws {
        let program = try digits()
        let plans = try LinearPlans(program: program, batchSizes: [64, 40, 1], images: 360)
        var applied = 0
        for batch in [64, 40, 1] {
            // Replay what the vendor's HE session caches: the inputs of the last per-channel-scale call per layout.
            var cached: [String: Int] = [:]
            for (index, instruction) in program.instructions.enumerated() {
                guard let plan = plans.plans[index]?[batch], plan.isDiagonal else { continue }
                let expected = instruction.linear?.reuse.flatMap { cached[plan.inputLayoutKey] == $0.source ? $0.channels : nil } ?? 0
                #expect(plans.reused(index, batch: batch) == expected, "step \(index) at batch \(batch)")
                if expected > 0 { applied += 1 }
                cached[plan.inputLayoutKey] = index
            }
        }
        #expect(applied > 0, "densenet-digits' BatchNorms after a Concat reuse the hospital's ciphertexts")

        // The same program without the compiler's marks reuses nothing.
        var unmarked = program
        for i in unmarked.instructions.indices {
            if var step = unmarked.instructions[i].linear { step.reuse = nil; unmarked.instructions[i].step = .linear(step) }
        }
        let none = try LinearPlans(program: unmarked, batchSizes: [64], images: 360)
        #expect(none.reusedChannels.isEmpty)
    }
}

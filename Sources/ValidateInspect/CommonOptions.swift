import ArgumentParser
@_exported import CLISupport
import Foundation
import IR
import ONNX
import RingArithmetic

/// Fixed-point parameters shared by the commands that compute in the ring.
struct FixedPointOptions: ParsableArguments {
    @Option(name: .customLong("ring-bits"), help: "Ring width ℓ: values live in Z_2^ℓ (2…64).")
    var ringBits: Int = FixedPointFormat.standard.ringBits

    @Option(help: "Fixed-point scale s: number of fractional bits (2s < ℓ).")
    var scale: Int = FixedPointFormat.standard.scale

    func validate() throws {
        _ = try format()
    }

    func format() throws -> FixedPointFormat {
        do {
            return try FixedPointFormat(ringBits: ringBits, scale: scale)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Loads and imports a model.
func loadModel(_ path: String) throws -> Graph {
    try ONNXImporter.loadGraph(path: path)
}

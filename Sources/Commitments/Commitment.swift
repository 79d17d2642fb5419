import COpenSSL
import CryptoPrimitives
import Datasets
import Foundation
import IR
import RingArithmetic

/// SHA-256 commitments that bind a validation to exactly one model and one test set.
///
/// - The **model commitment** is SHA-256 over a canonical serialisation of the IR (the
///   weight-stripped graph as JSON with sorted keys) followed by every weight as the vendor's engine
///   uses it: encoded at scale s (biases at 2s) as little-endian Int64, node by node in graph order.
///   It therefore depends on (ℓ, s), which it includes.
/// - The **dataset commitment** is SHA-256 over the example shape, the count, every feature as a
///   little-endian float32 and every label as a little-endian int64, in order — the same for a
///   `.npy` folder and a CSV file holding the same values.
///
/// Both are binding (a party cannot later claim another model or test set). They are not salted:
/// they hide the committed data only as far as it is unpredictable (weights and medical images
/// are); `validate-inspect hash` recomputes them so a party can prove to an auditor which model or
/// test set was used, by revealing it.
public enum Commitment {
    /// The model commitment for weights encoded with `format`; the vendor needs the weights.
    public static func model(_ graph: Graph, format: FixedPointFormat) throws -> String {
        let hasher = IncrementalSHA256()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        hasher.update(Array("securevalidation-model-v1 ℓ=\(format.ringBits) s=\(format.scale)\n".utf8))
        hasher.update([UInt8](try encoder.encode(graph.strippingWeights())))
        for node in graph.nodes {
            var tensors: [(Tensor, Int)] = []
            switch node.operation {
            case .convolution(let c): tensors = [(c.weight, 1)] + (c.bias.map { [($0, 2)] } ?? [])
            case .fullyConnected(let f): tensors = [(f.weight, 1)] + (f.bias.map { [($0, 2)] } ?? [])
            case .affine(let a):
                tensors = (a.scale.map { [($0, 1)] } ?? []) + (a.shift.map { [($0, a.scale == nil ? 1 : 2)] } ?? [])
            default: continue
            }
            for (tensor, power) in tensors {
                let encoded = tensor.values.map { (format.encode(Double($0), power: power) ?? 0).littleEndian }
                encoded.withUnsafeBytes { hasher.update($0) }
            }
        }
        return hasher.finalHex()
    }

    /// The dataset commitment, read in batches (memory bounded by one batch).
    public static func dataset(_ dataset: any Dataset, batchSize: Int = 1024) throws -> String {
        let hasher = IncrementalSHA256()
        hasher.update(Array("securevalidation-dataset-v1 shape=\(dataset.featureShape) count=\(dataset.count)\n".utf8))
        try dataset.forEachBatch(size: batchSize) { _, batch in
            let features = batch.features.map { $0.bitPattern.littleEndian }
            features.withUnsafeBytes { hasher.update($0) }
            let labels = batch.labels.map { Int64($0).littleEndian }
            labels.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalHex()
    }

    /// The session identifier both parties record: the handshake's session id bound to both
    /// commitments and the program digest.
    public static func boundSessionID(handshake: String, model: String, dataset: String, program: String) -> String {
        let hasher = IncrementalSHA256()
        hasher.update(Array("securevalidation-session-v1\n\(handshake)\n\(model)\n\(dataset)\n\(program)".utf8))
        return hasher.finalHex()
    }
}

/// Streaming SHA-256 through OpenSSL EVP.
final class IncrementalSHA256 {
    private let context: OpaquePointer

    init() {
        guard let ctx = EVP_MD_CTX_new(), EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else {
            fatalError("OpenSSL SHA-256 is unavailable")
        }
        context = ctx
    }

    deinit { EVP_MD_CTX_free(context) }

    func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else { fatalError("EVP_DigestUpdate failed") }
    }

    func finalHex() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &out, &length) == 1 else { fatalError("EVP_DigestFinal_ex failed") }
        return out.map { String(format: "%02x", $0) }.joined()
    }
}

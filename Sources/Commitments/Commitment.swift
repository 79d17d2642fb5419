import COpenSSL
import CryptoPrimitives
import Datasets
import Compiler
import Foundation
import IR
import RingArithmetic

/// A commitment's salt: 256 random bits from the OS CSPRNG, kept in the committing party's own
/// ledger and shown only to an auditor (with `validate-inspect hash --salt`).
public struct CommitmentSalt: Sendable, Equatable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]

    /// A fresh salt.
    public static func random() -> CommitmentSalt { CommitmentSalt(checked: SecureRandom.bytes(byteCount)) }

    /// A salt from its 64 hex digits (any case); nil for anything else.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 2 * Self.byteCount else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    private init(checked bytes: [UInt8]) { self.bytes = bytes }

    /// Lowercase hex, as ledgers store it.
    public var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }
    public var description: String { hex }
}

/// Salted SHA-256 commitments that bind a validation to exactly one model and one test set:
/// C = SHA-256(domain ‖ salt ‖ data), with a 256-bit salt only the committing party holds.
///
/// - The **model commitment** covers the model's secure program and its weight store: the
///   program's canonical encoding (`ProgramEncoding`: ℓ, s, every instruction with every public
///   operand, including the public weight bounds) with the session's own choices set to fixed
///   values (metric stage `accuracy`, OT engine `silent`, no format reason: a hospital's metric
///   does not change the model), then every entry of the `WeightStore` in instruction order
///   (index, kind, lengths, values as little-endian Int64: weights at scale s, biases at 2s). So it
///   commits to exactly what the vendor's engine runs, not to an interpretation of the ONNX file.
///   The vendor keeps one salt per model (in its ledger), so the same model gets the same
///   commitment in every session — a hospital can pin it (`--expect-model`) — while nobody
///   without the salt can test a guess (a public checkpoint) against it.
/// - The **dataset commitment** covers the example shape, the count, every feature as a
///   little-endian float32 and every label as a little-endian int64, in order — the same for a
///   `.npy` folder and a CSV file holding the same values. The hospital draws a fresh salt per
///   validation (a resume reuses its first run's), so the vendor can neither confirm a guessed
///   test set (a public benchmark) nor link two validations on the same set.
///
/// What a commitment proves, and to whom: both parties record both commitments with every session
/// (bound into its id); later, the owner can prove to an auditor which model or test set a session
/// used by showing the auditor the data and the salt, and the auditor recomputes the commitment
/// (`validate-inspect hash --salt`). Binding: SHA-256 collision resistance (128 bits); hiding:
/// the salt makes the commitment independent of the data for anyone without it.
public enum Commitment {
    /// The model commitment of a compiled program and its weight store (what the vendor runs).
    public static func model(program: MPCProgram, weights: WeightStore, salt: CommitmentSalt) -> String {
        let hasher = IncrementalSHA256()
        hasher.update(Array("securevalidation-model-v3\n".utf8))
        hasher.update(salt.bytes)
        hashModel(program: program, weights: weights, into: hasher)
        return hasher.finalHex()
    }

    /// The model commitment of `graph` in `format`: compiles its program and weight store exactly
    /// as `validate-serve` does, then commits to them (for `validate-inspect hash` and tests).
    public static func model(_ graph: Graph, format: FixedPointFormat, salt: CommitmentSalt) throws -> String {
        let (program, weights) = try compiled(graph, format: format)
        return model(program: program, weights: weights, salt: salt)
    }

    /// An unsalted digest of the same content: the vendor's own key for the model's salt in its
    /// ledger. Never sent to anyone (it is not hiding).
    public static func modelDigest(program: MPCProgram, weights: WeightStore) -> String {
        let hasher = IncrementalSHA256()
        hasher.update(Array("securevalidation-model-digest-v3\n".utf8))
        hashModel(program: program, weights: weights, into: hasher)
        return hasher.finalHex()
    }

    /// `modelDigest(program:weights:)` of `graph` compiled in `format`.
    public static func modelDigest(_ graph: Graph, format: FixedPointFormat) throws -> String {
        let (program, weights) = try compiled(graph, format: format)
        return modelDigest(program: program, weights: weights)
    }

    private static func compiled(_ graph: Graph, format: FixedPointFormat) throws -> (MPCProgram, WeightStore) {
        let program = try ProgramCompiler.compile(graph, format: format,
                                                  weightBits: ProgramCompiler.weightBits(of: graph, format: format))
        return (program, try WeightStore(program: program, graph: graph))
    }

    private static func hashModel(program: MPCProgram, weights: WeightStore, into hasher: IncrementalSHA256) {
        var model = program.with(metric: .accuracy)
        model.scoreThresholds = nil  // part of the session's metric stage, not of the model
        model.otEngine = .silent
        model.formatReason = ""
        hasher.update(ProgramEncoding.encode(model))
        func word(_ value: Int) { withUnsafeBytes(of: Int64(value).littleEndian) { hasher.update($0) } }
        func values(_ v: [Int64]) {
            word(v.count)
            v.map(\.littleEndian).withUnsafeBytes { hasher.update($0) }
        }
        for index in weights.entries.keys.sorted() {
            word(index)
            switch weights.entries[index]! {
            case .linear(let w, let bias):
                word(0); values(w); values(bias)
            case .constant(let c):
                word(1); values(c)
            case .signedShift(let negate, let shift):
                word(2); values(negate.map { $0 ? 1 : 0 }); values(shift)
            }
        }
    }

    /// The dataset commitment, read in batches (memory bounded by one batch).
    public static func dataset(_ dataset: any Dataset, salt: CommitmentSalt, batchSize: Int = 1024) throws -> String {
        let hasher = IncrementalSHA256()
        hasher.update(Array("securevalidation-dataset-v2\n".utf8))
        hasher.update(salt.bytes)
        // A multi-label set also binds its labels per example (single-label sets hash as before).
        let labelWidth = dataset.labelWidth == 1 ? "" : " labels=\(dataset.labelWidth)"
        if let files = dataset as? any PreprocessedDataset {
            // An image folder: its labels file and image files as the hospital holds them (the
            // features are the public preprocessing of these, bound by the program digest).
            hasher.update(Array("files count=\(dataset.count)\(labelWidth)\n".utf8))
            try files.commitmentContent { hasher.update($0) }
            return hasher.finalHex()
        }
        hasher.update(Array("shape=\(dataset.featureShape) count=\(dataset.count)\(labelWidth)\n".utf8))
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

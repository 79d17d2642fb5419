import Foundation

/// What a model's scores mean: one class among C (`singleLabel`, the argmax is the prediction) or
/// C independent findings (`multiLabel`, a final Sigmoid per score). Public to both parties, part
/// of the program; a model that ends in a Sigmoid is multi-label.
public enum ModelTask: String, Sendable, Codable, Equatable, CaseIterable {
    case singleLabel = "single-label"
    case multiLabel = "multi-label"
}

/// A metric computed from every image's scores (not from per-image correctness counts): the
/// clinical metrics. Text forms `auroc`, `sens-spec`, `confusion` (CLI and JSON).
public enum ScoreMetric: String, Sendable, Codable, Equatable, CaseIterable {
    /// Per finding (per class, one-vs-rest, for a single-label model): the exact Mann–Whitney
    /// AUROC, ties counted ½; and the macro mean.
    case auroc
    /// Per finding: sensitivity and specificity at the declared operating thresholds.
    case sensSpec = "sens-spec"
    /// A single-label model's C×C confusion matrix (row = true class, column = prediction).
    case confusion
    /// Every image's scores, opened to the hospital only (encrypted predictions); the vendor
    /// learns the number of images and nothing else.
    case predictions
}

/// What the vendor declares about its model's outputs, read from the ONNX file's metadata and
/// public to both parties (they are part of the program both hash):
/// - `findings`: one name per output (metadata `findings`, comma-separated), else nil (outputs are
///   named by their index);
/// - `thresholds`: one operating threshold per output (metadata `thresholds`, comma-separated) on
///   the model's *declared* output scale: a probability in (0, 1) after a final Sigmoid, the raw
///   score otherwise. Nil when the model declares none.
public struct OutputDeclarations: Sendable, Codable, Equatable {
    public var findings: [String]?
    public var thresholds: [Double]?

    public init(findings: [String]? = nil, thresholds: [Double]? = nil) {
        self.findings = findings
        self.thresholds = thresholds
    }

    /// The name of output `index`: the declared finding, or its index.
    public func name(ofOutput index: Int) -> String {
        if let findings, index < findings.count { return findings[index] }
        return String(index)
    }
}

extension ModelTask {
    /// A declared threshold on the model's output scale as a threshold on its scores (the secure
    /// program's output, before the final Sigmoid): for a multi-label model a probability t
    /// becomes the logit ln(t / (1 − t)); for a single-label model it is the score itself.
    public func scoreThreshold(declared t: Double) -> Double {
        self == .multiLabel ? Foundation.log(t / (1 - t)) : t
    }
}

extension Graph {
    /// `multiLabel` when the model ends in a Sigmoid, else `singleLabel`.
    public var task: ModelTask { endsInSigmoid ? .multiLabel : .singleLabel }
}

import IR

/// What a validation measures and what it opens: public to both parties and part of the secure
/// program (its last stage), so both run and hash the same metric.
///
/// Contract, count metrics (`scores` nil): `correct` says which images count (the label among the
/// k largest logits); `opening` says what of the shared count is opened to both parties — the
/// count itself, or only the bit count ≥ ⌈τ·N⌉. Clinical metrics (`scores` set): every image's
/// scores stay shared until the end, and only the metric's values are opened — per finding the
/// AUROC quotient ⌊2^20·AUROC⌋ (`auroc`), the sensitivity and specificity quotients (`sens-spec`),
/// or the C×C confusion counts (`confusion`). Nothing else about the images is ever opened. One
/// text form, used on the wire, in the ledger and by the CLIs: `accuracy`, `threshold:τ`, `top5`,
/// `top5 threshold:τ`, `auroc`, `sens-spec`, `confusion`; a count metric may end in ` dp:ε`
/// (differentially private opening).
public struct Metric: Sendable, Hashable, Codable, LosslessStringConvertible {
    /// Which images count as correct (count metrics).
    public var correct: Correctness
    /// What is opened (count metrics).
    public var opening: Opening
    /// A clinical metric computed from every image's scores; nil for the count metrics.
    public var scores: ScoreMetric?
    /// `auroc` with `opening` `.atLeast(τ)`: one bit for all findings (every defined AUROC ≥ τ)
    /// instead of one bit per finding.
    public var allFindings = false
    /// `sens-spec`: the hospital's operating thresholds (one per output, on the model's output
    /// scale), instead of the model's declared ones; nil: the declared ones. Part of the text form
    /// (`sens-spec thresholds:0.5,0.25`), so the ledger keeps them and a resume reuses them.
    public var thresholds: [Double]?
    /// Differential privacy of a count metric: ε in millionths (ε = `dpMicroEpsilon` / 10^6); each
    /// party adds its own discrete Laplace noise of scale 1/ε to its share of the count before it is
    /// opened (`DiscreteLaplace`), so the opened count is ε-DP even towards a party that knows its
    /// own noise. Part of the text form (`accuracy dp:0.5`, `top5 dp:1.0`, `sens-spec dp:1.0`): count
    /// openings and sens-spec's counts only. Sensitivity (one image added or removed): 1 for a count,
    /// 2 per finding for sens-spec's 4C counts (`dpSensitivity`).
    public var dpMicroEpsilon: Int?

    /// The L1 sensitivity of what a DP opening releases, for C outputs: 1 for a count; 2C for
    /// sens-spec's counts (an image is in at most one of P, N and one of TP, TN per finding).
    public func dpSensitivity(classes: Int) -> Int { scores == .sensSpec ? 2 * classes : 1 }

    /// ε of `dpMicroEpsilon`, or nil.
    public var dpEpsilon: Double? { dpMicroEpsilon.map { Double($0) / 1e6 } }

    /// The largest ε offered (beyond it the noise is mostly 0 and "privacy" is a label).
    public static let maximumDPEpsilon = 10.0

    /// ε as millionths, or nil when it is not in (0, 10] with at most six decimals.
    public static func dpMicroEpsilon(_ epsilon: Double) -> Int? {
        guard epsilon.isFinite, epsilon > 0, epsilon <= maximumDPEpsilon else { return nil }
        let micro = (epsilon * 1e6).rounded()
        guard micro >= 1, abs(epsilon * 1e6 - micro) < 1e-6 else { return nil }
        return Int(micro)
    }

    /// This metric with differential privacy at ε: count metrics whose count is opened (accuracy,
    /// topK), and `sens-spec`, which then opens noisy counts (TP, TN, P, N per finding) instead of
    /// the exact ratios; nil otherwise (a threshold bit, AUROC, confusion, predictions).
    public func withDP(epsilon: Double) -> Metric? {
        guard scores == nil || scores == .sensSpec, opening == .count, let micro = Self.dpMicroEpsilon(epsilon) else { return nil }
        var metric = self
        metric.dpMicroEpsilon = micro
        return metric
    }

    /// Top-1 accuracy, the count opened.
    public static let accuracy = Metric(correct: .top1, opening: .count)

    /// The metric a program is compiled with when none is asked yet (the vendor's own program,
    /// plans, hashes): accuracy for a single-label model, AUROC for a multi-label one.
    public static func defaultMetric(for task: ModelTask) -> Metric {
        task == .multiLabel ? Metric(scores: .auroc) : .accuracy
    }

    public init(correct: Correctness = .top1, opening: Opening = .count) {
        self.correct = correct
        self.opening = opening
    }

    /// A clinical metric.
    public init(scores: ScoreMetric) {
        self.init()
        self.scores = scores
    }

    /// Sensitivity and specificity at the hospital's `thresholds` (nil: the model's declared ones).
    public static func sensSpec(thresholds: [Double]?) -> Metric {
        var metric = Metric(scores: .sensSpec)
        metric.thresholds = thresholds
        return metric
    }

    /// τ of an `.atLeast` opening, else nil.
    public var openingThreshold: Double? {
        if case .atLeast(let tau) = opening { return tau }
        return nil
    }

    /// Only whether each finding's AUROC is ≥ τ (one bit per finding), or with `allFindings`
    /// whether every finding's is (one bit). A finding without positives or negatives fails.
    public static func aurocAtLeast(_ tau: Double, allFindings: Bool = false) -> Metric {
        var metric = Metric(scores: .auroc)
        metric.opening = .atLeast(threshold: tau)
        metric.allFindings = allFindings
        return metric
    }

    /// An image counts when its label is among the `k` largest logits (ties ranked as the argmax
    /// ranks them: lowest index first); k = 1 is the argmax.
    public struct Correctness: Sendable, Hashable, LosslessStringConvertible {
        public let k: Int
        public static let top1 = Correctness(uncheckedK: 1)

        /// nil unless k ≥ 1.
        public init?(k: Int) {
            guard k >= 1 else { return nil }
            self.k = k
        }

        private init(uncheckedK k: Int) { self.k = k }

        /// `accuracy` (k = 1) or `topK` (e.g. `top5`).
        public init?(_ description: String) {
            if description == "accuracy" { self = .top1; return }
            guard description.hasPrefix("top"), let k = Int(description.dropFirst(3)), k >= 1,
                  "top\(k)" == description else { return nil }
            self.k = k
        }

        public var description: String { k == 1 ? "accuracy" : "top\(k)" }
    }

    /// What of the shared count is opened.
    public enum Opening: Sendable, Hashable, LosslessStringConvertible {
        /// The number of correct images (and so the accuracy).
        case count
        /// Only whether count / N ≥ τ, for τ in [0, 1] (the count needed is `ThresholdCount.needed`).
        case atLeast(threshold: Double)

        /// `accuracy` (the count) or `threshold:τ` with τ in [0, 1].
        public init?(_ description: String) {
            if description == "accuracy" { self = .count; return }
            guard description.hasPrefix("threshold:"), let tau = Double(description.dropFirst("threshold:".count)),
                  tau.isFinite, (0...1).contains(tau) else { return nil }
            self = .atLeast(threshold: tau)
        }

        public var description: String {
            switch self {
            case .count: "accuracy"
            case .atLeast(let tau): "threshold:\(tau)"
            }
        }
    }

    /// Parses the text form (`accuracy`, `threshold:τ`, `topK`, `topK threshold:τ`, `auroc`,
    /// `auroc threshold:τ`, `auroc threshold-all:τ`, `sens-spec`, `sens-spec thresholds:t1,t2,…`,
    /// `confusion`, `predictions`).
    public init?(_ description: String) {
        if let range = description.range(of: " dp:", options: .backwards) {
            guard let epsilon = Double(description[range.upperBound...]), let base = Metric(String(description[..<range.lowerBound])),
                  base.dpMicroEpsilon == nil, let privateMetric = base.withDP(epsilon: epsilon) else { return nil }
            self = privateMetric
            return
        }
        if let scores = ScoreMetric(rawValue: description) { self.init(scores: scores); return }
        if description.hasPrefix("sens-spec thresholds:") {
            let values = description.dropFirst("sens-spec thresholds:".count).split(separator: ",", omittingEmptySubsequences: false)
            let thresholds = values.compactMap { Double($0) }
            guard !values.isEmpty, thresholds.count == values.count, thresholds.allSatisfy(\.isFinite) else { return nil }
            self = .sensSpec(thresholds: thresholds)
            return
        }
        if description.hasPrefix("auroc ") {
            let rest = String(description.dropFirst("auroc ".count))
            let all = rest.hasPrefix("threshold-all:")
            guard case .atLeast(let tau)? = Opening(all ? "threshold:" + rest.dropFirst("threshold-all:".count) : rest) else { return nil }
            self = .aurocAtLeast(tau, allFindings: all)
            return
        }
        let parts = description.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1:
            if let opening = Opening(parts[0]) {
                self.init(correct: .top1, opening: opening)
            } else if let correct = Correctness(parts[0]), correct.k > 1 {
                self.init(correct: correct, opening: .count)
            } else {
                return nil
            }
        case 2:
            guard let correct = Correctness(parts[0]), correct.k > 1, let opening = Opening(parts[1]),
                  opening != .count else { return nil }
            self.init(correct: correct, opening: opening)
        default:
            return nil
        }
    }

    public var description: String {
        if let dpEpsilon {
            var base = self
            base.dpMicroEpsilon = nil
            return "\(base) dp:\(dpEpsilon)"
        }
        if let scores {
            if let thresholds { return "\(scores.rawValue) thresholds:" + thresholds.map { "\($0)" }.joined(separator: ",") }
            guard case .atLeast(let tau) = opening else { return scores.rawValue }
            return "\(scores.rawValue) threshold\(allFindings ? "-all" : ""):\(tau)"
        }
        switch (correct.k, opening) {
        case (1, _): return opening.description
        case (_, .count): return correct.description
        default: return "\(correct) \(opening)"
        }
    }

    /// The name in results (JSON key `metric`): `accuracy`, `threshold`, `top5`, `top5-threshold`,
    /// `auroc`, `sens-spec`, `confusion`.
    public var resultName: String {
        if let scores {
            guard case .atLeast = opening else { return scores.rawValue }
            return "\(scores.rawValue)-threshold\(allFindings ? "-all" : "")"
        }
        switch (correct.k, opening) {
        case (1, .count): return "accuracy"
        case (1, .atLeast): return "threshold"
        case (_, .count): return "top\(correct.k)"
        default: return "top\(correct.k)-threshold"
        }
    }

    /// The vendor's permission this metric needs (`MetricPermission`); a threshold on the AUROC
    /// needs the `auroc` permission (it reveals less than the values it is computed from).
    public var permission: MetricPermission {
        if let scores { return .scores(scores) }
        switch (correct.k, opening) {
        case (1, .count): return .accuracy
        case (1, .atLeast): return .threshold
        default: return .topK(correct.k)
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let metric = Metric(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a metric"))
        }
        self = metric
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A metric a vendor allows (`validate-serve --allow`): `accuracy` (open the top-1 count),
/// `threshold` (open only whether top-1 accuracy ≥ τ), `topK` (top-k correctness, either opening:
/// the threshold bit reveals less than the count it is computed from), and the clinical metrics
/// `auroc`, `sens-spec`, `confusion`.
public enum MetricPermission: Sendable, Hashable, LosslessStringConvertible {
    case accuracy
    case threshold
    case topK(Int)
    case scores(ScoreMetric)

    public init?(_ description: String) {
        switch description {
        case "accuracy": self = .accuracy
        case "threshold": self = .threshold
        case let text where ScoreMetric(rawValue: text) != nil: self = .scores(ScoreMetric(rawValue: text)!)
        default:
            guard let correct = Metric.Correctness(description), correct.k > 1 else { return nil }
            self = .topK(correct.k)
        }
    }

    public var description: String {
        switch self {
        case .accuracy: "accuracy"
        case .threshold: "threshold"
        case .topK(let k): "top\(k)"
        case .scores(let metric): metric.rawValue
        }
    }
}

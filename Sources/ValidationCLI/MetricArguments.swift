import ArgumentParser
import Compiler
import IR

// The typed metric on the command line: one parser (the type's text form) for every flag.

/// `--reveal accuracy|threshold:τ`.
extension Metric.Opening: ExpressibleByArgument {
    public static var defaultCompletionKind: CompletionKind { .list(["accuracy", "threshold:0.9"]) }
}

/// `--metric accuracy|topK`.
extension Metric.Correctness: ExpressibleByArgument {
    public static var defaultCompletionKind: CompletionKind { .list(["accuracy", "top5"]) }
}

/// `--reveal accuracy|threshold:τ|predictions`: what of a count is opened, or every image's scores
/// to the hospital only.
enum RevealSelection: ExpressibleByArgument, Equatable {
    case opening(Metric.Opening)
    case predictions
    /// `threshold:auroc>=τ` (one bit per finding) or `threshold:auroc-all>=τ` (one bit).
    case aurocAtLeast(Double, all: Bool)

    init?(argument: String) {
        if argument == "predictions" { self = .predictions; return }
        for (prefix, all) in [("threshold:auroc>=", false), ("threshold:auroc-all>=", true)] where argument.hasPrefix(prefix) {
            guard case .atLeast(let tau)? = Metric.Opening("threshold:" + argument.dropFirst(prefix.count)) else { return nil }
            self = .aurocAtLeast(tau, all: all)
            return
        }
        guard let opening = Metric.Opening(argument) else { return nil }
        self = .opening(opening)
    }

    static var defaultCompletionKind: CompletionKind { .list(["accuracy", "threshold:0.9", "predictions", "threshold:auroc>=0.8"]) }

    var opening: Metric.Opening? {
        if case .opening(let opening) = self { return opening }
        return nil
    }
}

/// `--metric accuracy|topK|auroc|sens-spec|confusion`: a count metric's correctness, or a
/// clinical metric of every image's scores.
enum MetricSelection: ExpressibleByArgument, Equatable, CustomStringConvertible {
    case correct(Metric.Correctness)
    case scores(ScoreMetric)

    var description: String {
        switch self {
        case .correct(let correct): correct.description
        case .scores(let scores): scores.rawValue
        }
    }

    init?(argument: String) {
        if let scores = ScoreMetric(rawValue: argument) { self = .scores(scores); return }
        guard let correct = Metric.Correctness(argument) else { return nil }
        self = .correct(correct)
    }

    static var defaultCompletionKind: CompletionKind { .list(["accuracy", "top5", "auroc", "sens-spec", "confusion"]) }

    /// The metric with `reveal` (count metrics only; nil for a clinical metric).
    func metric(reveal: Metric.Opening?) -> Metric? {
        switch self {
        case .correct(let correct): Metric(correct: correct, opening: reveal ?? .count)
        case .scores(let scores): reveal == nil ? Metric(scores: scores) : nil
        }
    }

    /// Whether `metric` is what this selection asks for.
    func matches(_ metric: Metric) -> Bool {
        switch self {
        case .correct(let correct): metric.scores == nil && metric.correct == correct
        case .scores(let scores): metric.scores == scores
        }
    }
}

/// `--allow accuracy,threshold,top5`: the metrics a vendor allows, comma-separated.
struct MetricPermissions: ExpressibleByArgument, CustomStringConvertible {
    let permissions: Set<MetricPermission>

    init?(argument: String) {
        var permissions: Set<MetricPermission> = []
        for name in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let permission = MetricPermission(name.trimmingCharacters(in: .whitespaces)) else { return nil }
            permissions.insert(permission)
        }
        self.permissions = permissions
    }

    var description: String { permissions.map(\.description).sorted().joined(separator: ",") }
    var defaultValueDescription: String { description }
}

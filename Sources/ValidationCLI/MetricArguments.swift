import ArgumentParser
import Compiler

// The typed metric on the command line: one parser (the type's text form) for every flag.

/// `--reveal accuracy|threshold:τ`.
extension Metric.Opening: ExpressibleByArgument {
    public static var defaultCompletionKind: CompletionKind { .list(["accuracy", "threshold:0.9"]) }
}

/// `--metric accuracy|topK`.
extension Metric.Correctness: ExpressibleByArgument {
    public static var defaultCompletionKind: CompletionKind { .list(["accuracy", "top5"]) }
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

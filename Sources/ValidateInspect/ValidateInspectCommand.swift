import ArgumentParser

/// `validate-inspect`: look at a model and a dataset in the clear, before any secure computation —
/// the plan the secure engine would follow, float and fixed-point accuracy, raw inference.
public struct ValidateInspectCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate-inspect",
        abstract: "Inspect an ONNX model and a labelled dataset in the clear (no secure computation).",
        discussion: """
            A tool for the model vendor (on its own data) and for CI: it shows the protocol plan the \
            secure engine will follow, compares float32 and fixed-point accuracy, and runs inference. \
            It needs the model's weights, so the hospital never runs it on the vendor's model. \
            Two subcommands are for anyone: hash recomputes a commitment for an auditor, and \
            verify-report checks a validation report both parties signed.
            """,
        subcommands: [PlanCommand.self, EvalCommand.self, InferCommand.self, PreprocessCommand.self, BenchCommand.self, CertsCommand.self,
                      HashCommand.self, VerifyReportCommand.self])

    public init() {}
}

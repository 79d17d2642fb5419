import ArgumentParser
import Foundation
import Testing
@testable import ValidateInspect

/// Golden `--help` texts: a changed flag or help line shows up as a diff here. Regenerate the files
/// with `SV_UPDATE_GOLDEN=1 swift test --filter HelpTests` after a deliberate change.
@Suite struct HelpTests {
    static let commands: [(String, ParsableCommand.Type)] = [
        ("validate-inspect", ValidateInspectCommand.self),
        ("plan", PlanCommand.self),
        ("eval", EvalCommand.self),
        ("infer", InferCommand.self),
        ("preprocess", PreprocessCommand.self),
        ("bench-reference", ReferenceBenchCommand.self),
        ("bench-gemm", KernelBenchCommand.self),
        ("bench-primitives", PrimitivesBenchCommand.self),
        ("certs", CertsCommand.self),
        ("hash", HashCommand.self),
        ("verify-report", VerifyReportCommand.self),
    ]

    static var goldenFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    }

    @Test(arguments: commands.map(\.0))
    func helpMatchesGolden(name: String) throws {
        let command = try #require(Self.commands.first { $0.0 == name }?.1)
        let help = ValidateInspectCommand.helpMessage(for: command, columns: 100)
        let file = Self.goldenFolder.appendingPathComponent("\(name).txt")
        if ProcessInfo.processInfo.environment["SV_UPDATE_GOLDEN"] == "1" {
            try help.write(to: file, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: file, encoding: .utf8)
        #expect(help == golden)
    }

    @Test func everyOptionIsDocumented() {
        for (name, command) in Self.commands {
            let help = ValidateInspectCommand.helpMessage(for: command, columns: 100)
            #expect(!help.contains("<no help>"), "\(name) has an undocumented argument")
        }
    }
}

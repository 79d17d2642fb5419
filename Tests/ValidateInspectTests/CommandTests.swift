import Benchmarks
import Datasets
import Foundation
import RingArithmetic
import Testing
@testable import ValidateInspect

/// Parsing, validation and the user-facing errors of the commands (run in-process).
@Suite struct CommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    @Test func evalRejectsAScaleTooLargeForTheRing() {
        #expect(throws: (any Error).self) {
            _ = try ValidateInspectCommand.parseAsRoot(["eval", "m.onnx", "d", "--ring-bits", "20", "--scale", "12"])
        }
        let message = ValidateInspectCommand.message(for: FixedPointOptionsProbe.error(ringBits: 20, scale: 12))
        #expect(message.contains("2s < ℓ"))
    }

    @Test func hashNeedsTheSaltAndRejectsABadOne() {
        #expect(throws: (any Error).self) { _ = try ValidateInspectCommand.parseAsRoot(["hash", "m.onnx"]) }
        #expect(throws: (any Error).self) { _ = try ValidateInspectCommand.parseAsRoot(["hash", "m.onnx", "--salt", "12ab"]) }
        #expect(throws: Never.self) {
            _ = try ValidateInspectCommand.parseAsRoot(["hash", "m.onnx", "--salt", String(repeating: "c3", count: 32)])
        }
    }

    @Test func evalRejectsANonPositiveBatch() {
        #expect(throws: (any Error).self) {
            _ = try ValidateInspectCommand.parseAsRoot(["eval", "m.onnx", "d", "--batch", "0"])
        }
    }

    @Test func inferKeepsAnExistingOutputFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sv-infer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let existing = folder.appendingPathComponent("out.npy")
        try Data("keep me".utf8).write(to: existing)
        var command = try #require(try ValidateInspectCommand.parseAsRoot([
            "infer", Self.path("Models/mlp-breast-cancer.onnx"), "x.npy", "--output", existing.path,
        ]) as? InferCommand)
        #expect(throws: CLIError.self) { try command.run() }
        #expect(try Data(contentsOf: existing) == Data("keep me".utf8))
        _ = command
    }

    @Test func inferRejectsAnInputOfTheWrongShape() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sv-infer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // The digits images ([N, 1, 8, 8]) do not fit the breast-cancer MLP ([N, 30]).
        let command = try #require(try ValidateInspectCommand.parseAsRoot([
            "infer", Self.path("Models/mlp-breast-cancer.onnx"), Self.path("Datasets/digits-test/inputs.npy"),
            "--output", folder.appendingPathComponent("y.npy").path,
        ]) as? InferCommand)
        do {
            try command.run()
            Issue.record("expected a shape error")
        } catch let error as CLIError {
            #expect(error.description.contains("inputs.npy"))
            #expect(error.description.contains("[N, 30]"))
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("y.npy").path))
    }

    @Test func inferWritesOutputsOfTheModelsShape() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sv-infer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("y.npy").path
        let command = try #require(try ValidateInspectCommand.parseAsRoot([
            "infer", Self.path("Models/mlp-breast-cancer.onnx"), Self.path("Datasets/breast-cancer-test/inputs.npy"),
            "--output", output, "--fixed",
        ]) as? InferCommand)
        try command.run()
        let written = try Data(contentsOf: URL(fileURLWithPath: output))
        // .npy magic and a header naming the [143, 2] shape.
        #expect(written.prefix(6) == Data([0x93]) + Data("NUMPY".utf8))
        #expect(String(decoding: written.prefix(128), as: UTF8.self).contains("(143, 2)"))
    }

    /// The check Scripts/test.sh used to do with numpy: the float outputs on the whole digits test
    /// set equal onnxruntime's within 1e-4; fixed point does not, and says where.
    @Test func inferComparesWithOnnxruntimesOutputs() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sv-infer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let reference = Self.path("Tests/Fixtures/models/densenet-digits.ort-outputs.npy")
        func infer(_ extra: [String]) throws -> InferCommand {
            try #require(try ValidateInspectCommand.parseAsRoot([
                "infer", Self.path("Models/densenet-digits.onnx"), Self.path("Datasets/digits-test/inputs.npy"),
                "--output", folder.appendingPathComponent("y.npy").path, "--force", "--compare", reference,
            ] + extra) as? InferCommand)
        }
        try infer([]).run()
        #expect(try infer([]).tolerance == 1e-4)
        do {
            try infer(["--fixed", "--ring-bits", "37", "--scale", "12"]).run()
            Issue.record("fixed point at s = 12 should differ from onnxruntime by more than 1e-4")
        } catch let error as CLIError {
            for part in ["y.npy differs from", "densenet-digits.ort-outputs.npy", "at example", "more than --tolerance 0.0001"] {
                #expect(error.description.contains(part), "\(error.description)")
            }
        }
        try infer(["--fixed", "--ring-bits", "37", "--scale", "12", "--tolerance", "0.05"]).run()
        #expect(throws: (any Error).self) { _ = try ValidateInspectCommand.parseAsRoot(["infer", "m.onnx", "x.npy", "--output", "y.npy", "--tolerance", "-1"]) }
        // A reference of another shape is refused, naming both shapes.
        let wrong = try #require(try ValidateInspectCommand.parseAsRoot([
            "infer", Self.path("Models/densenet-digits.onnx"), Self.path("Datasets/digits-test/inputs.npy"),
            "--output", folder.appendingPathComponent("y.npy").path, "--force", "--compare", Self.path("Datasets/digits-test/inputs.npy"),
        ]) as? InferCommand)
        do {
            try wrong.run()
            Issue.record("expected a shape error")
        } catch let error as CLIError {
            #expect(error.description.contains("[360, 1, 8, 8] does not match the outputs' [360, 10]"), "\(error.description)")
        }
    }

    @Test func outputComparisonFindsTheLargestDifferenceAndItsPlace() throws {
        let reference = NPYArray<Float>(shape: [2, 2, 3], elements: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
        var outputs = reference.elements
        let same = try OutputComparison(outputs, shape: [2, 2, 3], reference: reference, referencePath: "r.npy")
        #expect(same.maxDifference == 0)
        outputs[10] += 0.5
        outputs[4] -= 0.25
        let shifted = try OutputComparison(outputs, shape: [2, 2, 3], reference: reference, referencePath: "r.npy")
        #expect(shifted.maxDifference == 0.5 && shifted.index == 10)
        #expect(shifted.describeWorst() == "largest difference 0.5 at example 1, output [1, 1] (got 10.5, reference 10.0)")
        outputs[1] = .nan
        #expect(try OutputComparison(outputs, shape: [2, 2, 3], reference: reference, referencePath: "r.npy").maxDifference == .infinity)
        #expect(throws: CLIError.self) { _ = try OutputComparison(outputs, shape: [2, 6], reference: reference, referencePath: "r.npy") }
    }

    /// Gemm → Clip(min = −1) (valid ONNX): the absent upper bound used to reach the JSON encoder as
    /// +inf and stop `hash` with `EncodingError.invalidValue`.
    @Test(arguments: ["gemm_clip_min_only_opset13", "gemm_clip_max_only_opset7"])
    func hashAndPlanAModelWithAOneSidedClip(fixture: String) throws {
        let model = Self.path("Tests/Fixtures/importer/ops/\(fixture)/model.onnx")
        let hash = try #require(try ValidateInspectCommand.parseAsRoot(["hash", model, "--salt", String(repeating: "7e", count: 32)]) as? HashCommand)
        try hash.run()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sv-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = folder.appendingPathComponent("plan.json")
        let plan = try #require(try ValidateInspectCommand.parseAsRoot(["plan", model, "--json", json.path]) as? PlanCommand)
        try plan.run()
        let text = try String(contentsOf: json, encoding: .utf8)
        #expect(text.contains("\"Clip\""))
        #expect(text.contains("\"clip\""))
    }

    /// `bench linear` runs the program's signed shifts (the transition's BatchNorm of the digits
    /// model) beside its HE layers, and counts them in the totals: at least ℓ bits per element
    /// from the hospital to the vendor.
    @Test func linearBenchIncludesSignedShifts() throws {
        let graph = try loadModel(Self.path("Models/densenet-digits.onnx"))
        let format = try FixedPointFormat(ringBits: 37, scale: 12)
        let (layers, shifts) = try LinearBenchCommand.layers(of: graph, format: format)
        #expect(layers.count == 16 && shifts.count == 1)
        #expect(shifts.first.map { [$0.channels, $0.plane] } == [40, 64])
        let result = try LinearBenchmark.run(layers: Array(layers.prefix(1)), signedShifts: shifts, plaintextBits: 37)
        #expect(result.layers.map(\.kind) == ["convolution", "signedShift"])
        let shift = try #require(result.layers.last)
        #expect(shift.bytes >= 40 * 64 * 37 / 8)
        #expect(result.linearBytes == result.layers.reduce(0) { $0 + $1.bytes })
    }

    @Test func planReportCountsEveryNodeOfTheBundledModel() throws {
        let graph = try loadModel(Self.path("Models/densenet-digits.onnx"))
        let report = PlanReport(model: "densenet-digits.onnx", graph: graph)
        #expect(report.nodes.count == graph.nodes.count)
        #expect(report.totals.macs == report.nodes.reduce(0) { $0 + $1.macs })
        // 14,218 in the ONNX file's layers, plus the bias the transition's 1×1 Conv gains from the
        // BatchNorm folded through its ReLU (24 output channels).
        #expect(report.totals.parameters == 14_242)
        #expect(report.nodes.allSatisfy { !$0.protocolClass.isEmpty })
        #expect(report.render().contains("linear-HE"))
    }
}

/// `certs --valid-from`: exact YYYY-MM-DD days (UTC) only, and a period that fits in a certificate.
@Suite struct CertsValidFromTests {
    @Test func readsADayAsMidnightUTC() {
        #expect(CertsCommand.parseDay("2020-01-01") == Date(timeIntervalSince1970: 1_577_836_800))
        #expect(CertsCommand.parseDay("2024-02-29") == Date(timeIntervalSince1970: 1_709_164_800))
        #expect(CertsCommand.parseDay("1970-01-01") == Date(timeIntervalSince1970: 0))
    }

    @Test(arguments: ["2021-02-29", "2020-13-01", "2020-00-10", "2020-01-32", "2020-1-01", "20-01-01", "2020/01/01",
                      "2020-01-01T00:00", " 2020-01-01", "1969-12-31", "２０２０-01-01", "", "yesterday"])
    func refusesAnythingElse(text: String) {
        #expect(CertsCommand.parseDay(text) == nil)
        #expect(throws: (any Error).self) {
            _ = try ValidateInspectCommand.parseAsRoot(["certs", "/tmp/unused", "--valid-from", text])
        }
    }

    @Test func refusesAPeriodEndingAfterTheYear9999() throws {
        #expect(throws: (any Error).self) {
            _ = try ValidateInspectCommand.parseAsRoot(["certs", "/tmp/unused", "--valid-from", "9999-12-30", "--days", "5"])
        }
        let command = try #require(try ValidateInspectCommand.parseAsRoot(
            ["certs", "/tmp/unused", "--valid-from", "2020-01-01", "--days", "1"]) as? CertsCommand)
        #expect(command.validFrom == "2020-01-01")
    }
}

/// Builds the validation error `FixedPointOptions` throws, to check its text.
enum FixedPointOptionsProbe {
    static func error(ringBits: Int, scale: Int) -> Error {
        var options = FixedPointOptions()
        options.ringBits = ringBits
        options.scale = scale
        do { try options.validate() } catch { return error }
        return CLIError("no error")
    }
}

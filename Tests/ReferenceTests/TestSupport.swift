import Datasets
import Foundation
import IR
import ONNX
import Testing

/// The repository root (`Tests/ReferenceTests/<file>` → three levels up), symlinks resolved.
let repositoryRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `relative` under the repository root, as a path string.
func repositoryPath(_ relative: String) -> String {
    repositoryRoot.appendingPathComponent(relative).path
}

/// One case of `Tests/Fixtures/ops/manifest.json` (written by Scripts/make_op_fixtures.py) or of
/// `Tests/Fixtures/importer/ops/manifest.json` (Scripts/make_importer_fixtures.py).
struct OpCase: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var op: String
    var opset: Int
    var description: String
    /// The fixture folder relative to the repository root, e.g. `Tests/Fixtures/ops`.
    var fixtureSet: String = ""

    enum CodingKeys: String, CodingKey { case name, op, opset, description }

    static let sets = ["Tests/Fixtures/ops", "Tests/Fixtures/importer/ops"]

    var testDescription: String { fixtureSet.hasSuffix("importer/ops") ? "importer/\(name)" : name }
    var folder: String { repositoryPath("\(fixtureSet)/\(name)") }
    var modelPath: String { folder + "/model.onnx" }

    /// The cases of one manifest (empty when it cannot be read; a separate test checks it).
    static func cases(in set: String) -> [OpCase] {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: repositoryPath("\(set)/manifest.json"))),
              let cases = try? JSONDecoder().decode([OpCase].self, from: data) else { return [] }
        return cases.map { var c = $0; c.fixtureSet = set; return c }
    }

    /// Every case of both manifests.
    static let all: [OpCase] = sets.flatMap(cases(in:))
}

/// A whole `.npy` float array.
func readFloatArray(_ path: String) throws -> NPYArray<Float> {
    try NPYReader(path: path).readAllFloats()
}

/// |a − b| ≤ tolerance · max(1, |b|) for every element; records the worst offender otherwise.
func expectClose(_ actual: [Float], _ expected: [Float], relative tolerance: Float, _ label: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(label): \(actual.count) values, expected \(expected.count)",
            sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    var worst: (index: Int, excess: Float)?
    var failures = 0
    for i in actual.indices {
        let a = actual[i], b = expected[i]
        let bound = tolerance * max(1, abs(b))
        let difference = abs(a - b)
        if !(difference <= bound) {
            failures += 1
            let excess = difference.isNaN ? .infinity : difference / bound
            if worst == nil || excess > worst!.excess { worst = (i, excess) }
        }
    }
    if let worst {
        let message = "\(label): \(failures) of \(actual.count) values differ by more than \(tolerance)·max(1,|b|); "
            + "worst at \(worst.index): got \(actual[worst.index]), expected \(expected[worst.index])"
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
}

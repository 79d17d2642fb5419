import Foundation
import Testing

/// The README's commands (`Scripts/demo.sh`, `Scripts/test.sh`, and what they run) must pass on a
/// clean Debian 12 whose `python3` is Debian's, with nothing from PyPI: the scripts may use Python's
/// standard library only. (numpy hid here for a long time because the developers' `python3` had it;
/// the checks that needed it are done by `validate-inspect infer --compare` and Swift tests.)
@Suite struct ScriptDependencyTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// What CI and the README run, and the Python helpers they call.
    static let scripts = ["Scripts/test.sh", "Scripts/demo.sh", "Scripts/setup.sh", "Scripts/faults.sh",
                          "Scripts/fault_peers.py", ".ci/run"]
    /// Packages a clean Debian 12 `python3` does not have (the developer scripts' requirements).
    static let thirdParty = ["numpy", "onnx", "onnxruntime", "torch", "torchvision", "scipy", "sklearn", "google.protobuf"]

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
    }

    /// The lines of `text` that import one of `packages` or a submodule of one (`import numpy as np`,
    /// `import sys, torch`, `from onnx import helper`), inside a heredoc or a `python3 -c` string alike.
    static func imports(in text: String, of packages: [String]) throws -> [String] {
        let statement = try NSRegularExpression(pattern: #"(?:^|[\s;"'(])(?:import\s+([A-Za-z0-9_., ]+)|from\s+([A-Za-z0-9_.]+)\s+import)"#)
        func isListed(_ module: Substring) -> Bool {
            let name = module.split(separator: " ").first.map(String.init) ?? ""
            return packages.contains { name == $0 || name.hasPrefix($0 + ".") }
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { line in
            statement.matches(in: line, range: NSRange(line.startIndex..., in: line)).contains { match in
                (1...2).contains { group in
                    guard let range = Range(match.range(at: group), in: line) else { return false }
                    return line[range].split(separator: ",").contains { isListed($0.drop { $0 == " " }) }
                }
            }
        }
    }

    @Test(arguments: scripts)
    func usesOnlyPythonsStandardLibrary(script: String) throws {
        let found = try Self.imports(in: try Self.text(script), of: Self.thirdParty)
        #expect(found.isEmpty, "\(script) imports a package Debian's python3 lacks: \(found)")
    }

    @Test(arguments: scripts)
    func callsOnlyCheckedPythonScripts(script: String) throws {
        let pattern = try NSRegularExpression(pattern: #"[A-Za-z0-9_]+\.py\b"#)
        // Comment lines may name the developer scripts (`Scripts/train_models.py` wrote a fixture).
        let text = try Self.text(script).split(separator: "\n").filter { !$0.drop { $0 == " " }.hasPrefix("#") }.joined(separator: "\n")
        let called = Set(pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range, in: text).map { String(text[$0]) }
        })
        let checked = Set(Self.scripts.map { ($0 as NSString).lastPathComponent })
        #expect(called.subtracting(checked).isEmpty, "\(script) runs Python scripts this test does not check: \(called.subtracting(checked).sorted())")
    }

    @Test func theCheckFindsImportsWhereverTheyAre() throws {
        let sample = """
            python3 -c "import numpy as np; np.save('x.npy', 1)"
            python3 - <<'PY'
            import json, sys
            from onnx import helper
            PY
            y=$(python3 -c 'import sys, torch')
            python3 -c "import json,sys; import scipy.stats"
            echo "numpy is not imported here"; import_thing numpy
            """
        #expect(try Self.imports(in: sample, of: Self.thirdParty) == [
            #"python3 -c "import numpy as np; np.save('x.npy', 1)""#, "from onnx import helper",
            "y=$(python3 -c 'import sys, torch')", #"python3 -c "import json,sys; import scipy.stats""#,
        ])
        #expect(try Self.imports(in: sample, of: ["json", "sys"]).count == 3)
        #expect(try Self.imports(in: sample, of: ["onnxruntime", "scipy.special"]).isEmpty)
    }
}

import ArgumentParser
import Foundation
import Testing
@testable import ValidationCLI

/// Golden `--help` texts of validate-serve and validate-client, and their early validation errors.
/// Regenerate with `SV_UPDATE_GOLDEN=1 swift test --filter ValidationCLITests` after a deliberate change.
@Suite struct ValidationCLIHelpTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    @Test(arguments: ["validate-serve", "validate-client"])
    func helpMatchesGolden(_ name: String) throws {
        let help = name == "validate-serve" ? ServeCommand.helpMessage(for: ServeRunCommand.self, columns: 100)
            : ClientCommand.helpMessage(for: ClientRunCommand.self, columns: 100)
        let file = Self.folder.appendingPathComponent("\(name).txt")
        if ProcessInfo.processInfo.environment["SV_UPDATE_GOLDEN"] == "1" { try help.write(to: file, atomically: true, encoding: .utf8) }
        #expect(help == (try String(contentsOf: file, encoding: .utf8)))
        #expect(!help.contains("<no help>"))
    }

    @Test func badArgumentsAreRejectedEarly() {
        let tls = ["--cert", "c", "--key", "k", "--ca", "a"]
        #expect(throws: (any Error).self) { _ = try ServeCommand.parseAsRoot(["--model", "m.onnx", "--listen", "nohost"] + tls) }
        #expect(throws: (any Error).self) { _ = try ServeCommand.parseAsRoot(["--model", "m.onnx", "--listen", "127.0.0.1:1", "--max-sessions-per-day", "0"] + tls) }
        #expect(throws: (any Error).self) { _ = try ServeCommand.parseAsRoot(["--model", "m.onnx", "--listen", "127.0.0.1:1", "--allow", "bogus"] + tls) }
        #expect(throws: (any Error).self) { _ = try ServeCommand.parseAsRoot(["--model", "m.onnx", "--listen", "127.0.0.1:1", "--min-images", "0"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--reveal", "threshold:1.5"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--batch", "0"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--metric", "aucroc"] + tls) }
        #expect(throws: Never.self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--metric", "auroc"] + tls) }
        #expect(throws: Never.self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--reveal", "predictions", "--output", "p.npy"] + tls) }
        #expect(throws: (any Error).self) { _ = try ServeCommand.parseAsRoot(["--model", "m.onnx", "--listen", "127.0.0.1:1", "--allow", "auroc,bogus"] + tls) }
        #expect(throws: Never.self) { _ = try ServeCommand.parseAsRoot(["--model", "m.onnx", "--listen", "127.0.0.1:1", "--allow", "auroc,sens-spec,confusion,predictions"] + tls) }
        #expect(throws: Never.self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--reveal", "threshold:0.9"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--resume", "not-hex!"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--resume", "abc"] + tls) }
        #expect(throws: Never.self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--resume", "16960597"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--expect-vendor", "abc"] + tls) }
        #expect(throws: Never.self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--expect-vendor", String(repeating: "Ab", count: 32)] + tls) }
        // Pools: a part needs its pool and a valid I/K; pool names are checked; shards too.
        #expect(throws: Never.self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--pool", "study-1", "--part", "2/3", "--shard", "2/3"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--pool", "study-1"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--part", "1/3"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--pool", "a b", "--part", "1/3"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--pool", "p", "--part", "4/3"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--shard", "0/3"] + tls) }
        #expect(throws: Never.self) { _ = try ClientCommand.parseAsRoot(["pool-open", "--pool", "p", "--connect", "h:1"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["pool-collect", "--pool", "p", "--listen", "h:1", "--wait", "0"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["pool-send", "--pool", "p", "--connect", "h:1", "--expect-aggregator", "xyz"] + tls) }
        #expect(throws: (any Error).self) { _ = try ServeCommand.parseAsRoot(["--model", "m.onnx", "--listen", "127.0.0.1:1", "--max-sessions", "0"] + tls) }
        // A signed report: not for a pool part (it opens nothing).
        #expect(throws: Never.self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--report", "r"] + tls) }
        #expect(throws: (any Error).self) { _ = try ClientCommand.parseAsRoot(["--connect", "h:1", "--dataset", "d", "--report", "r", "--pool", "p", "--part", "1/2"] + tls) }
        #expect(throws: Never.self) { _ = try ServeCommand.parseAsRoot(["--model", "m.onnx", "--listen", "127.0.0.1:1", "--report", "r"] + tls) }
    }
}

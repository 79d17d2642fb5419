import Foundation
import Testing

/// The end-to-end scripts never guess a free port by binding one, closing it and handing its
/// number on (another process may take it in between): `validate-serve --listen 127.0.0.1:0` and
/// the fault peers listen on port 0 and print the port they got ("listening on 127.0.0.1:PORT"),
/// which the scripts read.
@Suite(.serialized) struct ScriptPortTests {
    static let root = ScriptDependencyTests.root

    @Test(arguments: ["Scripts/test.sh", "Scripts/demo.sh", "Scripts/faults.sh"])
    func serversListenOnPortZero(script: String) throws {
        let text = try ScriptDependencyTests.text(script)
        // validate-serve's --listen takes HOST:PORT; the fault peers' --listen is a flag.
        let listen = try NSRegularExpression(pattern: #"--listen\s+"?([^"\s\\;,)]+)"#)
        let values = listen.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }.filter { !$0.hasPrefix("--") }
        #expect(!values.isEmpty, "\(script) starts no server?")
        // Port 0 on a loopback address (faults.sh case 14 uses 127.0.0.2, which its certificate does not name).
        #expect(values.allSatisfy { $0.hasPrefix("127.") && $0.hasSuffix(":0") }, "\(script) listens on \(values)")
        let guesses = ["getsockname", "free-port", "free_port"].filter { text.contains($0) }
        #expect(guesses.isEmpty, "\(script) still picks a port itself (\(guesses))")
    }

    /// Runs `python3 Scripts/fault_peers.py ARGS…`; returns the process and its stderr pipe.
    static func peer(_ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("Scripts/fault_peers.py").path] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, errors)
    }

    /// Reads `pipe` line by line until one says "listening on 127.0.0.1:PORT"; returns PORT.
    static func listeningPort(_ pipe: Pipe) throws -> Int {
        var text = ""
        while true {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "no listening line in: \(text)"]) }
            text += String(decoding: chunk, as: UTF8.self)
            if let range = text.range(of: #"listening on 127\.0\.0\.1:([0-9]+)"#, options: .regularExpression),
               let port = Int(text[range].split(separator: ":").last ?? "") {
                return port
            }
        }
    }

    @Test("the fault peers listen on a port of their own and say which: garbage-server ← proxy ← garbage-client")
    func faultPeersPrintTheirPorts() throws {
        let (server, serverErrors) = try Self.peer(["garbage-server", "--seed", "1", "--size", "64", "--timeout", "20"])
        defer { if server.isRunning { server.terminate() } }
        let serverPort = try Self.listeningPort(serverErrors)
        let (proxy, proxyErrors) = try Self.peer(["proxy", String(serverPort), "--cut", "1000", "--timeout", "20"])
        defer { if proxy.isRunning { proxy.terminate() } }
        let proxyPort = try Self.listeningPort(proxyErrors)
        #expect(serverPort > 0 && proxyPort > 0 && proxyPort != serverPort)
        // The client stops reading after 3 s of silence and closes; then the server and the proxy end.
        let (client, _) = try Self.peer(["garbage-client", String(proxyPort), "--seed", "2", "--size", "32", "--timeout", "3"])
        client.waitUntilExit()
        server.waitUntilExit()
        proxy.waitUntilExit()
        #expect(client.terminationStatus == 0)
        #expect(server.terminationStatus == 0)
        #expect(proxy.terminationStatus == 0)
        // The server saw the client's 32 bytes through the proxy, and answered with its 64.
        let serverLog = String(decoding: serverErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(serverLog.contains("answered with 64 random bytes"), "\(serverLog)")
        #expect(serverLog.contains("received 32 bytes"), "\(serverLog)")
    }
}

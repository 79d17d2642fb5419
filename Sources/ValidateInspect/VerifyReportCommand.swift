import ArgumentParser
import Foundation
import Validation

/// `validate-inspect verify-report DIR --ca FILE`: checks a validation report both parties signed
/// (`validate-client --report`, `validate-serve --report`) for anyone who holds the CA
/// certificate(s): both signatures over the exact statement, both certificates against the CA(s).
/// Exits non-zero, saying what failed, on any change to the statement, a signature or a certificate.
struct VerifyReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-report",
        abstract: "Check a validation report both parties signed: both signatures over the statement, both certificates against the CA.",
        discussion: """
            DIRECTORY is the folder validate-client --report or validate-serve --report wrote (or its \
            report.json). The report is accepted only if: the vendor's and the hospital's signatures \
            both verify over the exact text of the statement; each embedded certificate is the one \
            the statement names for its role; each chains to a CA certificate given with --ca, was \
            valid on the statement's date and is meant for its role (the vendor's a TLS server \
            certificate, the hospital's a TLS client one). Any change to the statement (a count, a \
            commitment, the date), a signature or a certificate makes it fail with a non-zero exit \
            status and a message saying what failed; on success it prints who signed, what was \
            validated (for a pool's opening, the pool and its parts), the result, the date and the \
            statement's SHA-256, which both parties' ledgers record for the session (report_sha256). \
            report.html is only a rendering and is not checked.

            A pass proves that the holders of the two certificates both signed this statement. It \
            does not prove that the computation was run honestly (the protocol is secure against \
            semi-honest parties), nor which model or test set the commitments stand for until their \
            owners open them to an auditor (validate-inspect hash --salt).
            """)

    @Argument(help: "The report's directory (holding report.json), or its report.json.")
    var directory: String

    @Option(name: .customLong("ca"),
            help: ArgumentHelp("A CA certificate (PEM) the parties' certificates must chain to. Give it twice when the vendor and the hospital use different CAs: each certificate must chain to one of them.",
                               valueName: "FILE"))
    var ca: [String]

    func validate() throws {
        guard !ca.isEmpty else { throw ArgumentParser.ValidationError("give the CA certificate(s) to check against: --ca FILE") }
    }

    func run() throws {
        print(try ReportVerifier.verify(directory, caFiles: ca).summary)
    }
}

import ArgumentParser
import Foundation
import Transport

/// `validate-inspect certs DIR`: a throwaway CA plus vendor and hospital certificates and keys
/// (PEM), so that the demo and the tests need no manual OpenSSL step. Never for production.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Create a throwaway CA and vendor and hospital TLS certificates with their keys (PEM).",
        discussion: """
            Writes ca.crt, vendor.crt, vendor.key, hospital.crt and hospital.key into DIRECTORY \
            (created if missing): EC P-256 keys, X.509 v3, the vendor's certificate for TLS servers, \
            the hospital's for TLS clients, both valid for localhost and 127.0.0.1. Private keys are \
            written with mode 0600. Give the vendor ca.crt, vendor.crt and vendor.key, and the \
            hospital ca.crt, hospital.crt and hospital.key. For demos and tests only: a real \
            deployment uses certificates from the parties' own PKI.
            """)

    @Argument(help: "The directory to write the five PEM files into (created if missing).")
    var directory: String

    @Flag(help: "Overwrite existing files instead of refusing.")
    var force = false

    @Option(help: "How many days the certificates stay valid (1…3650).")
    var days = 30

    func validate() throws {
        guard (1...3650).contains(days) else {
            throw ValidationError("--days must be between 1 and 3650, not \(days).")
        }
    }

    func run() throws {
        let files = try CertificateAuthority.writeTestCertificates(to: directory, days: days, overwrite: force)
        print("Wrote a throwaway CA and certificates valid for \(days) day\(days == 1 ? "" : "s"):")
        for path in files.all { print("  \(path)") }
        print("Vendor: ca.crt, vendor.crt, vendor.key. Hospital: ca.crt, hospital.crt, hospital.key.")
    }
}
